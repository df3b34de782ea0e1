package analyzer

import (
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/tracetriage/tracetriage/analyzer/trace"
)

// Stage names of the document.
const (
	StageExtend = trace.StageExtend
	StageDecode = trace.StageDecode
	StageAll    = trace.StageAll
)

// StageLabel is how the Triage View titles a stage.
func StageLabel(stage string) string {
	if stage == StageExtend {
		return "extend/prefill"
	}
	return stage
}

var (
	reContext    = regexp.MustCompile(`(?:^|_)context_(\d+)`)
	reGeneration = regexp.MustCompile(`(?:^|_|\))generation_(\d+)`)
	reStep       = regexp.MustCompile(`(?i)step\[\s*([a-z_]+)`)
	// TensorRT-LLM names the prefill phase "context" and decode "generation".
	reTRTPhase = regexp.MustCompile(`(?:^|[^a-z])(context|ctx|generation|gen)[_ ]?(step|phase)`)
)

// AnnotationStage infers the serving stage of a record_function annotation
// name, or "" when it names none:
//
//   - vLLM / SGLang step annotations execute_[<tokens>_]context_<c>(…)_generation_<g>(…):
//     context requests only → extend; generation requests only → decode;
//     both (a mixed chunked-prefill batch) → extend, the way SGLang runs
//     such batches (decode requests ride along as one-token extends);
//   - SGLang step[EXTEND …], step[PREFILL …], step[MIXED …] → extend;
//     step[DECODE …] → decode;
//   - TensorRT-LLM phases: context_step / ctx_phase → extend,
//     generation_step / gen_phase → decode;
//   - otherwise the reference's words: "decode" → decode, "prefill" → extend.
//
// The reference recognised only the substrings generation_0 / generation_1,
// so execute_32_context_0(…)_generation_32(…) had no stage
// (docs/differences.md).
func AnnotationStage(name string) string {
	lower := strings.ToLower(name)
	if c, g := reContext.FindStringSubmatch(lower), reGeneration.FindStringSubmatch(lower); c != nil && g != nil {
		nc, err1 := strconv.ParseUint(c[1], 10, 64)
		ng, err2 := strconv.ParseUint(g[1], 10, 64)
		if err1 == nil && err2 == nil {
			switch {
			case nc > 0:
				return StageExtend
			case ng > 0:
				return StageDecode
			}
			return ""
		}
	}
	if m := reStep.FindStringSubmatch(lower); m != nil {
		switch m[1] {
		case "extend", "prefill", "mixed":
			return StageExtend
		case "decode":
			return StageDecode
		}
	}
	if m := reTRTPhase.FindStringSubmatch(lower); m != nil {
		if m[1] == "context" || m[1] == "ctx" {
			return StageExtend
		}
		return StageDecode
	}
	switch {
	case strings.Contains(lower, "decode"):
		return StageDecode
	case strings.Contains(lower, "prefill"):
		return StageExtend
	}
	return ""
}

// stageWindow is a merged run of same-stage annotations.
type stageWindow struct {
	stage      string
	start, end int64
}

// stageIndex attributes kernels to stages from a trace's annotations
// (triage-behaviour.md §6.2, with launch-time attribution).
type stageIndex struct {
	byExternalID map[int64]stageAnn
	// extLo and extHi bound the External ids of byExternalID, so that
	// most kernels (whose External id is no annotation's) are answered
	// without the map; extSeen, when the ids are dense, marks those in
	// the map by offset from extLo.
	extLo, extHi int64
	extSeen      []bool
	gpu, cpu     windowSet
}

type stageAnn struct {
	stage string
	gpu   bool
	dur   int64
}

// Tolerances of the reference, in nanoseconds: 0.001 µs.
const (
	probeOffsetNS   = 1
	nearestWindowNS = 20_000_000 // 20 ms
)

func newStageIndex(t *trace.Trace) *stageIndex {
	idx := &stageIndex{byExternalID: map[int64]stageAnn{}}
	stageOf := map[trace.Str]string{}
	var gpu, cpu []stageWindow
	for i := range t.Annotations {
		a := &t.Annotations[i]
		st, ok := stageOf[a.Name]
		if !ok {
			st = AnnotationStage(t.S(a.Name))
			stageOf[a.Name] = st
		}
		if st == "" {
			continue
		}
		if a.ExternalID != trace.NoID {
			cur, seen := idx.byExternalID[a.ExternalID]
			if !seen || (a.GPU && !cur.gpu) || (a.GPU == cur.gpu && a.Dur > cur.dur) {
				idx.byExternalID[a.ExternalID] = stageAnn{st, a.GPU, a.Dur}
			}
		}
		w := stageWindow{st, a.TS, a.TS + a.Dur}
		if a.GPU {
			gpu = append(gpu, w)
		} else {
			cpu = append(cpu, w)
		}
	}
	idx.gpu, idx.cpu = newWindowSet(mergeWindows(gpu)), newWindowSet(mergeWindows(cpu))
	first := true
	for ext := range idx.byExternalID {
		if first || ext < idx.extLo {
			idx.extLo = ext
		}
		if first || ext > idx.extHi {
			idx.extHi = ext
		}
		first = false
	}
	if n := len(idx.byExternalID); n > 0 && idx.extHi-idx.extLo < int64(64*n+4096) {
		idx.extSeen = make([]bool, idx.extHi-idx.extLo+1)
		for ext := range idx.byExternalID {
			idx.extSeen[ext-idx.extLo] = true
		}
	}
	return idx
}

// annotation returns the annotation of an External id, if any.
func (s *stageIndex) annotation(ext int64) (stageAnn, bool) {
	if len(s.byExternalID) == 0 || ext < s.extLo || ext > s.extHi {
		return stageAnn{}, false
	}
	if s.extSeen != nil && !s.extSeen[ext-s.extLo] {
		return stageAnn{}, false
	}
	a, ok := s.byExternalID[ext]
	return a, ok
}

func (s *stageIndex) empty() bool {
	return len(s.byExternalID) == 0 && len(s.gpu.ws) == 0 && len(s.cpu.ws) == 0
}

func mergeWindows(ws []stageWindow) []stageWindow {
	sort.SliceStable(ws, func(i, j int) bool {
		if ws[i].start != ws[j].start {
			return ws[i].start < ws[j].start
		}
		return ws[i].end < ws[j].end
	})
	var out []stageWindow
	for _, w := range ws {
		if n := len(out); n > 0 && out[n-1].stage == w.stage && w.start <= out[n-1].end+probeOffsetNS {
			if w.end > out[n-1].end {
				out[n-1].end = w.end
			}
			continue
		}
		out = append(out, w)
	}
	return out
}

// windowSet answers "which window holds t" and "which window is nearest
// to t" in O(log n).
type windowSet struct {
	ws     []stageWindow // sorted by start
	starts []int64       // starts[i] = ws[i].start
	maxEnd []int64       // maxEnd[i] = max end of ws[:i+1]
	byEnd  []stageWindow // sorted by end
}

func newWindowSet(ws []stageWindow) windowSet {
	s := windowSet{ws: ws, starts: make([]int64, len(ws)), maxEnd: make([]int64, len(ws))}
	for i, w := range ws {
		s.starts[i] = w.start
		s.maxEnd[i] = w.end
		if i > 0 && s.maxEnd[i-1] > w.end {
			s.maxEnd[i] = s.maxEnd[i-1]
		}
	}
	s.byEnd = append([]stageWindow(nil), ws...)
	sort.SliceStable(s.byEnd, func(i, j int) bool { return s.byEnd[i].end < s.byEnd[j].end })
	return s
}

// windowCursor remembers where a goroutine's latest containing search of
// one windowSet ended: kernels come mostly in time order, so the next
// search starts there.
type windowCursor struct{ n, j int }

// containing returns the stage of the first window (in start order) with
// start <= t <= end + 0.001 µs, or "".
func (s windowSet) containing(t int64) string {
	return s.containingAt(t, &windowCursor{})
}

// containingAt is containing, searching from (and updating) c.
func (s windowSet) containingAt(t int64, c *windowCursor) string {
	// n: the first window starting after t; j: the first before it whose
	// running maximum end reaches t.
	n := firstAbove(s.starts, len(s.starts), t, c.n)
	j := firstAbove(s.maxEnd, n, t-probeOffsetNS-1, c.j)
	c.n, c.j = n, j
	if j < n {
		return s.ws[j].stage
	}
	return ""
}

// firstAbove returns the first index i in [0, n) with a[i] > y (a is
// non-decreasing), n when none. The search gallops from hint.
func firstAbove(a []int64, n int, y int64, hint int) int {
	lo, hi := 0, n
	if hint > 0 && hint < n {
		if a[hint-1] <= y {
			lo = hint
			for step := 1; lo+step <= hi; step *= 2 {
				if a[lo+step-1] > y {
					hi = lo + step - 1
					break
				}
				lo += step
			}
		} else {
			hi = hint - 1
			for step := 1; hi-step >= lo; step *= 2 {
				if a[hi-step] <= y {
					lo = hi - step + 1
					break
				}
				hi -= step
			}
		}
	}
	for lo < hi {
		if m := int(uint(lo+hi) >> 1); a[m] > y {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return lo
}

// nearest returns the window whose start or end is closest to t, and that
// distance (-1 when there are no windows).
func (s windowSet) nearest(t int64) (string, int64) {
	best, gap := "", int64(-1)
	try := func(w stageWindow, edge int64) {
		if g := abs64(t - edge); gap < 0 || g < gap {
			best, gap = w.stage, g
		}
	}
	i := sort.Search(len(s.ws), func(i int) bool { return s.ws[i].start >= t })
	for _, k := range []int{i - 1, i} {
		if k >= 0 && k < len(s.ws) {
			try(s.ws[k], s.ws[k].start)
		}
	}
	i = sort.Search(len(s.byEnd), func(i int) bool { return s.byEnd[i].end >= t })
	for _, k := range []int{i - 1, i} {
		if k >= 0 && k < len(s.byEnd) {
			try(s.byEnd[k], s.byEnd[k].end)
		}
	}
	return best, gap
}

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// stageCursor holds a goroutine's windowCursors of a stageIndex.
type stageCursor struct{ gpu, cpu windowCursor }

// stageOf decides a kernel's stage: the annotation sharing its External
// id; else the GPU annotation window it ran in; else the CPU annotation
// window in which it was launched (launchTS, when its launch event is
// known; its own start otherwise); else the nearest window within 20 ms;
// else all.
//
// The reference tested the kernel's GPU start against CPU windows, so a
// kernel queued behind a long prefill fell outside the step that launched
// it (docs/differences.md).
//
// cur holds a goroutine's search positions (see windowCursor).
func (s *stageIndex) stageOf(k *trace.Kernel, externalID, launchTS int64, cur *stageCursor) string {
	if externalID != trace.NoID {
		if a, ok := s.annotation(externalID); ok {
			return a.stage
		}
	}
	probe := k.TS + probeOffsetNS
	if st := s.gpu.containingAt(probe, &cur.gpu); st != "" {
		return st
	}
	cpuProbe := probe
	if launchTS != trace.NoID {
		cpuProbe = launchTS + probeOffsetNS
	}
	if st := s.cpu.containingAt(cpuProbe, &cur.cpu); st != "" {
		return st
	}
	st, gap := s.gpu.nearest(probe)
	if st2, gap2 := s.cpu.nearest(cpuProbe); gap2 >= 0 && (gap < 0 || gap2 < gap) {
		st, gap = st2, gap2
	}
	if gap >= 0 && gap <= nearestWindowNS {
		return st
	}
	return StageAll
}

package analyzer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/tracetriage/tracetriage/analyzer/fuse"
	"github.com/tracetriage/tracetriage/analyzer/overlap"
	"github.com/tracetriage/tracetriage/analyzer/trace"
)

// Version is the engine version written into every document.
const Version = "0.1.0"

// Analyses this build computes. The Triage View says plainly when a table
// is empty because its analysis is not part of the build.
const (
	OverlapAnalysis = true
	FuseAnalysis    = true
)

// Modes of an analysis.
const (
	ModeSingle = "single-trace"
	ModeTwo    = "mapping-formal"
)

// Options selects what Analyze reads and how.
type Options struct {
	// Input is a trace file or profile directory (single-trace mode).
	Input string
	// MappingInput and FormalInput select two-trace mode: the mapping trace
	// (graphs off, readable launch stacks) supplies Python locations for the
	// formal trace (real serving configuration), which supplies the timings.
	MappingInput, FormalInput string
	// Framework is "auto" (or ""), "sglang", "vllm" or "trtllm" (aliases
	// of CanonicalFramework accepted).
	Framework string
	// FuseCatalog is an optional YAML file of fusion patterns that extends
	// or overrides the embedded catalogue.
	FuseCatalog string
	// OverlapTableLimit keeps at most this many overlap rows per stage
	// (0 keeps them all).
	OverlapTableLimit int
	// Timeline asks for the ASCII timeline around each stage's top overlap
	// row (Stage.Timeline).
	Timeline bool
	// Progress, when set, is called now and then while traces load with the
	// bytes read so far and the total (0 when unknown).
	Progress func(done, total int64)
	// PIDSubstring, when set, restricts the overlap analysis of each formal
	// trace to the busiest GPU process whose id contains it; the kernel
	// table keeps its own process choice (triage-behaviour.md §1.1, §5).
	PIDSubstring string
}

// Sentinel errors of Analyze; front-ends map them to their own error
// kinds (usage errors, tool errors).
var (
	// ErrNotImplemented is returned by engine parts that are not built yet
	// (none at present; front-ends may still map it).
	ErrNotImplemented = errors.New("not available in this build yet")
	// ErrBadOptions: the Options name no input, or mix the two modes.
	ErrBadOptions = errors.New("invalid options")
)

// minAllSharePct: an "all" bucket of a file whose name has no stage is
// left out when it holds less than this share of the file's kernel time
// (triage-behaviour.md §6.3).
const minAllSharePct = 1.0

// Analyze loads the traces that opts name and returns the analysis document.
// It stops early with ctx.Err() when ctx is cancelled.
func Analyze(ctx context.Context, opts Options) (*Document, error) {
	fw, err := CanonicalFramework(opts.Framework)
	if err != nil {
		return nil, err
	}
	two := opts.MappingInput != "" || opts.FormalInput != ""
	switch {
	case opts.Input != "" && two:
		return nil, fmt.Errorf("%w: use either a single input or a mapping and a formal input, not both", ErrBadOptions)
	case two && (opts.MappingInput == "" || opts.FormalInput == ""):
		return nil, fmt.Errorf("%w: two-trace mode needs both a mapping input and a formal input", ErrBadOptions)
	case !two && opts.Input == "":
		return nil, fmt.Errorf("%w: no input trace given", ErrBadOptions)
	}
	catalog, err := fuse.DefaultWith(opts.FuseCatalog)
	if err != nil {
		return nil, err
	}

	doc := &Document{
		SchemaVersion: SchemaVersion,
		Tool:          Tool{Name: "tracetriage", Version: Version},
		Mode:          ModeSingle,
		Inputs:        Inputs{Formal: []string{}, Mapping: []string{}},
		Stages:        []Stage{},
		Warnings:      []string{},
	}
	formalIn := opts.Input
	if two {
		doc.Mode = ModeTwo
		formalIn = opts.FormalInput
	}
	evidence := frameworkEvidence{}
	formal, formalArgs, err := loadInput(ctx, formalIn, opts, evidence, &doc.Warnings)
	if err != nil {
		return nil, err
	}
	var mapping []loaded
	var mappingArgs *trace.ServerArgs
	if two {
		if mapping, mappingArgs, err = loadInput(ctx, opts.MappingInput, opts, evidence, &doc.Warnings); err != nil {
			return nil, err
		}
	}
	args := formalArgs
	if args == nil {
		args = mappingArgs
	}
	if args != nil {
		doc.Model = args.Model
	}
	for _, l := range formal {
		doc.Inputs.Formal = append(doc.Inputs.Formal, l.target.Path)
	}
	for _, l := range mapping {
		doc.Inputs.Mapping = append(doc.Inputs.Mapping, l.target.Path)
	}
	if fw == FrameworkAuto {
		fw = evidence.decide()
	}
	doc.Framework = fw

	tp := 1
	if args != nil && args.TPSize > 0 {
		tp = args.TPSize
	} else {
		for _, l := range formal {
			tp = max(tp, l.t.Meta.WorldSize)
		}
	}
	// Peak memory: the loader leaves garbage of the size of the traces
	// behind, and the collector's next cycle would only come once the heap
	// doubled; collecting now lets the indices reuse that memory. The
	// traces are not used past buildStages; collecting again there lets the
	// overlap analysis reuse theirs.
	var loadedBytes int64
	for _, ls := range [][]loaded{formal, mapping} {
		for _, l := range ls {
			loadedBytes += l.t.Bytes
		}
	}
	collect(loadedBytes)
	kernels, err := buildStages(ctx, doc, formal, mapping, opts.PIDSubstring)
	formal, mapping = nil, nil
	if err != nil {
		return nil, err
	}
	collect(loadedBytes)
	addOpportunities(doc, kernels, catalog, fuse.Context{Framework: doc.Framework, Model: doc.Model, TPSize: tp},
		overlap.Options{Limit: opts.OverlapTableLimit}, opts.Timeline)
	return doc, nil
}

// collectAboveBytes: Analyze collects the heap at points where much has
// just become garbage (see collect) only for traces of at least this much
// JSON; below it the heap is small and the collector's own pacing is fine.
const collectAboveBytes = 64 << 20

// collect runs a garbage collection when the traces being analysed hold
// at least collectAboveBytes of JSON, so that memory just freed is reused
// before the heap grows. A cycle costs little here: the traces' slices hold
// no pointers.
func collect(traceBytes int64) {
	if traceBytes >= collectAboveBytes {
		runtime.GC()
	}
}

// buildStages computes the stages and warnings of doc from loaded traces,
// and returns each stage's kernels for the overlap analysis.
// pidSubstring restricts the overlap kernels to a process (see
// Options.PIDSubstring).
func buildStages(ctx context.Context, doc *Document, formal, mapping []loaded, pidSubstring string) ([][]overlap.Kernel, error) {
	a := &analysis{locs: map[string]*frameInfo{}, stages: map[string]*stageAgg{}, pidSubstring: pidSubstring}
	if len(mapping) > 0 {
		a.mapping = &kernelMap{stages: map[string]*stageAgg{}, global: newStageAgg(StageAll)}
		for _, l := range mapping {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			a.addMappingTrace(l)
		}
	}
	for _, l := range formal {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		a.addFormalTrace(l)
	}
	names := make([]string, 0, len(a.stages))
	for st := range a.stages {
		names = append(names, st)
	}
	sort.Slice(names, func(i, j int) bool {
		if trace.StageOrder(names[i]) != trace.StageOrder(names[j]) {
			return trace.StageOrder(names[i]) < trace.StageOrder(names[j])
		}
		return names[i] < names[j]
	})
	var kernels [][]overlap.Kernel
	for _, st := range names {
		agg := a.stages[st]
		if len(agg.order) == 0 {
			continue
		}
		stage := agg.toStage(a.locs)
		if a.mapping != nil {
			a.applyMapping(st, agg, &stage)
		} else if a.capture != nil {
			a.attributeOwnReplays(st, &stage)
		}
		doc.Stages = append(doc.Stages, stage)
		kernels = append(kernels, agg.overlapKernels(&stage))
	}
	doc.Warnings = append(doc.Warnings, a.warnings...)
	doc.Warnings = append(doc.Warnings, a.graphWarnings(doc)...)
	return kernels, nil
}

// loaded is one trace file with the target that named it.
type loaded struct {
	target trace.Target
	t      *trace.Trace
	// owned: the analysis may drop parts of t it no longer needs (t.Frames
	// once the frame index is built), to lower peak memory.
	owned bool
}

// loadInput discovers and loads the trace files of one input (file or
// profile directory) and its server arguments, and adds their framework
// evidence.
func loadInput(ctx context.Context, input string, opts Options, ev frameworkEvidence, warnings *[]string) ([]loaded, *trace.ServerArgs, error) {
	targets, err := trace.Discover(input)
	if err != nil {
		return nil, nil, err
	}
	var args *trace.ServerArgs
	if targets.ServerArgs != "" {
		if args, err = trace.LoadServerArgs(targets.ServerArgs); err != nil {
			return nil, nil, err
		}
		ev.addServerArgs(args)
	}
	ev.addPath(input)
	if w := otherRanks(input, targets); w != "" {
		*warnings = append(*warnings, w)
	}
	var out []loaded
	for _, tg := range targets.Files {
		t, err := trace.Load(ctx, tg.Path, trace.Options{Progress: opts.Progress})
		if err != nil {
			return nil, nil, err
		}
		ev.addPath(filepath.Base(tg.Path))
		ev.addTrace(t)
		out = append(out, loaded{target: tg, t: t, owned: true})
	}
	return out, args, nil
}

// otherRanks says which tensor-parallel ranks of a profile directory were
// left out (only one rank is analysed), or "".
func otherRanks(input string, targets *trace.Targets) string {
	if st, err := os.Stat(input); err != nil || !st.IsDir() || len(targets.Files) == 0 {
		return ""
	}
	chosen := targets.Files[0].Rank
	entries, err := os.ReadDir(targets.Dir)
	if err != nil {
		return ""
	}
	seen := map[int]bool{}
	var ranks []int
	for _, e := range entries {
		if e.IsDir() || !trace.NameLooksLikeTrace(e.Name()) {
			continue
		}
		if r := trace.ParseTPRank(e.Name()); r >= 0 && r != chosen && !seen[r] {
			seen[r] = true
			ranks = append(ranks, r)
		}
	}
	if len(ranks) == 0 {
		return ""
	}
	sort.Ints(ranks)
	list := make([]string, len(ranks))
	for i, r := range ranks {
		list[i] = strconv.Itoa(r)
	}
	return fmt.Sprintf("%s also holds traces of TP rank %s; the tables cover rank %d only.",
		targets.Dir, strings.Join(list, ", "), chosen)
}

// analysis accumulates the stages of every formal trace.
type analysis struct {
	locs    map[string]*frameInfo
	stages  map[string]*stageAgg
	mapping *kernelMap
	// capture holds the graph-capture launches of the formal traces
	// (single-trace mode), for their own graph replays.
	capture  *kernelMap
	warnings []string
	graph    []graphReplay
	// pidSubstring: see Options.PIDSubstring.
	pidSubstring string
}

// graphReplay remembers the graph-replayed kernels of one trace.
type graphReplay struct {
	trace    string
	launchAt string // Python location of the graph launch call
	kernels  int
	ns       int64
	rows     map[string]bool // stage + "\x00" + kernel name
}

func (a *analysis) stage(name string) *stageAgg {
	s := a.stages[name]
	if s == nil {
		s = newStageAgg(name)
		a.stages[name] = s
	}
	return s
}

// kernelNames caches the canonical name and category of each interned
// kernel name.
type kernelNames struct {
	canon, cat map[trace.Str]string
}

func (kn *kernelNames) get(t *trace.Trace, id trace.Str) (string, string) {
	if c, ok := kn.canon[id]; ok {
		return c, kn.cat[id]
	}
	raw := t.S(id)
	c, cat := CanonicalKernelName(raw), Categorize(raw)
	kn.canon[id], kn.cat[id] = c, cat
	return c, cat
}

// pickProcess returns the GPU process whose kernels are analysed
// (triage-behaviour.md §5): the busiest of those whose id names TP rank 0,
// else the busiest overall, with its share of all kernel time.
func pickProcess(t *trace.Trace) (trace.Str, int, float64) {
	best, n, share, _ := pickProcessBy(t, func(name string) bool {
		return strings.Contains(name, "TP00") || strings.Contains(name, "TP-0")
	})
	return best, n, share
}

// pickProcessBy returns the busiest GPU process whose id satisfies prefer
// (else the busiest overall), the number of processes, the chosen one's
// share of kernel time, and whether any process satisfied prefer.
func pickProcessBy(t *trace.Trace, prefer func(string) bool) (trace.Str, int, float64, bool) {
	sums := map[trace.Str]int64{}
	var total int64
	for i := range t.Kernels {
		sums[t.Kernels[i].PID] += t.Kernels[i].Dur
		total += t.Kernels[i].Dur
	}
	pids := make([]trace.Str, 0, len(sums))
	for p := range sums {
		pids = append(pids, p)
	}
	sort.Slice(pids, func(i, j int) bool { return t.S(pids[i]) < t.S(pids[j]) })
	best, found, matched := trace.Str(0), false, false
	for _, preferOnly := range []bool{true, false} {
		for _, p := range pids {
			if preferOnly && !prefer(t.S(p)) {
				continue
			}
			if !found || sums[p] > sums[best] {
				best, found = p, true
			}
		}
		if found {
			matched = preferOnly
			break
		}
	}
	return best, len(pids), pct(sums[best], total), matched
}

// processNames lists the GPU process ids of t's kernels, sorted.
func processNames(t *trace.Trace) []string {
	seen := map[trace.Str]bool{}
	var out []string
	for i := range t.Kernels {
		if p := t.Kernels[i].PID; !seen[p] {
			seen[p] = true
			out = append(out, t.S(p))
		}
	}
	sort.Strings(out)
	return out
}

// prepared holds what the formal and mapping passes share for one trace.
type prepared struct {
	pid      trace.Str
	npids    int
	pidShare float64
	// stageIDs holds per kernel index its stage as an index into stages,
	// whose first entry is "" (kernels of other processes, left out).
	stageIDs []int32
	// overlapPID is the process of the overlap analysis; when it differs
	// from pid, overlapIDs holds its kernels' stages like stageIDs.
	overlapPID trace.Str
	overlapIDs []int32
	stages     []string
	launchOf   []int32 // per kernel index: its launch event; -1 none; -2 not looked up
	res        *resolver
	// sites resolves sites on the analysis's own goroutine.
	sites *siteFinder
}

// stageAt returns kernel i's stage ("" when left out).
func (p *prepared) stageAt(i int) string { return p.stages[p.stageIDs[i]] }

// setStage sets kernel i's stage (a handful of distinct names) in ids
// (stageIDs or overlapIDs).
func (p *prepared) setStage(ids []int32, i int, name string) {
	for id, s := range p.stages {
		if s == name {
			ids[i] = int32(id)
			return
		}
	}
	ids[i] = int32(len(p.stages))
	p.stages = append(p.stages, name)
}

// launch returns kernel i's launch event, looking it up once.
func (p *prepared) launch(t *trace.Trace, i int) *trace.Launch {
	j := p.launchOf[i]
	if j == -2 {
		j = p.res.launchIndex(&t.Kernels[i])
		p.launchOf[i] = j
	}
	if j < 0 {
		return nil
	}
	return &t.Launches[j]
}

func (a *analysis) prepare(l loaded) *prepared {
	t := l.t
	p := &prepared{res: newResolver(t, l.owned), stageIDs: make([]int32, len(t.Kernels)), stages: []string{""}, launchOf: make([]int32, len(t.Kernels))}
	p.sites = newSiteFinder(p.res)
	for i := range p.launchOf {
		p.launchOf[i] = -2
	}
	if len(t.Kernels) == 0 {
		return p
	}
	p.pid, p.npids, p.pidShare = pickProcess(t)
	p.overlapPID = p.pid
	if sub := a.pidSubstring; sub != "" {
		var matched bool
		p.overlapPID, _, _, matched = pickProcessBy(t, func(name string) bool { return strings.Contains(name, sub) })
		if !matched {
			a.warnings = append(a.warnings, fmt.Sprintf(
				"%s: no GPU process id contains %q (processes: %s); the overlap analysis covers process %s.",
				filepath.Base(t.Path), sub, strings.Join(processNames(t), ", "), t.S(p.overlapPID)))
		}
		if p.overlapPID != p.pid {
			p.overlapIDs = make([]int32, len(t.Kernels))
		}
	}
	var si *stageIndex
	if l.target.Stage == StageAll {
		si = newStageIndex(t)
	}
	for i := range t.Kernels {
		k := &t.Kernels[i]
		ids := p.stageIDs
		switch {
		case k.PID == p.pid:
		case p.overlapIDs != nil && k.PID == p.overlapPID:
			ids = p.overlapIDs
		default:
			continue
		}
		switch {
		case l.target.Stage != StageAll:
			p.setStage(ids, i, l.target.Stage)
		case si.empty():
			p.setStage(ids, i, StageAll)
		default:
			launchTS := trace.NoID
			if ln := p.launch(t, i); ln != nil {
				launchTS = ln.TS
			}
			p.setStage(ids, i, si.stageOf(k, p.res.externalID(k), launchTS))
		}
	}
	// A file without a stage in its name: drop an "all" bucket under 1 %.
	if l.target.Stage == StageAll {
		var total, all int64
		n := 0
		for i := range t.Kernels {
			if p.stageIDs[i] == 0 {
				continue
			}
			total += t.Kernels[i].Dur
			if p.stageAt(i) == StageAll {
				all += t.Kernels[i].Dur
				n++
			}
		}
		if all > 0 && all < total && pct(all, total) < minAllSharePct {
			for i := range p.stageIDs {
				if p.stageAt(i) == StageAll {
					p.stageIDs[i] = 0
				}
				if p.overlapIDs != nil && p.stages[p.overlapIDs[i]] == StageAll {
					p.overlapIDs[i] = 0
				}
			}
			a.warnings = append(a.warnings, fmt.Sprintf(
				"%s: %s (%.2f%% of GPU time) ran outside every extend/decode window and are left out.",
				filepath.Base(t.Path), plural(n, "kernel", "kernels"), pct(all, total)))
		}
	}
	return p
}

// addFormalTrace adds the kernels of one formal trace to the stages.
func (a *analysis) addFormalTrace(l loaded) {
	t := l.t
	name := filepath.Base(t.Path)
	if t.Malformed > 0 {
		a.warnings = append(a.warnings, fmt.Sprintf("%s: %s skipped as malformed (no numeric ts or dur).", name, plural(t.Malformed, "event was", "events were")))
	}
	if len(t.Kernels) == 0 {
		a.warnings = append(a.warnings, fmt.Sprintf(
			"%s has no GPU kernels (a CPU-only capture?): record with ProfilerActivity.CUDA to triage GPU time.", name))
		return
	}
	hasFrames := len(t.Frames) > 0
	if !hasFrames {
		a.warnings = append(a.warnings, fmt.Sprintf(
			"%s has no Python stacks: kernels cannot be mapped to Python lines; capture with with_stack=True.", name))
	}
	p := a.prepare(l)
	if p.npids > 1 {
		a.warnings = append(a.warnings, fmt.Sprintf(
			"%s: kernels of %d GPU processes found; the tables cover process %s only (%.1f%% of kernel time).",
			name, p.npids, t.S(p.pid), p.pidShare))
	}
	if p.overlapIDs != nil {
		a.warnings = append(a.warnings, fmt.Sprintf(
			"%s: the overlap analysis covers process %s (--pid-substring %q); the kernel table covers process %s.",
			name, t.S(p.overlapPID), a.pidSubstring, t.S(p.pid)))
	}
	kn := kernelNames{canon: map[trace.Str]string{}, cat: map[trace.Str]string{}}
	var gr *graphReplay
	var totalNS, noRecordNS, noFrameNS int64
	var noRecord, noFrame int
	perStage := map[string]int{}
	for i := range p.stageIDs {
		if st := p.stageAt(i); st != "" {
			perStage[st]++
		}
	}
	for st, n := range perStage {
		agg := a.stage(st)
		agg.kernels = slices.Grow(agg.kernels, n)
	}
	lastStage, lastAgg := "", (*stageAgg)(nil)
	for i := range t.Kernels {
		st := p.stageAt(i)
		if st == "" {
			continue
		}
		k := &t.Kernels[i]
		canon, cat := kn.get(t, k.Name)
		if st != lastStage {
			lastStage, lastAgg = st, a.stage(st)
		}
		row := lastAgg.add(canon, cat, k.TS, k.Dur)
		ln := p.launch(t, i)
		res := p.sites.resolve(k, p.res.externalID(k), ln)
		row.addSite(res, k.Dur)
		if p.overlapIDs == nil {
			lastAgg.addInterval(t, k, canon, res)
		}
		totalNS += k.Dur
		if res.location == "" {
			if res.cpuOp == "" {
				noRecord++
				noRecordNS += k.Dur
			} else {
				noFrame++
				noFrameNS += k.Dur
			}
		}
		if res.location == GraphReplaySite {
			if gr == nil {
				gr = &graphReplay{trace: name, rows: map[string]bool{}}
				if ln != nil {
					p.sites.active(ln.PID, ln.TID, probeAt(ln.TS, ln.Dur))
					if len(p.sites.buf) > 0 {
						gr.launchAt = p.sites.fromFrames("", "").location
					}
				}
			}
			gr.kernels++
			gr.ns += k.Dur
			gr.rows[st+"\x00"+canon] = true
		}
	}
	if p.overlapIDs != nil {
		a.addOverlapProcess(t, p, &kn)
	}
	if hasFrames && pct(noRecordNS+noFrameNS, totalNS) >= 1 {
		a.warnings = append(a.warnings, fmt.Sprintf(
			"%s: %.1f%% of GPU time could not be tied to a Python line: %s no launch or CPU-op record in the trace (the profiler may have dropped runtime events), %s launched with no Python frame active.",
			name, pct(noRecordNS+noFrameNS, totalNS), plural(noRecord, "kernel has", "kernels have"), plural(noFrame, "was", "were")))
	}
	if gr != nil {
		a.graph = append(a.graph, *gr)
		if a.mapping == nil {
			ran := map[int64]bool{}
			for i := range t.Kernels {
				ran[t.Kernels[i].Correlation] = true
			}
			if a.capture == nil {
				a.capture = &kernelMap{stages: map[string]*stageAgg{}, global: newStageAgg(StageAll)}
			}
			addCaptureLaunches(a.capture, l, p, &kn, ran)
		}
	}
	a.remember(p.sites)
}

// addOverlapProcess adds the kernels of the overlap process of
// --pid-substring (when it is not the kernel table's process) to the
// stages' overlap kernels only.
func (a *analysis) addOverlapProcess(t *trace.Trace, p *prepared, kn *kernelNames) {
	for i := range t.Kernels {
		st := p.stages[p.overlapIDs[i]]
		if st == "" {
			continue
		}
		k := &t.Kernels[i]
		canon, _ := kn.get(t, k.Name)
		res := p.sites.resolve(k, p.res.externalID(k), p.launch(t, i))
		a.stage(st).addInterval(t, k, canon, res)
	}
}

// remember records the parsed form of every frame the site finder has
// parsed, so document sites can carry path, line and function.
func (a *analysis) remember(f *siteFinder) {
	for _, fi := range f.info {
		if _, ok := a.locs[fi.location]; !ok {
			a.locs[fi.location] = fi
		}
	}
}

// graphWarnings says how much GPU time was replayed from graphs and is
// left without a Python line.
func (a *analysis) graphWarnings(doc *Document) []string {
	var out []string
	for _, g := range a.graph {
		unattributed := 0
		var ns float64
		for _, st := range doc.Stages {
			for _, row := range st.Kernels {
				if !g.rows[st.Stage+"\x00"+row.Name] {
					continue
				}
				for _, s := range row.Sites {
					if s.Function == GraphReplaySite {
						unattributed += s.Launches
						ns += row.GPUTimeUS * s.SharePct / 100
					}
				}
			}
		}
		if unattributed == 0 {
			continue
		}
		at := ""
		if g.launchAt != "" {
			at = " launched at " + g.launchAt
		}
		out = append(out, fmt.Sprintf(
			"%s: %s replayed from CUDA/HIP graphs%s (%.2f ms of GPU time); their Python lines are not in this trace (shown as %q): pass a capture trace or an eager trace as --mapping-input to attribute them.",
			g.trace, plural(unattributed, "kernel was", "kernels were"), at, ns/1000, GraphReplaySite))
	}
	return out
}

// plural writes "1 kernel" or "2 kernels".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

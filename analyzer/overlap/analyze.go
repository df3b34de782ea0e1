package overlap

import (
	"cmp"
	"runtime"
	"slices"
	"sync"
)

// Kernel is one GPU activity (kernel, memcpy or memset) of a stage.
type Kernel struct {
	// Name is the canonical kernel name (triage-behaviour.md §5); it is
	// the family key of the overlap rows.
	Name string
	// Stream identifies the GPU stream (any label, compared as a string;
	// give the device too when a stage spans several devices).
	Stream string
	// Start and End are nanoseconds on the trace clock; End < Start is
	// treated as End == Start.
	Start, End int64
	// Scope is the Python scope that launched the kernel, formatted
	// "path:line func", or "" when unknown.
	Scope string
	// LaunchOp is the CPU op that launched the kernel (e.g.
	// "aten::mm", "sgl_kernel::silu_and_mul"), or "" when unknown.
	LaunchOp string
	// Launch is when the call that launched the kernel (cudaLaunchKernel,
	// cudaGraphLaunch, ...) began, in nanoseconds on the trace clock, or 0
	// when unknown (trace clocks are far from 0 where kernels run).
	Launch int64
}

// dur returns the kernel's duration in nanoseconds (never negative).
func (k Kernel) dur() int64 { return max(k.End-k.Start, 0) }

// Options tunes Analyze.
type Options struct {
	// Limit keeps at most this many rows (after the MinSharePct cut);
	// 0 keeps them all.
	Limit int
}

// Result is the overlap analysis of one stage.
type Result struct {
	// BusyUS is the union of all kernel intervals (time when at least one
	// kernel runs); shares are relative to it.
	BusyUS float64 `json:"busy_us"`
	// ConcurrentUS is the time when kernels on two or more streams run.
	ConcurrentUS float64 `json:"concurrent_us"`
	// MaxConcurrentStreams is the largest number of streams busy at once.
	MaxConcurrentStreams int `json:"max_concurrent_streams"`
	// Families aggregates every kernel family, by GPU time descending.
	Families []Family `json:"families"`
	// Rows are the Overlap Opportunity rows: headroom rows first, then
	// low-roi-hidden rows; never nil.
	Rows []Row `json:"rows"`
	// Breakdown is the temporal breakdown of the stage.
	Breakdown Breakdown `json:"breakdown"`
}

// Family aggregates the kernels of one canonical name.
type Family struct {
	Name     string `json:"name"`
	Category string `json:"category"`
	Launches int    `json:"launches"`
	// TotalUS is the sum of the kernels' durations.
	TotalUS float64 `json:"total_us"`
	// HiddenUS is the time a kernel of the family ran while a kernel on
	// another stream ran too; ExclusiveUS is the rest.
	HiddenUS    float64 `json:"hidden_us"`
	ExclusiveUS float64 `json:"exclusive_us"`
	// HiddenByComputeUS is the part of HiddenUS during which a compute
	// kernel ran on another stream.
	HiddenByComputeUS float64 `json:"hidden_by_compute_us"`
	// OverlappedWith is the kernel family that most often overlapped this
	// one (the dominant overlapper, by overlapped time); "" if none.
	OverlappedWith   string  `json:"overlapped_with,omitempty"`
	OverlappedWithUS float64 `json:"overlapped_with_us,omitempty"`
	// Scope is the most common Python scope of the family's kernels,
	// "unmapped" when none has one.
	Scope string `json:"scope"`
	// LaunchOp is the most common launch op, "n/a" when none has one.
	LaunchOp string `json:"launch_op"`
	// Representative is the index (into the kernels given to Analyze) of
	// the family's longest kernel (the first one on ties).
	Representative int `json:"representative"`

	overlapWith map[string]int64 // ns per dominant overlapper name
	hiddenNS    int64
	exclNS      int64
	hbcNS       int64
	totalNS     int64
}

// HiddenRatio is HiddenUS / TotalUS (0 when TotalUS is 0).
func (f *Family) HiddenRatio() float64 { return ratio(f.HiddenUS, f.TotalUS) }

// ExclusiveRatio is ExclusiveUS / TotalUS (0 when TotalUS is 0).
func (f *Family) ExclusiveRatio() float64 { return ratio(f.ExclusiveUS, f.TotalUS) }

func ratio(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return a / b
}

func us(ns int64) float64 { return float64(ns) / 1000 }

// Analyze runs the overlap analysis of one stage's kernels (spec §9.3-9.6):
// the sweep, the family aggregates, the overlap rows and the temporal
// breakdown. kernels is not modified; indexes in the result refer to it.
func Analyze(kernels []Kernel, opts Options) *Result {
	cats, copyEngine := classifyAll(kernels)
	// The breakdown needs of the sweep only its busy and concurrent times
	// (the same unions) and stream count: the rest of it is computed on
	// another core meanwhile, as it only reads kernels and categories.
	type parts struct {
		b    Breakdown
		span int64
	}
	done := make(chan parts, 1)
	go func() {
		b, span := breakdownParts(kernels, cats, copyEngine)
		done <- parts{b, span}
	}()
	sw := sweep(kernels, cats)
	res := &Result{
		BusyUS:               us(sw.busy),
		ConcurrentUS:         us(sw.concurrent),
		MaxConcurrentStreams: sw.maxStreams,
		Families:             aggregate(kernels, cats, sw),
	}
	res.Rows = selectRows(kernels, cats, sw.sid, res, opts)
	bp := <-done
	res.Breakdown = bp.b
	res.Breakdown.setBusy(sw.busy, sw.concurrent, sw.streams, bp.span)
	return res
}

// sweepResult holds the per-kernel split of the sweep, in nanoseconds.
type sweepResult struct {
	busy, concurrent int64
	maxStreams       int
	streams          int // distinct streams of all kernels
	hidden, excl     []int64
	hiddenByCompute  []int64
	// overlapWith maps (name id of a kernel, name id of its dominant
	// overlapper) to the time that overlapper dominated.
	overlapWith map[[2]int]int64
	nameIDs     []int32 // per kernel; ids index names
	names       []string
	sid         []int32 // per kernel: its stream id
}

// point is a sweep event: a kernel starting or ending (16 bytes: a stage
// holds fewer than 2^31 kernels).
type point struct {
	t     int64
	idx   int32
	start bool
}

// sweep walks the start and end points of the kernels in time order (ends
// before starts at equal times, so back-to-back kernels never overlap) and
// splits each non-empty interval between the active kernels: hidden when a
// kernel on another stream is active too, exclusive otherwise. Zero-length
// kernels take no part.
func sweep(kernels []Kernel, cats []string) sweepResult {
	return sweepIn(kernels, cats, min(runtime.GOMAXPROCS(0), 2*len(kernels)/minSweepChunk))
}

// sweepIn is sweep with its points cut into at most parts chunks.
func sweepIn(kernels []Kernel, cats []string, parts int) sweepResult {
	n := len(kernels)
	res := sweepResult{
		hidden:          make([]int64, n),
		excl:            make([]int64, n),
		hiddenByCompute: make([]int64, n),
		overlapWith:     map[[2]int]int64{},
		nameIDs:         make([]int32, n),
	}
	nameID := map[string]int{}
	streamID := map[string]int{}
	sid := make([]int32, n)
	res.sid = sid
	points := make([]point, 0, 2*n)
	// Consecutive kernels often share a stream or a name: the latest of
	// each is checked before the maps.
	lastStream, lastName := "", ""
	lastSID, lastNID := -1, -1
	// A few names alternate (a decode step's kernels): recent is a small
	// cache of name ids in front of nameID, cheaper than hashing names.
	var recent [64]struct {
		name string
		id   int
	}
	for j := range recent {
		recent[j].id = -1
	}
	for i := range kernels {
		k := &kernels[i]
		if lastSID < 0 || k.Stream != lastStream {
			id, ok := streamID[k.Stream]
			if !ok {
				id = len(streamID)
				streamID[k.Stream] = id
			}
			lastStream, lastSID = k.Stream, id
		}
		sid[i] = int32(lastSID)
		if lastNID < 0 || k.Name != lastName {
			slot := &recent[nameSlot(k.Name)]
			nid := slot.id
			if slot.id < 0 || slot.name != k.Name {
				var ok bool
				if nid, ok = nameID[k.Name]; !ok {
					nid = len(res.names)
					nameID[k.Name] = nid
					res.names = append(res.names, k.Name)
				}
				slot.name, slot.id = k.Name, nid
			}
			lastName, lastNID = k.Name, nid
		}
		res.nameIDs[i] = int32(lastNID)
		if k.dur() <= 0 {
			continue
		}
		points = append(points, point{k.Start, int32(i), true}, point{k.End, int32(i), false})
	}
	res.streams = len(streamID)
	slices.SortFunc(points, func(a, b point) int {
		if c := cmp.Compare(a.t, b.t); c != 0 {
			return c
		}
		if a.start != b.start {
			if a.start {
				return 1 // ends first
			}
			return -1
		}
		return cmp.Compare(a.idx, b.idx)
	})

	// The points are cut into chunks swept on GOMAXPROCS goroutines: a
	// chunk's worker first replays the points before it (bookkeeping
	// only) to know what is active where it starts. Every figure is a sum
	// (or a maximum) of per-segment integers, so the result does not
	// depend on the cut.
	parts = max(min(parts, len(points)), 1)
	chunks := make([]sweepChunk, parts)
	var wg sync.WaitGroup
	for c := range chunks {
		lo, hi := c*len(points)/parts, (c+1)*len(points)/parts
		if c == parts-1 {
			chunks[c].run(kernels, cats, points, lo, hi, &res)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			chunks[c].run(kernels, cats, points, lo, hi, &res)
		}()
	}
	wg.Wait()
	for c := range chunks {
		ch := &chunks[c]
		res.busy += ch.busy
		res.concurrent += ch.concurrent
		res.maxStreams = max(res.maxStreams, ch.maxStreams)
		for i, v := range ch.carried {
			res.hidden[i] += v[0]
			res.excl[i] += v[1]
			res.hiddenByCompute[i] += v[2]
		}
		for pair, t := range ch.overlapWith {
			res.overlapWith[pair] += t
		}
	}
	return res
}

// minSweepChunk is the fewest points a sweep goroutine is given.
const minSweepChunk = 1 << 14

// sweepChunk is what one goroutine sweeps of the points [lo, hi).
type sweepChunk struct {
	busy, concurrent int64
	maxStreams       int
	overlapWith      map[[2]int]int64
	// carried holds hidden, exclusive and hidden-by-compute time of the
	// kernels active where the chunk starts (begun in an earlier chunk,
	// whose goroutine writes theirs); the chunk writes its own kernels'
	// straight into the shared result.
	carried map[int]*[3]int64
}

// run sweeps points [lo, hi) of res's kernels (see sweep). It writes res's
// per-kernel figures only for kernels that start in [lo, hi), and reads
// res's stream and name ids.
func (ch *sweepChunk) run(kernels []Kernel, cats []string, points []point, lo, hi int, res *sweepResult) {
	sid := res.sid
	n := len(kernels)
	nStreams := res.streams
	ch.overlapWith = map[[2]int]int64{}
	active := []int{}       // kernel indexes
	pos := make([]int32, n) // position of a kernel in active
	// Active kernels (and active compute kernels) per stream id, with the
	// number of streams where that count is not zero.
	perStream := make([]int, nStreams)
	computePerStream := make([]int, nStreams)
	busyStreams, computeStreams := 0, 0
	var prev int64
	for pi := 0; pi < hi; pi++ {
		p := points[pi]
		if pi == lo && lo > 0 {
			// What is active here began in earlier chunks.
			ch.carried = make(map[int]*[3]int64, len(active))
			for _, i := range active {
				ch.carried[i] = new([3]int64)
			}
		}
		if pi >= lo && pi > 0 && p.t > prev && len(active) > 0 {
			seg := p.t - prev
			ch.busy += seg
			streams := busyStreams
			ch.maxStreams = max(ch.maxStreams, streams)
			if streams >= 2 {
				ch.concurrent += seg
				best, second := dominantPair(active, kernels, cats, sid)
				onlyComputeStream := -1
				if computeStreams == 1 {
					for s, c := range computePerStream {
						if c > 0 {
							onlyComputeStream = s
							break
						}
					}
				}
				for _, i := range active {
					byCompute := computeStreams >= 2 || (onlyComputeStream >= 0 && onlyComputeStream != int(sid[i]))
					if c := ch.carried[i]; c != nil {
						c[0] += seg
						if byCompute {
							c[2] += seg
						}
					} else {
						res.hidden[i] += seg
						if byCompute {
							res.hiddenByCompute[i] += seg
						}
					}
					dom := best
					if sid[best] == sid[i] {
						dom = second
					}
					if dom >= 0 {
						ch.overlapWith[[2]int{int(res.nameIDs[i]), int(res.nameIDs[dom])}] += seg
					}
				}
			} else {
				for _, i := range active {
					if c := ch.carried[i]; c != nil {
						c[1] += seg
					} else {
						res.excl[i] += seg
					}
				}
			}
		}
		prev = p.t
		i := int(p.idx)
		if p.start {
			pos[i] = int32(len(active))
			active = append(active, i)
			if perStream[sid[i]]++; perStream[sid[i]] == 1 {
				busyStreams++
			}
			if cats[i] == Compute {
				if computePerStream[sid[i]]++; computePerStream[sid[i]] == 1 {
					computeStreams++
				}
			}
			continue
		}
		last := active[len(active)-1]
		active[pos[i]] = last
		pos[last] = pos[i]
		active = active[:len(active)-1]
		if perStream[sid[i]]--; perStream[sid[i]] == 0 {
			busyStreams--
		}
		if cats[i] == Compute {
			if computePerStream[sid[i]]--; computePerStream[sid[i]] == 0 {
				computeStreams--
			}
		}
	}
}

// nameSlot picks the slot of a name in sweep's small cache from its
// length and two of its bytes.
func nameSlot(name string) int {
	n := len(name)
	if n == 0 {
		return 0
	}
	return (n + 7*int(name[n/2]) + 31*int(name[n-1])) & 63
}

// dominantPair returns the dominant active kernel (highest category
// priority, then longest, then smallest name and index) and the dominant one
// among the kernels on other streams than the first; -1 when none.
func dominantPair(active []int, kernels []Kernel, cats []string, sid []int32) (best, second int) {
	better := func(a, b int) bool { // is a more dominant than b
		if b < 0 {
			return true
		}
		if pa, pb := categoryPriority[cats[a]], categoryPriority[cats[b]]; pa != pb {
			return pa > pb
		}
		if da, db := kernels[a].dur(), kernels[b].dur(); da != db {
			return da > db
		}
		if kernels[a].Name != kernels[b].Name {
			return kernels[a].Name < kernels[b].Name
		}
		return a < b
	}
	best, second = -1, -1
	for _, i := range active {
		if better(i, best) {
			best = i
		}
	}
	for _, i := range active {
		if sid[i] != sid[best] && better(i, second) {
			second = i
		}
	}
	return best, second
}

// aggregate builds the kernel families, sorted by total time descending
// (then name).
func aggregate(kernels []Kernel, cats []string, sw sweepResult) []Family {
	famOf := make([]int, len(sw.names)) // by name id; -1 until seen
	for i := range famOf {
		famOf[i] = -1
	}
	fams := []Family{}
	var scopes, ops []tally // by family
	for i := range kernels {
		k := &kernels[i]
		fi := famOf[sw.nameIDs[i]]
		if fi < 0 {
			fi = len(fams)
			famOf[sw.nameIDs[i]] = fi
			fams = append(fams, Family{Name: k.Name, Category: cats[i], Representative: i})
			scopes = append(scopes, tally{})
			ops = append(ops, tally{})
		}
		f := &fams[fi]
		f.Launches++
		f.totalNS += k.dur()
		f.hiddenNS += sw.hidden[i]
		f.exclNS += sw.excl[i]
		f.hbcNS += sw.hiddenByCompute[i]
		if sw.hidden[i]+sw.excl[i] > sw.hidden[f.Representative]+sw.excl[f.Representative] {
			f.Representative = i
		}
		if k.Scope != "" {
			scopes[fi].add(k.Scope)
		}
		if k.LaunchOp != "" {
			ops[fi].add(k.LaunchOp)
		}
	}
	for pair, t := range sw.overlapWith {
		f := &fams[famOf[pair[0]]]
		if f.overlapWith == nil {
			f.overlapWith = map[string]int64{}
		}
		f.overlapWith[sw.names[pair[1]]] += t
	}
	for i := range fams {
		f := &fams[i]
		f.TotalUS = us(f.totalNS)
		f.HiddenUS = us(f.hiddenNS)
		f.ExclusiveUS = us(f.exclNS)
		f.HiddenByComputeUS = us(f.hbcNS)
		if name, t := mostCommon(f.overlapWith); name != "" {
			f.OverlappedWith, f.OverlappedWithUS = name, us(t)
		}
		f.Scope = orDefault(mostCommonCount(scopes[i].counts()), Unmapped)
		f.LaunchOp = orDefault(mostCommonCount(ops[i].counts()), NoLaunchOp)
	}
	slices.SortStableFunc(fams, func(a, b Family) int {
		if c := cmp.Compare(b.totalNS, a.totalNS); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	return fams
}

// tally counts strings. Runs of one string (the usual case: a family's
// kernels mostly share scope and launch op) are counted before they reach
// the map.
type tally struct {
	m    map[string]int
	last string
	n    int // pending count of last
}

func (t *tally) add(k string) {
	if t.n > 0 && k == t.last {
		t.n++
		return
	}
	t.flush()
	t.last, t.n = k, 1
}

func (t *tally) flush() {
	if t.n > 0 {
		if t.m == nil {
			t.m = map[string]int{}
		}
		t.m[t.last] += t.n
		t.n = 0
	}
}

// counts returns the counts (nil when none).
func (t *tally) counts() map[string]int {
	t.flush()
	return t.m
}

// Placeholders for unknown scopes and launch ops.
const (
	Unmapped   = "unmapped"
	NoLaunchOp = "n/a"
)

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// mostCommon returns the key with the largest value (smallest key on ties).
func mostCommon(m map[string]int64) (string, int64) {
	best, bestV := "", int64(-1)
	for k, v := range m {
		if v > bestV || (v == bestV && k < best) {
			best, bestV = k, v
		}
	}
	return best, bestV
}

func mostCommonCount(m map[string]int) string {
	best, bestV := "", -1
	for k, v := range m {
		if v > bestV || (v == bestV && k < best) {
			best, bestV = k, v
		}
	}
	return best
}

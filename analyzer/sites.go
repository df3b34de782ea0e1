package analyzer

import (
	"cmp"
	"context"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/tracetriage/tracetriage/analyzer/trace"
)

// GraphReplaySite is the location text of a kernel replayed from a CUDA or
// HIP graph whose Python line is not known: the graph launch call is where
// the replay started, not where the kernel was written.
const GraphReplaySite = "graph replay (unattributed)"

// frameIndex answers "which Python frames were active on thread X at time
// t" in O(log n + depth). It keeps what it needs of each frame (name,
// start, end) so it does not refer to Trace.Frames once built. Frames are
// grouped by thread; within a thread, positions are sorted by (start, end
// descending), so a parent precedes its children, with each frame's
// enclosing frame. Frames of one thread nest, so the frames active at time
// t are the last frame starting at or before t and those of its ancestors
// that are still open at t.
//
// A frameIndex is read-only once built: goroutines share it, each through
// a siteFinder of its own.
type frameIndex struct {
	threads map[trace.ThreadKey]frameSpan
	names   []trace.Str
	starts  []int64
	ends    []int64
	parent  []int32 // position of the enclosing frame, -1 for a root
}

// frameSpan is the positions [lo, hi) of one thread's frames.
type frameSpan struct{ lo, hi int32 }

func newFrameIndex(t *trace.Trace) *frameIndex {
	fx := &frameIndex{threads: map[trace.ThreadKey]frameSpan{}}
	fr := t.Frames
	n := len(fr)
	fx.names, fx.starts, fx.ends, fx.parent = make([]trace.Str, n), make([]int64, n), make([]int64, n), make([]int32, n)
	if fx.fillInOrder(fr) {
		return fx
	}
	// Number the threads (consecutive frames are mostly of one thread, so
	// the last lookup is remembered), count the frames of each, give each
	// thread its range, then place the frames in trace order within their
	// thread's range.
	ids := map[trace.ThreadKey]int32{}
	var keys []trace.ThreadKey
	var last trace.ThreadKey
	lastID := int32(-1)
	thread := func(f *trace.Frame) int32 {
		key := trace.ThreadKey{PID: f.PID, TID: f.TID}
		if lastID >= 0 && key == last {
			return lastID
		}
		id, ok := ids[key]
		if !ok {
			id = int32(len(keys))
			ids[key] = id
			keys = append(keys, key)
		}
		last, lastID = key, id
		return id
	}
	var spans []frameSpan
	for i := range fr {
		id := thread(&fr[i])
		if int(id) == len(spans) {
			spans = append(spans, frameSpan{})
		}
		spans[id].hi++
	}
	var off int32
	for id := range spans {
		m := spans[id].hi
		spans[id] = frameSpan{lo: off, hi: off}
		off += m
	}
	order := make([]int32, n) // indices into fr
	for i := range fr {
		sp := &spans[thread(&fr[i])]
		order[sp.hi] = int32(i)
		sp.hi++
	}
	for id, key := range keys {
		fx.threads[key] = spans[id]
	}
	var stack []int32
	for _, sp := range spans {
		frames := order[sp.lo:sp.hi]
		// slices.SortFunc runs the same pdqsort as sort.Slice did, so
		// frames that tie (same start and end) keep the order they always
		// had.
		slices.SortFunc(frames, func(a, b int32) int {
			x, y := &fr[a], &fr[b]
			if x.TS != y.TS {
				return cmp.Compare(x.TS, y.TS)
			}
			return cmp.Compare(y.TS+y.Dur, x.TS+x.Dur)
		})
		stack = stack[:0]
		for j, fi := range frames {
			stack = fx.place(sp.lo+int32(j), &fr[fi], stack)
		}
	}
	return fx
}

// place writes frame f at position p, with its enclosing frame from stack
// (the open frames of its thread, outermost first), and returns the stack
// with f on top.
func (fx *frameIndex) place(p int32, f *trace.Frame, stack []int32) []int32 {
	fx.names[p], fx.starts[p], fx.ends[p] = f.Name, f.TS, f.TS+f.Dur
	for len(stack) > 0 && fx.ends[stack[len(stack)-1]] < fx.ends[p] {
		stack = stack[:len(stack)-1]
	}
	fx.parent[p] = -1
	if len(stack) > 0 {
		fx.parent[p] = stack[len(stack)-1]
	}
	return append(stack, p)
}

// fillInOrder fills fx when the frames are of one thread and in index
// order already (by start, then end descending; the usual case, where
// sorting would leave them as they are) and reports whether they were;
// otherwise newFrameIndex starts over. The frames are checked and copied
// in ranges on GOMAXPROCS goroutines, then linked to their enclosing
// frames in one pass over the copied ends.
func (fx *frameIndex) fillInOrder(fr []trace.Frame) bool {
	n := len(fr)
	if n == 0 {
		return true
	}
	parts := max(min(runtime.GOMAXPROCS(0), n/minFrameRange), 1)
	ranges := make([][2]int, parts)
	for r := range ranges {
		ranges[r] = [2]int{r * n / parts, (r + 1) * n / parts}
	}
	ok := make([]bool, parts)
	forRanges(context.Background(), ranges, func(r, lo, hi int) error {
		ok[r] = fx.copyInOrder(fr, lo, hi)
		return nil
	})
	for _, o := range ok {
		if !o {
			return false
		}
	}
	var stack []int32
	for p := range fx.ends {
		for len(stack) > 0 && fx.ends[stack[len(stack)-1]] < fx.ends[p] {
			stack = stack[:len(stack)-1]
		}
		fx.parent[p] = -1
		if len(stack) > 0 {
			fx.parent[p] = stack[len(stack)-1]
		}
		stack = append(stack, int32(p))
	}
	fx.threads[trace.ThreadKey{PID: fr[0].PID, TID: fr[0].TID}] = frameSpan{lo: 0, hi: int32(n)}
	return true
}

// minFrameRange is the fewest frames fillInOrder gives a goroutine.
const minFrameRange = 1 << 16

// copyInOrder copies the names, starts and ends of frames [lo, hi) to the
// same positions, and reports whether each of them is of the thread of,
// and in index order after, the frame before it.
func (fx *frameIndex) copyInOrder(fr []trace.Frame, lo, hi int) bool {
	for i := lo; i < hi; i++ {
		f := &fr[i]
		if i > 0 {
			x := &fr[i-1]
			if f.PID != x.PID || f.TID != x.TID || f.TS < x.TS || (f.TS == x.TS && f.TS+f.Dur > x.TS+x.Dur) {
				return false
			}
		}
		fx.names[i], fx.starts[i], fx.ends[i] = f.Name, f.TS, f.TS+f.Dur
	}
	return true
}

// active appends to buf the frames (positions in the index) of the
// thread span sp open at probe, outermost first: start <= probe and end >=
// probe-0.001µs. The search for the first frame starting after probe
// gallops from hint (a position in sp; probes mostly come in time order),
// and that position is returned as the next hint.
func (fx *frameIndex) active(sp frameSpan, probe int64, hint int, buf []int32) ([]int32, int) {
	buf = buf[:0]
	// lo: the first frame of the span starting after probe.
	first := int(sp.lo)
	lo := first + firstAbove(fx.starts[first:sp.hi], int(sp.hi)-first, probe, hint-first)
	for p := lo - 1; p >= int(sp.lo); p = int(fx.parent[p]) {
		if fx.ends[p] >= probe-probeOffsetNS {
			buf = append(buf, int32(p))
		}
	}
	next := lo
	for i, j := 0, len(buf)-1; i < j; i, j = i+1, j-1 {
		buf[i], buf[j] = buf[j], buf[i]
	}
	return buf, next
}

// resolution is where one kernel launch came from.
type resolution struct {
	location    string // chosen frame's location; "" when unresolved
	stack       string // "loc -> loc" (outer to inner), up to 4 frames
	cpuOp       string
	attribution string
}

// pickNearest chooses, among events sorted by start, the one that most
// likely issued a kernel starting at kts (triage-behaviour.md §7.4): of up
// to 4 events starting at or before kts+0.001µs, the one ending closest to
// kts; else, of up to 2 after, the one starting closest. -1 when empty.
func pickNearest(n int, span func(i int) (int64, int64), kts int64) int {
	switch n {
	case 0:
		return -1
	case 1:
		return 0 // the one event, before or after kts (the usual case)
	}
	probe := kts + probeOffsetNS
	split := sort.Search(n, func(i int) bool { ts, _ := span(i); return ts > probe })
	best, bestGap := -1, int64(0)
	for i := split - 1; i >= 0 && i >= split-4; i-- {
		ts, dur := span(i)
		if g := abs64(ts + dur - kts); best < 0 || g < bestGap {
			best, bestGap = i, g
		}
	}
	if best >= 0 {
		return best
	}
	for i := split; i < n && i < split+2; i++ {
		ts, _ := span(i)
		if g := abs64(ts - kts); best < 0 || g < bestGap {
			best, bestGap = i, g
		}
	}
	return best
}

// resolver maps kernels of one trace to the Python frames that launched
// them. It is read-only once built (the correlation map is built once, on
// first use, under extOnce), so goroutines share it; each resolves sites
// through a siteFinder of its own, which holds the caches.
type resolver struct {
	t          *trace.Trace
	frames     *frameIndex
	opsByExt   keyedIndex      // CPU ops by External id, sorted by start
	launchByCo keyedIndex      // launches by correlation, sorted by start
	extOnce    sync.Once       // builds extByCorr
	extByCorr  map[int64]int64 // correlation -> External id; nil until needed
}

// newResolver indexes t. With release, it drops t.Frames once the frame
// index holds what it needs of them, and collects then and once the other
// indices are built, so that freed memory serves what comes next instead
// of the heap growing (a collection costs little: the trace's slices hold
// no pointers).
func newResolver(t *trace.Trace, release bool) *resolver {
	fx := newFrameIndex(t)
	if release && len(t.Frames) > 0 {
		t.Frames = nil
		collect(t.Bytes)
	}
	r := &resolver{t: t, frames: fx}
	// The two keyed indices are independent (the correlation map is built
	// under extOnce): one is built on another goroutine meanwhile.
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.launchByCo = newKeyedIndex(len(t.Launches),
			func(i int) (int64, int64) { return t.Launches[i].Correlation, t.Launches[i].TS })
	}()
	r.opsByExt = newKeyedIndex(len(t.CPUOps), func(i int) (int64, int64) {
		o := &t.CPUOps[i]
		ext := o.ExternalID
		if ext == trace.NoID && o.Correlation != trace.NoID {
			if e, ok := r.extOfCorrelation(o.Correlation); ok {
				ext = e
			}
		}
		return ext, o.TS
	})
	<-done
	if release {
		collect(t.Bytes) // the keyed indices' sort buffers
	}
	return r
}

// extOfCorrelation returns the External id that a launch (else a kernel)
// with this correlation carries. The map is built on first use: events
// usually carry their own External id, so most traces never need it.
func (r *resolver) extOfCorrelation(corr int64) (int64, bool) {
	r.extOnce.Do(func() {
		t := r.t
		r.extByCorr = make(map[int64]int64, len(t.Launches)+len(t.Kernels)/4)
		for i := range t.Launches {
			l := &t.Launches[i]
			if l.ExternalID != trace.NoID {
				r.extByCorr[l.Correlation] = l.ExternalID
			}
		}
		for i := range t.Kernels {
			k := &t.Kernels[i]
			if k.ExternalID != trace.NoID && k.Correlation != trace.NoID {
				if _, ok := r.extByCorr[k.Correlation]; !ok {
					r.extByCorr[k.Correlation] = k.ExternalID
				}
			}
		}
	})
	ext, ok := r.extByCorr[corr]
	return ext, ok
}

// keyedIndex groups event indices by an id (External id, correlation):
// the indices sorted by (id, start). When the ids are dense (the usual
// case: profilers count them up from a base), group k is idx[start[k-base]
// : start[k-base+1]], found without a search; otherwise the ids are kept
// alongside and a group is found by binary search. No per-group
// allocation.
type keyedIndex struct {
	idx []int32
	// Dense form.
	base  int64
	start []int32
	// Sparse form (start == nil).
	keys []int64
}

// newKeyedIndex indexes n events by key(i) (events whose key is NoID are
// left out), each group sorted by start.
func newKeyedIndex(n int, key func(i int) (id, ts int64)) keyedIndex {
	// Events mostly come in (id, start) order already: then the index is
	// their order, found in one pass without sorting (ties of id and start
	// are in index order either way).
	idx := make([]int32, 0, n)
	ids := make([]int64, 0, n)
	var lastTS int64
	inOrder := true
	for i := 0; i < n; i++ {
		id, ts := key(i)
		if id == trace.NoID {
			continue
		}
		if m := len(ids); m > 0 && (id < ids[m-1] || (id == ids[m-1] && ts < lastTS)) {
			inOrder = false
			break
		}
		idx, ids, lastTS = append(idx, int32(i)), append(ids, id), ts
	}
	if !inOrder {
		idx, ids = sortedByKey(n, key)
	}
	x := keyedIndex{idx: idx}
	if m := len(ids); m > 0 && ids[0] >= 0 && ids[m-1]-ids[0] < int64(2*m+1024) {
		x.base = ids[0]
		span := ids[m-1] - x.base + 1
		x.start = make([]int32, span+1)
		j := 0
		for d := int64(0); d <= span; d++ {
			for j < m && ids[j] < x.base+d {
				j++
			}
			x.start[d] = int32(j)
		}
		return x
	}
	x.keys = ids
	return x
}

// sortedByKey returns the events with an id (key), sorted by (id, start,
// index), and their ids.
func sortedByKey(n int, key func(i int) (id, ts int64)) ([]int32, []int64) {
	type entry struct {
		id, ts int64
		i      int32
	}
	es := make([]entry, 0, n)
	for i := 0; i < n; i++ {
		if id, ts := key(i); id != trace.NoID {
			es = append(es, entry{id, ts, int32(i)})
		}
	}
	slices.SortFunc(es, func(a, b entry) int {
		if c := cmp.Compare(a.id, b.id); c != 0 {
			return c
		}
		if c := cmp.Compare(a.ts, b.ts); c != 0 {
			return c
		}
		return cmp.Compare(a.i, b.i)
	})
	idx, ids := make([]int32, len(es)), make([]int64, len(es))
	for j, e := range es {
		idx[j], ids[j] = e.i, e.id
	}
	return idx, ids
}

// get returns the events with id k, sorted by start.
func (x keyedIndex) get(k int64) []int32 {
	if x.start != nil {
		d := k - x.base
		if k < x.base || d >= int64(len(x.start)-1) {
			return nil
		}
		return x.idx[x.start[d]:x.start[d+1]]
	}
	lo, _ := slices.BinarySearch(x.keys, k)
	hi := lo
	for hi < len(x.keys) && x.keys[hi] == k {
		hi++
	}
	return x.idx[lo:hi]
}

// externalID is the kernel's own External id, else the one of its
// correlation.
func (r *resolver) externalID(k *trace.Kernel) int64 {
	if k.ExternalID != trace.NoID {
		return k.ExternalID
	}
	if k.Correlation != trace.NoID {
		if ext, ok := r.extOfCorrelation(k.Correlation); ok {
			return ext
		}
	}
	return trace.NoID
}

// launch returns the launch event of a kernel, or nil.
func (r *resolver) launch(k *trace.Kernel) *trace.Launch {
	if i := r.launchIndex(k); i >= 0 {
		return &r.t.Launches[i]
	}
	return nil
}

// launchIndex returns the index of a kernel's launch event, or -1.
func (r *resolver) launchIndex(k *trace.Kernel) int32 {
	if k.Correlation == trace.NoID {
		return -1
	}
	l := r.launchByCo.get(k.Correlation)
	i := pickNearest(len(l), func(i int) (int64, int64) { x := &r.t.Launches[l[i]]; return x.TS, x.Dur }, k.TS)
	if i < 0 {
		return -1
	}
	return l[i]
}

// siteFinder resolves launch sites through a shared resolver, with caches
// of its own: one per goroutine.
type siteFinder struct {
	r *resolver
	// graphNames caches isGraphLaunch by interned name: 0 unknown, 1 no,
	// 2 yes.
	graphNames []int8
	// info caches the parsed form of frame names.
	info map[trace.Str]*frameInfo
	buf  []int32
	// chains caches location and stack by the names of the active frames
	// (4 bytes per interned name, outermost first). The first frames seen
	// with given names decide them (fromFrames's tie between frames of
	// one priority and the same span can go another way on other frames
	// with the same names), so goroutines that resolve ranges of one
	// trace compare their chains before their results are merged.
	chains map[string]chainSite
	key    []byte
	keySum uint64 // a hash of key
	// byHash finds a chain of chains by the hash of its key (checked
	// against the key), cheaper than hashing or comparing the key itself.
	byHash map[uint64]chainRef
	// at is the kernel being resolved, stored with each chain computed.
	at int
	// The thread of the latest frame lookup and its span (ok false when
	// the thread has no frames): consecutive lookups are mostly of one
	// thread.
	lastThread trace.ThreadKey
	lastSpan   frameSpan
	lastOK     bool
	haveLast   bool
	// hint is where the latest lookup on that thread ended (see
	// frameIndex.active).
	hint int
}

// chainRef is an entry of chains with its key.
type chainRef struct {
	key  string
	site chainSite
}

// chainSite is the site that a chain of active frames gives, and the
// kernel whose resolution first computed it.
type chainSite struct {
	location, stack string
	at              int
}

func newSiteFinder(r *resolver) *siteFinder {
	return &siteFinder{r: r, info: map[trace.Str]*frameInfo{}, chains: map[string]chainSite{}, byHash: map[uint64]chainRef{}}
}

// active sets f.buf to the frames open on a thread at probe (see
// frameIndex.active).
func (f *siteFinder) active(pid, tid trace.Str, probe int64) {
	key := trace.ThreadKey{PID: pid, TID: tid}
	if !f.haveLast || key != f.lastThread {
		f.lastSpan, f.lastOK = f.r.frames.threads[key]
		f.lastThread, f.haveLast = key, true
		f.hint = int(f.lastSpan.lo)
	}
	if !f.lastOK {
		f.buf = f.buf[:0]
		return
	}
	f.buf, f.hint = f.r.frames.active(f.lastSpan, probe, f.hint, f.buf)
}

// frame returns the parsed form of a frame name, cached.
func (f *siteFinder) frame(name trace.Str) *frameInfo {
	if fi, ok := f.info[name]; ok {
		return fi
	}
	fi := parseFrame(f.r.t.S(name))
	f.info[name] = &fi
	return &fi
}

// graphLaunch is isGraphLaunch of an interned name, cached.
func (f *siteFinder) graphLaunch(name trace.Str) bool {
	if f.graphNames == nil {
		f.graphNames = make([]int8, f.r.t.Strings.Len())
	}
	if int(name) >= len(f.graphNames) {
		return isGraphLaunch(f.r.t.S(name))
	}
	switch f.graphNames[name] {
	case 1:
		return false
	case 2:
		return true
	}
	g := isGraphLaunch(f.r.t.S(name))
	f.graphNames[name] = 1
	if g {
		f.graphNames[name] = 2
	}
	return g
}

// isGraphLaunch reports whether a runtime call replays a CUDA/HIP graph.
func isGraphLaunch(name string) bool {
	return strings.Contains(strings.ToLower(name), "graphlaunch")
}

func probeAt(ts, dur int64) int64 {
	half := dur / 2
	if half > 1000 {
		half = 1000
	}
	return ts + half
}

// resolve finds the launch site of one kernel (triage-behaviour.md §7.4):
// the Python frames active when its CPU op (same External id) ran, else
// when its launch call (same correlation) ran. Kernels replayed from a
// graph are not attributed to the graph launch call.
func (f *siteFinder) resolve(k *trace.Kernel, ext int64, l *trace.Launch) resolution {
	r := f.r
	if l != nil && f.graphLaunch(l.Name) {
		return resolution{location: GraphReplaySite, cpuOp: r.t.S(l.Name), attribution: AttrUnresolved}
	}
	cpuOp := ""
	if ext != trace.NoID {
		ops := r.opsByExt.get(ext)
		i := pickNearest(len(ops), func(i int) (int64, int64) { o := &r.t.CPUOps[ops[i]]; return o.TS, o.Dur }, k.TS)
		if i >= 0 {
			o := &r.t.CPUOps[ops[i]]
			cpuOp = r.t.S(o.Name)
			f.active(o.PID, o.TID, probeAt(o.TS, o.Dur))
			if len(f.buf) > 0 {
				return f.fromFrames(cpuOp, AttrExternalID)
			}
		}
	}
	if l != nil {
		f.active(l.PID, l.TID, probeAt(l.TS, l.Dur))
		name := cpuOp
		if name == "" {
			name = r.t.S(l.Name)
		}
		if len(f.buf) > 0 {
			return f.fromFrames(name, AttrLaunch)
		}
		return resolution{cpuOp: r.t.S(l.Name), attribution: AttrUnresolved}
	}
	return resolution{cpuOp: cpuOp, attribution: AttrUnresolved}
}

// fromFrames picks the launch site among the active frames in f.buf
// (outermost first). The reference's choice is the frame of highest launch
// priority, ties to the innermost; when that frame is not framework code
// (or is a wrapper), the site shown is the innermost frame of highest
// source priority, searched over the whole active stack (the reference
// searched only the last 4 frames, which inside torch.compile are all
// torch internals). The stack is the last 4 active frames of positive
// priority.
func (f *siteFinder) fromFrames(cpuOp, attribution string) resolution {
	f.chainKey()
	if e, ok := f.byHash[f.keySum]; ok && e.key == string(f.key) {
		return resolution{location: e.site.location, stack: e.site.stack, cpuOp: cpuOp, attribution: attribution}
	}
	c, ok := f.chains[string(f.key)]
	if !ok {
		c = f.computeChain()
		f.chains[string(f.key)] = c
	}
	if _, taken := f.byHash[f.keySum]; !taken {
		f.byHash[f.keySum] = chainRef{string(f.key), c}
	}
	return resolution{location: c.location, stack: c.stack, cpuOp: cpuOp, attribution: attribution}
}

// chainKey sets f.key to the names of the active frames in f.buf, and
// f.keySum to its hash.
func (f *siteFinder) chainKey() {
	f.key = f.key[:0]
	h := uint64(14695981039346656037)
	for _, fi := range f.buf {
		n := f.r.frames.names[fi]
		f.key = append(f.key, byte(n), byte(n>>8), byte(n>>16), byte(n>>24))
		h = (h ^ uint64(n)) * 1099511628211
	}
	f.keySum = h
}

// computeChain picks the site of the active frames in f.buf (see
// fromFrames), without the cache.
func (f *siteFinder) computeChain() chainSite {
	var best *frameInfo
	var bestTS, bestDur int64
	var stack []string
	var shown *frameInfo
	shownPrio := 0
	for _, fi := range f.buf {
		info := f.frame(f.r.frames.names[fi])
		ts, dur := f.r.frames.starts[fi], f.r.frames.ends[fi]-f.r.frames.starts[fi]
		if best == nil || info.priority > best.priority ||
			(info.priority == best.priority && (ts > bestTS || (ts == bestTS && dur < bestDur))) {
			best, bestTS, bestDur = info, ts, dur
		}
		if info.priority > 0 {
			stack = append(stack, info.location)
		}
		if p := info.source; p > 0 && p >= shownPrio {
			shown, shownPrio = info, p
		}
	}
	if len(stack) > 4 {
		stack = stack[len(stack)-4:]
	}
	if len(stack) == 0 {
		stack = []string{f.frame(f.r.frames.names[f.buf[len(f.buf)-1]]).location}
	}
	loc := best.location
	if !best.shown && shown != nil {
		loc = shown.location
	}
	return chainSite{location: loc, stack: strings.Join(stack, " -> "), at: f.at}
}

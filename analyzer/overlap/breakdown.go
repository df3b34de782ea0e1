package overlap

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Breakdown is the temporal breakdown of one stage's GPU time, as HTA's
// temporal breakdown and TraceLens's GPU timeline report it. Times are
// microseconds; every "time" is a union of intervals (wall-clock time on
// the GPU), not a sum of kernel durations, so overlapping kernels count
// once. Compute, Communication, Memory and Other overlap one another when
// streams run concurrently, so they can add up to more than BusyUS.
type Breakdown struct {
	// SpanUS runs from the first kernel's start to the last kernel's end.
	SpanUS float64 `json:"span_us"`
	// BusyUS is the time when at least one kernel runs; IdleUS is the
	// rest of the span. BusyPct is BusyUS as a share of SpanUS.
	BusyUS  float64 `json:"busy_us"`
	IdleUS  float64 `json:"idle_us"`
	BusyPct float64 `json:"busy_pct"`
	// The idle time split by what the GPU waited for, from the launch of
	// the kernel that ended each idle gap: IdleHostUS is the part of the
	// gaps before that kernel's launch call began (the GPU had nothing to
	// run because the host had not launched it yet), IdleQueuedUS the part
	// after it (launch latency, a stream wait or a dependency). Gaps ended
	// by a kernel without a launch record are in neither.
	IdleHostUS   float64 `json:"idle_host_us"`
	IdleQueuedUS float64 `json:"idle_queued_us"`
	// IdleHostBySite shares IdleHostUS out by the launch site of the
	// kernel that ended each gap (the code the host reached too late),
	// longest first, at most maxIdleSites.
	IdleHostBySite []IdleSite `json:"idle_host_by_site"`
	// KernelTimeUS is the plain sum of kernel durations.
	KernelTimeUS float64 `json:"kernel_time_us"`
	// ConcurrentUS is the time when kernels on two or more streams run.
	ConcurrentUS float64 `json:"concurrent_us"`
	// Streams is the number of distinct streams.
	Streams int `json:"streams"`

	// ComputeUS: kernels Classify calls compute or elementwise (GEMM,
	// attention, norms, activations...).
	ComputeUS float64 `json:"compute_us"`
	// CommunicationUS: communication kernels (NCCL, all-reduce...).
	CommunicationUS float64 `json:"communication_us"`
	// MemoryUS: memcpy, memset and copy/fill kernels.
	MemoryUS float64 `json:"memory_us"`
	// OtherUS: kernels Classify cannot place.
	OtherUS float64 `json:"other_us"`

	// ExposedCommunicationUS is the time when communication runs and no
	// computation does, on any stream. Computation is every kernel that
	// runs on the SMs and is not communication: everything but
	// communication kernels and memcpy/memset activities (HTA's
	// definition; copy and fill kernels count as computation here).
	ExposedCommunicationUS float64 `json:"exposed_communication_us"`
	// CommunicationKernelUS is the sum of communication kernel durations;
	// CommunicationOverlappedUS is the part of it covered by computation
	// on other streams than the communication kernel's own, and
	// CommunicationOverlappedPct that part as a share of the sum (HTA's
	// "comm-comp overlap").
	CommunicationKernelUS      float64 `json:"communication_kernel_us"`
	CommunicationOverlappedUS  float64 `json:"communication_overlapped_us"`
	CommunicationOverlappedPct float64 `json:"communication_overlapped_pct"`
}

// interval is a half-open [start, end) span in nanoseconds.
type interval struct{ start, end int64 }

// union merges intervals into a sorted list of disjoint ones (touching
// intervals merge), in place: it reorders and overwrites its argument and
// returns a prefix of it.
func union(ivs []interval) []interval {
	sorted := true
	for i := 1; i < len(ivs); i++ {
		if ivs[i].start < ivs[i-1].start {
			sorted = false
			break
		}
	}
	if !sorted {
		slices.SortFunc(ivs, func(a, b interval) int { return cmp.Compare(a.start, b.start) })
	}
	out := ivs[:0]
	for _, iv := range ivs {
		if iv.end <= iv.start {
			continue
		}
		if n := len(out); n > 0 && iv.start <= out[n-1].end {
			out[n-1].end = max(out[n-1].end, iv.end)
			continue
		}
		out = append(out, iv)
	}
	return out
}

func length(u []interval) int64 {
	var t int64
	for _, iv := range u {
		t += iv.end - iv.start
	}
	return t
}

// coveredFrom returns how much of [a, b) the sorted disjoint list u
// covers, given i, the first interval of u ending at or after a.
func coveredFrom(u []interval, i int, a, b int64) int64 {
	var t int64
	for ; i < len(u) && u[i].start < b; i++ {
		if lo, hi := max(a, u[i].start), min(b, u[i].end); hi > lo {
			t += hi - lo
		}
	}
	return t
}

// coverCursor says how much of a span [a, b) the sorted disjoint list u
// covers, for spans that come mostly in order of a: the first interval ending at or after a is found
// from the previous one, by bisection only when a goes back.
type coverCursor struct {
	u     []interval
	i     int
	lastA int64
	used  bool
}

func (c *coverCursor) covered(a, b int64) int64 {
	if !c.used || a < c.lastA {
		c.i, _ = slices.BinarySearchFunc(c.u, a, func(iv interval, t int64) int { return cmp.Compare(iv.end, t) })
	} else {
		for c.i < len(c.u) && c.u[c.i].end < a {
			c.i++
		}
	}
	c.used, c.lastA = true, a
	return coveredFrom(c.u, c.i, a, b)
}

// subtract returns the length of u minus the parts covered by v (both
// sorted and disjoint).
func subtract(u, v []interval) int64 {
	var t int64
	c := coverCursor{u: v}
	for _, iv := range u {
		t += iv.end - iv.start - c.covered(iv.start, iv.end)
	}
	return t
}

// BreakdownOf computes the temporal breakdown of a stage's kernels.
func BreakdownOf(kernels []Kernel) Breakdown {
	cats, copyEngine := classifyAll(kernels)
	b, span := breakdownParts(kernels, cats, copyEngine)
	if len(kernels) == 0 {
		return b
	}
	all := make([]interval, len(kernels))
	streams := map[string]bool{}
	for i := range kernels {
		all[i] = interval{kernels[i].Start, kernels[i].Start + kernels[i].dur()}
		streams[kernels[i].Stream] = true
	}
	b.setBusy(length(union(all)), concurrent(kernels), len(streams), span)
	return b
}

// setBusy completes a breakdown from breakdownParts with the busy and
// concurrent times (nanoseconds), the number of streams and the span
// breakdownParts returned; Analyze takes them from its sweep.
func (b *Breakdown) setBusy(busy, conc int64, streams int, span int64) {
	if span < 0 {
		return // no kernels
	}
	b.Streams = streams
	b.BusyUS = us(busy)
	b.IdleUS = us(span - busy)
	b.BusyPct = 100 * ratio(b.BusyUS, b.SpanUS)
	b.ConcurrentUS = us(conc)
}

// breakdownParts computes the temporal breakdown but for what setBusy
// fills, and returns the span in nanoseconds (-1 without kernels).
// copyEngine holds isCopyEngine of each kernel.
func breakdownParts(kernels []Kernel, cats []string, copyEngine []bool) (Breakdown, int64) {
	b := Breakdown{IdleHostBySite: []IdleSite{}}
	n := len(kernels)
	if n == 0 {
		return b, -1
	}
	// The category lists share one backing array, cut by category counts
	// with communication last; union works in place within each part.
	var counts [4]int
	for i := range kernels {
		counts[categoryBucket(cats[i])]++
	}
	buf := make([]interval, n)
	var parts [4][]interval
	off := 0
	for c, m := range counts {
		parts[c] = buf[off : off : off+m]
		off += m
	}
	// computing[i]: kernel i counts as computation for the communication
	// measures (neither communication nor copy-engine work).
	computing := make([]bool, n)
	nComputing := 0
	first, last := kernels[0].Start, kernels[0].Start
	var sum int64
	for i := range kernels {
		k := &kernels[i]
		iv := interval{k.Start, k.Start + k.dur()}
		first, last = min(first, iv.start), max(last, iv.end)
		sum += iv.end - iv.start
		c := categoryBucket(cats[i])
		parts[c] = append(parts[c], iv)
		if cats[i] == Communication {
			continue
		}
		if !copyEngine[i] {
			computing[i] = true
			nComputing++
		}
	}
	b.SpanUS = us(last - first)
	b.KernelTimeUS = us(sum)
	host, queued, sites := idleWait(kernels)
	b.IdleHostUS, b.IdleQueuedUS, b.IdleHostBySite = us(host), us(queued), sites
	b.ComputeUS = us(length(union(parts[bucketCompute])))
	commU := union(parts[bucketComm])
	b.CommunicationUS = us(length(commU))
	b.MemoryUS = us(length(union(parts[bucketMemory])))
	b.OtherUS = us(length(union(parts[bucketOther])))

	if len(commU) == 0 {
		// No communication time: nothing is exposed and there is no
		// communication kernel to be overlapped.
		return b, last - first
	}
	// The parts before communication are no longer needed: the
	// computation intervals (never communication) fit in their place.
	computation := buf[: 0 : n-counts[bucketComm]]
	for i := range kernels {
		if computing[i] {
			computation = append(computation, interval{kernels[i].Start, kernels[i].Start + kernels[i].dur()})
		}
	}
	compU := union(computation)
	b.ExposedCommunicationUS = us(subtract(commU, compU))

	// Comm-comp overlap per communication kernel, against the union of
	// computation on the other streams.
	otherStreams := map[string]*coverCursor{}
	var commSum, overlapped int64
	for i := range kernels {
		k := &kernels[i]
		if cats[i] != Communication || k.dur() == 0 {
			continue
		}
		u, ok := otherStreams[k.Stream]
		if !ok {
			ivs := make([]interval, 0, nComputing)
			for j := range kernels {
				if computing[j] && kernels[j].Stream != k.Stream {
					ivs = append(ivs, interval{kernels[j].Start, kernels[j].Start + kernels[j].dur()})
				}
			}
			u = &coverCursor{u: union(ivs)}
			otherStreams[k.Stream] = u
		}
		commSum += k.dur()
		overlapped += u.covered(k.Start, k.End)
	}
	b.CommunicationKernelUS = us(commSum)
	b.CommunicationOverlappedUS = us(overlapped)
	b.CommunicationOverlappedPct = 100 * ratio(b.CommunicationOverlappedUS, b.CommunicationKernelUS)
	return b, last - first
}

// Category buckets of the breakdown.
const (
	bucketCompute = iota
	bucketMemory
	bucketOther
	bucketComm // last: see breakdown
)

func categoryBucket(cat string) int {
	switch cat {
	case Compute, Elementwise:
		return bucketCompute
	case Communication:
		return bucketComm
	case Memory:
		return bucketMemory
	}
	return bucketOther
}

// isCopyEngine reports whether a GPU activity is a memcpy or memset
// (copy-engine work), by name. Every other kernel that is not
// communication counts as computation for the communication overlap
// measures.
func isCopyEngine(name string) bool {
	return containsAny(strings.ToLower(name), memoryStrong)
}

// concurrent returns the nanoseconds during which kernels on at least two
// streams are active.
func concurrent(kernels []Kernel) int64 {
	byStream := map[string][]interval{}
	for _, k := range kernels {
		byStream[k.Stream] = append(byStream[k.Stream], interval{k.Start, k.Start + k.dur()})
	}
	if len(byStream) < 2 {
		return 0
	}
	// Per-stream unions, then a sweep over their boundaries counting busy
	// streams.
	type edge struct {
		t int64
		d int
	}
	var edges []edge
	for _, ivs := range byStream {
		for _, iv := range union(ivs) {
			edges = append(edges, edge{iv.start, 1}, edge{iv.end, -1})
		}
	}
	slices.SortFunc(edges, func(a, b edge) int {
		if c := cmp.Compare(a.t, b.t); c != 0 {
			return c
		}
		return cmp.Compare(a.d, b.d) // ends first
	})
	var t, prev int64
	n := 0
	for _, e := range edges {
		if n >= 2 {
			t += e.t - prev
		}
		n += e.d
		prev = e.t
	}
	return t
}

// WriteBreakdownTable writes the breakdown as a Markdown table for the
// Triage View: one row per measure with its time and its share of the span
// (the last row's share is of communication kernel time).
func WriteBreakdownTable(w io.Writer, b Breakdown) error {
	pct := func(v float64) string { return fmt.Sprintf("%.1f%%", 100*ratio(v, b.SpanUS)) }
	rows := [][3]string{
		{"Span (first kernel start to last kernel end)", FormatUS(b.SpanUS), pct(b.SpanUS)},
		{"Busy (any kernel running)", FormatUS(b.BusyUS), pct(b.BusyUS)},
		{"Idle (no kernel running)", FormatUS(b.IdleUS), pct(b.IdleUS)},
		{"Idle before the next kernel was launched (waiting for the host)", FormatUS(b.IdleHostUS), pct(b.IdleHostUS)},
		{"Idle with the next kernel launched (launch latency, waits)", FormatUS(b.IdleQueuedUS), pct(b.IdleQueuedUS)},
		{"Concurrent (2+ streams busy)", FormatUS(b.ConcurrentUS), pct(b.ConcurrentUS)},
		{"Compute (GEMM, attention, elementwise)", FormatUS(b.ComputeUS), pct(b.ComputeUS)},
		{"Communication", FormatUS(b.CommunicationUS), pct(b.CommunicationUS)},
		{"Memory (memcpy, memset, copy)", FormatUS(b.MemoryUS), pct(b.MemoryUS)},
		{"Other kernels", FormatUS(b.OtherUS), pct(b.OtherUS)},
		{"Exposed communication (no computation running)", FormatUS(b.ExposedCommunicationUS), pct(b.ExposedCommunicationUS)},
		{"Communication overlapped by computation on other streams", FormatUS(b.CommunicationOverlappedUS),
			fmt.Sprintf("%.1f%% of comm", b.CommunicationOverlappedPct)},
	}
	if _, err := fmt.Fprintf(w, "| Measure | GPU time | Share of span |\n| --- | ---: | ---: |\n"); err != nil {
		return err
	}
	for _, r := range rows {
		if _, err := fmt.Fprintf(w, "| %s | %s | %s |\n", r[0], r[1], r[2]); err != nil {
			return err
		}
	}
	if len(b.IdleHostBySite) == 0 {
		return nil
	}
	if _, err := fmt.Fprintf(w, "\n| GPU waiting for the host before launches from | Idle time | Share of span | Gaps |\n| --- | ---: | ---: | ---: |\n"); err != nil {
		return err
	}
	for _, s := range b.IdleHostBySite {
		scope := s.Scope
		if scope == "" {
			scope = UnknownLaunchSite
		}
		if _, err := fmt.Fprintf(w, "| %s | %s | %s | %d |\n", scope, FormatUS(s.IdleUS), pct(s.IdleUS), s.Gaps); err != nil {
			return err
		}
	}
	return nil
}

// UnknownLaunchSite names the launch site of kernels launched with no
// Python frame known (or replayed from a graph) in breakdown tables.
const UnknownLaunchSite = "(no Python line: graph replay or no frame)"

// FormatUS formats a time in microseconds for a table cell: "12.3 us"
// below a millisecond, "12.34 ms" from there on.
func FormatUS(v float64) string {
	if v < 1000 {
		return fmt.Sprintf("%.1f us", v)
	}
	return fmt.Sprintf("%.2f ms", v/1000)
}

// IdleSite is the GPU idle time spent waiting for the host before the
// launches of one source line.
type IdleSite struct {
	// Scope is the launch site ("path:line func") of the kernels that
	// ended the gaps, or "" when unknown (no Python frame, or a graph
	// replay).
	Scope  string  `json:"scope"`
	IdleUS float64 `json:"idle_us"`
	Gaps   int     `json:"gaps"`
}

// maxIdleSites bounds Breakdown.IdleHostBySite.
const maxIdleSites = 5

// idleWait splits the idle gaps between the kernels' busy periods by the
// launch of the kernel that ends each gap (the earliest launched of those
// starting then): the part of the gap before its launch call began is the
// host's (returned first, and by the kernel's launch site), the rest is
// queued. Gaps ended by kernels without a launch record count in neither;
// zero-length kernels take no part, as in the busy time.
func idleWait(kernels []Kernel) (host, queued int64, sites []IdleSite) {
	// The kernels in order of start, the earliest launched first among
	// those starting together (without a launch record, last). Indices
	// keep the memory small; kernels come nearly in start order, so the
	// sort costs little.
	order := make([]int32, 0, len(kernels))
	for i := range kernels {
		if kernels[i].dur() > 0 {
			order = append(order, int32(i))
		}
	}
	sites = []IdleSite{}
	if len(order) == 0 {
		return 0, 0, sites
	}
	slices.SortFunc(order, func(i, j int32) int {
		a, b := &kernels[i], &kernels[j]
		if c := cmp.Compare(a.Start, b.Start); c != 0 {
			return c
		}
		if (a.Launch == 0) != (b.Launch == 0) {
			if a.Launch != 0 {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.Launch, b.Launch)
	})
	type acc struct {
		ns   int64
		gaps int
	}
	byScope := map[string]*acc{}
	busyEnd := kernels[order[0]].Start + kernels[order[0]].dur()
	for _, i := range order[1:] {
		k := &kernels[i]
		if gap := k.Start - busyEnd; gap > 0 && k.Launch != 0 {
			h := min(max(k.Launch-busyEnd, 0), gap)
			host += h
			queued += gap - h
			if h > 0 {
				a := byScope[k.Scope]
				if a == nil {
					a = &acc{}
					byScope[k.Scope] = a
				}
				a.ns += h
				a.gaps++
			}
		}
		busyEnd = max(busyEnd, k.Start+k.dur())
	}
	for scope, a := range byScope {
		sites = append(sites, IdleSite{Scope: scope, IdleUS: us(a.ns), Gaps: a.gaps})
	}
	slices.SortFunc(sites, func(a, b IdleSite) int {
		if c := cmp.Compare(b.IdleUS, a.IdleUS); c != 0 {
			return c
		}
		return cmp.Compare(a.Scope, b.Scope)
	})
	return host, queued, sites[:min(len(sites), maxIdleSites)]
}

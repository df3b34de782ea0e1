package analyzer

import (
	"slices"

	"github.com/tracetriage/tracetriage/analyzer/trace"
)

// Naming CUDA capture launches by position.
//
// A trace profiled while a CUDA graph was captured records each kernel
// launch of the capture with its Python stack, but the kernels never run
// then, and CUDA (unlike HIP, which writes args.kernel) does not name the
// kernel in the launch event. A replay of the graph runs the kernels, all
// under the correlation id of one cudaGraphLaunch, with no Python stack.
// A graph captured on one stream runs its kernels in the order they were
// launched, so the i-th kernel of a replay is the i-th launch of the
// capture. nameCaptureLaunches uses that to give the nameless capture
// launches their kernels' names; the graph-capture attribution
// (addCaptureLaunches) then maps replayed kernels to capture sites by name
// as it does for HIP.
//
// It names a capture only when the order is certain: the capture holds
// exactly as many nameless launches as one replay sequence holds kernels,
// every replay with that many kernels ran them in the same order of names,
// and each of those replays ran on one stream.

// replaySequences returns, for each number of kernels, the kernel names of
// the graph replays of t with that many kernels, in the order they ran;
// lengths whose replays disagree map to nil.
func replaySequences(t *trace.Trace) map[int][]string {
	graphCorr := map[int64]bool{}
	for i := range t.Launches {
		ln := &t.Launches[i]
		if ln.Correlation != trace.NoID && isGraphLaunch(t.S(ln.Name)) {
			graphCorr[ln.Correlation] = true
		}
	}
	if len(graphCorr) == 0 {
		return nil
	}
	byCorr := map[int64][]int{}
	for i := range t.Kernels {
		if c := t.Kernels[i].Correlation; graphCorr[c] {
			byCorr[c] = append(byCorr[c], i)
		}
	}
	seqs := map[int][]string{}
	for _, ks := range byCorr {
		seq := orderedNames(t, ks)
		if seq == nil {
			seqs[len(ks)] = nil // more than one stream: the order is not certain
			continue
		}
		old, seen := seqs[len(seq)]
		switch {
		case !seen:
			seqs[len(seq)] = seq
		case old != nil && !slices.Equal(old, seq):
			seqs[len(seq)] = nil
		}
	}
	return seqs
}

// orderedNames returns the names of kernels ks of t by start time, or nil
// when they ran on more than one stream.
func orderedNames(t *trace.Trace, ks []int) []string {
	slices.SortFunc(ks, func(a, b int) int {
		ka, kb := &t.Kernels[a], &t.Kernels[b]
		if ka.TS != kb.TS {
			return compareInt64(ka.TS, kb.TS)
		}
		return a - b
	})
	seq := make([]string, len(ks))
	for j, i := range ks {
		k := &t.Kernels[i]
		if k.Stream != t.Kernels[ks[0]].Stream || k.TID != t.Kernels[ks[0]].TID {
			return nil
		}
		seq[j] = t.S(k.Name)
	}
	return seq
}

func compareInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// nameCaptureLaunches names the nameless kernel launches of each graph
// capture recorded in capture (see the comment above) from the replay
// sequences of the replays traces, and returns how many it named.
func nameCaptureLaunches(capture *trace.Trace, replays []*trace.Trace) int {
	if len(capture.Captures) == 0 {
		return 0
	}
	seqs := map[int][]string{}
	for _, rt := range replays {
		for n, seq := range replaySequences(rt) {
			old, seen := seqs[n]
			switch {
			case !seen:
				seqs[n] = seq
			case old != nil && (seq == nil || !slices.Equal(old, seq)):
				seqs[n] = nil
			}
		}
	}
	if len(seqs) == 0 {
		return 0
	}
	ran := map[int64]bool{}
	for i := range capture.Kernels {
		if c := capture.Kernels[i].Correlation; c != trace.NoID {
			ran[c] = true
		}
	}
	named := 0
	for _, group := range captureGroups(capture, ran) {
		seq := seqs[len(group)]
		if seq == nil {
			continue
		}
		for j, li := range group {
			capture.Launches[li].Kernel = capture.Strings.InternString(seq[j])
		}
		named += len(group)
	}
	return named
}

// captureGroups returns, for each capture (a begin mark and the next end
// mark on the same thread), the indices of the kernel launches made in it
// that name no kernel and did not run, in launch order. A capture with a
// launch that names its kernel (HIP) is left out: it needs no naming.
func captureGroups(t *trace.Trace, ran map[int64]bool) [][]int {
	type window struct {
		pid, tid   trace.Str
		begin, end int64
	}
	var windows []window
	open := map[trace.ThreadKey]int64{}
	marks := slices.Clone(t.Captures)
	slices.SortStableFunc(marks, func(a, b trace.CaptureMark) int { return compareInt64(a.TS, b.TS) })
	for _, m := range marks {
		key := trace.ThreadKey{PID: m.PID, TID: m.TID}
		if m.Begin {
			open[key] = m.TS
			continue
		}
		if b, ok := open[key]; ok {
			windows = append(windows, window{m.PID, m.TID, b, m.TS})
			delete(open, key)
		}
	}
	groups := make([][]int, len(windows))
	named := make([]bool, len(windows))
	for i := range t.Launches {
		ln := &t.Launches[i]
		for w := range windows {
			win := &windows[w]
			if ln.PID != win.pid || ln.TID != win.tid || ln.TS < win.begin || ln.TS > win.end {
				continue
			}
			switch {
			case ln.Kernel != 0:
				named[w] = true
			case !ran[ln.Correlation] && !isGraphLaunch(t.S(ln.Name)):
				groups[w] = append(groups[w], i)
			}
			break
		}
	}
	out := groups[:0]
	for w, g := range groups {
		if named[w] || len(g) == 0 {
			continue
		}
		slices.SortStableFunc(g, func(a, b int) int { return compareInt64(t.Launches[a].TS, t.Launches[b].TS) })
		out = append(out, g)
	}
	return out
}

// nameAllCaptureLaunches names the capture launches of every trace that
// recorded a graph capture from the replays of all the traces.
func nameAllCaptureLaunches(formal, mapping []loaded) {
	var all []*trace.Trace
	for _, ls := range [][]loaded{formal, mapping} {
		for _, l := range ls {
			all = append(all, l.t)
		}
	}
	for _, t := range all {
		nameCaptureLaunches(t, all)
	}
}

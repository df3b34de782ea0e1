package analyzer

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/tracetriage/tracetriage/analyzer/trace"
)

// frameIndex.active gallops from a hint; whatever the hint, it must find
// the frames a plain search of the whole thread finds.
func TestFrameIndexActiveWithHints(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	tr := &trace.Trace{}
	// Nested frames on two threads: each top-level call holds a few
	// levels of calls, some sharing their parent's start or span.
	for tid := trace.Str(1); tid <= 2; tid++ {
		var ts int64
		for call := 0; call < 200; call++ {
			ts += rng.Int64N(20)
			start, dur := ts, 10+rng.Int64N(100)
			for depth := 0; depth < 4 && dur > 0; depth++ {
				tr.Frames = append(tr.Frames, trace.Frame{TS: start, Dur: dur, Name: trace.Str(depth + 1), PID: 1, TID: tid})
				start += rng.Int64N(3)
				dur -= rng.Int64N(dur/2 + 1)
			}
			ts += dur + 100
		}
	}
	fx := newFrameIndex(tr)
	sp := fx.threads[trace.ThreadKey{PID: 1, TID: 1}]
	if sp.hi-sp.lo < 100 {
		t.Fatalf("thread span %+v", sp)
	}
	hint := int(sp.lo)
	for i := 0; i < 5000; i++ {
		if i%3 == 0 {
			hint = int(sp.lo) + rng.IntN(int(sp.hi-sp.lo)+1)
		}
		// Probes anywhere, and probes at or next to frame starts close to
		// the hint (either side), where an off-by-one would show.
		probe := rng.Int64N(fx.ends[sp.hi-1] + 50)
		if i%2 == 0 {
			at := min(max(hint+rng.IntN(9)-4, int(sp.lo)), int(sp.hi)-1)
			probe = fx.starts[at] + rng.Int64N(3) - 1
		}
		want, _ := fx.active(sp, probe, int(sp.lo), nil)
		got, next := fx.active(sp, probe, hint, nil)
		if !slices.Equal(got, want) {
			t.Fatalf("probe %d, hint %d: active %v, want %v", probe, hint, got, want)
		}
		hint = next
	}
}

// newFrameIndex orders a thread's frames with slices.SortFunc; frames
// with the same start and end must come out in the order sort.Slice (its
// former sort, the same pdqsort) gave them, as the chosen launch site can
// depend on it.
func TestFrameOrderMatchesSortSlice(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{5, 13, 50, 200, 3000} {
		for trial := 0; trial < 20; trial++ {
			fr := make([]trace.Frame, n)
			for i := range fr {
				fr[i] = trace.Frame{TS: rng.Int64N(int64(n/4 + 1)), Dur: rng.Int64N(3), Name: trace.Str(i)}
			}
			want := make([]int32, n)
			for i := range want {
				want[i] = int32(i)
			}
			sort.Slice(want, func(a, b int) bool {
				x, y := &fr[want[a]], &fr[want[b]]
				if x.TS != y.TS {
					return x.TS < y.TS
				}
				return x.TS+x.Dur > y.TS+y.Dur
			})
			for i := range fr {
				fr[i].PID, fr[i].TID = 1, 1
			}
			fx := newFrameIndex(&trace.Trace{Frames: fr})
			for p, i := range want {
				if fx.names[p] != fr[i].Name {
					t.Fatalf("n %d trial %d: position %d holds frame %d, sort.Slice put frame %d there", n, trial, p, fx.names[p], fr[i].Name)
				}
			}
		}
	}
}

// A thread's frames that come in index order already are placed in one
// pass; the index must be the one the general path builds: frames in
// trace order, each with its nearest earlier frame that ends no earlier
// as its parent.
func TestFrameIndexInOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	var fr []trace.Frame
	var ts int64
	for call := 0; call < 300; call++ {
		ts += rng.Int64N(5)
		start, dur := ts, 5+rng.Int64N(50)
		for depth := 0; depth < 4 && dur > 0; depth++ {
			fr = append(fr, trace.Frame{TS: start, Dur: dur, Name: trace.Str(len(fr)), PID: 1, TID: 1})
			start += rng.Int64N(2)
			dur -= rng.Int64N(dur/3 + 1)
		}
		ts += dur + 1
	}
	// Frames ordered by start, then end descending; ties keep trace order.
	slices.SortStableFunc(fr, func(x, y trace.Frame) int {
		if x.TS != y.TS {
			return cmp.Compare(x.TS, y.TS)
		}
		return cmp.Compare(y.TS+y.Dur, x.TS+x.Dur)
	})
	for i := range fr {
		fr[i].Name = trace.Str(i)
	}
	for _, general := range []bool{false, true} {
		frames := slices.Clone(fr)
		if general {
			// A frame of another thread sends newFrameIndex down its
			// general path; it sits at the end of the index.
			frames = append(frames, trace.Frame{TS: 1, Dur: 1, Name: trace.Str(len(fr)), PID: 1, TID: 2})
		}
		fx := newFrameIndex(&trace.Trace{Frames: frames})
		if sp := fx.threads[trace.ThreadKey{PID: 1, TID: 1}]; sp != (frameSpan{0, int32(len(fr))}) {
			t.Fatalf("general %v: span %+v", general, sp)
		}
		for p := range fr {
			want := int32(-1)
			for q := p - 1; q >= 0; q-- {
				if fr[q].TS+fr[q].Dur >= fr[p].TS+fr[p].Dur {
					want = int32(q)
					break
				}
			}
			if fx.names[p] != fr[p].Name || fx.starts[p] != fr[p].TS || fx.ends[p] != fr[p].TS+fr[p].Dur || fx.parent[p] != want {
				t.Fatalf("general %v: position %d: name %d start %d end %d parent %d, want frame %d parent %d",
					general, p, fx.names[p], fx.starts[p], fx.ends[p], fx.parent[p], fr[p].Name, want)
			}
		}
	}
}

// Enough frames in order for fillInOrder to share them out among
// goroutines: the index must equal the general path's.
func TestFrameIndexInOrderLarge(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	var fr []trace.Frame
	var ts int64
	for len(fr) < 3*minFrameRange {
		ts += rng.Int64N(5)
		start, dur := ts, 5+rng.Int64N(50)
		for depth := 0; depth < 5 && dur > 0; depth++ {
			fr = append(fr, trace.Frame{TS: start, Dur: dur, Name: trace.Str(len(fr) % 1000), PID: 1, TID: 1})
			start += rng.Int64N(2)
			dur -= rng.Int64N(dur/3 + 1)
		}
		ts += dur + 1
	}
	fast := newFrameIndex(&trace.Trace{Frames: fr})
	general := newFrameIndex(&trace.Trace{Frames: append(slices.Clone(fr), trace.Frame{TS: 1, Dur: 1, PID: 1, TID: 2})})
	n := len(fr)
	if fast.threads[trace.ThreadKey{PID: 1, TID: 1}] != (frameSpan{0, int32(n)}) ||
		!slices.Equal(fast.names, general.names[:n]) || !slices.Equal(fast.starts, general.starts[:n]) ||
		!slices.Equal(fast.ends, general.ends[:n]) || !slices.Equal(fast.parent, general.parent[:n]) {
		t.Fatal("the index of frames in order differs from the general path's")
	}
	// One frame out of order in the last range sends it down the
	// general path, which sorts it into place.
	fr[n-2], fr[n-1] = fr[n-1], fr[n-2]
	if fr[n-2].TS == fr[n-1].TS && fr[n-2].Dur == fr[n-1].Dur {
		t.Skip("swapped two equal frames")
	}
	swapped := newFrameIndex(&trace.Trace{Frames: fr})
	if !slices.Equal(swapped.starts, fast.starts) || !slices.Equal(swapped.ends, fast.ends) {
		t.Fatal("frames out of order were not sorted back into place")
	}
}

package analyzer

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/tracetriage/tracetriage/analyzer/overlap"
)

// busyNS skips its sort when the kernels are in start order already; the
// sort must indeed leave such a list, ties included, as it is, or the
// overlap analysis would see another order.
func TestBusySortSkippedOnlyWhereItChangesNothing(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, n := range []int{3, 40, 1000} {
		ks := make([]overlap.Kernel, n)
		var ts int64
		for i := range ks {
			ts += rng.Int64N(3) // ties are common
			ks[i] = overlap.Kernel{Name: string(rune('a' + i%26)), Start: ts, End: ts + rng.Int64N(5)}
		}
		sorted := slices.Clone(ks)
		slices.SortFunc(sorted, func(a, b overlap.Kernel) int { return cmp.Compare(a.Start, b.Start) })
		if !slices.Equal(sorted, ks) {
			t.Fatalf("n %d: the sort reorders kernels already in start order", n)
		}
		s := &stageAgg{kernels: slices.Clone(ks)}
		var want int64
		for _, iv := range ks { // the union of the spans, by brute force
			want += iv.End - iv.Start
		}
		if got := s.busyNS(); got <= 0 || got > want || !slices.Equal(s.kernels, ks) {
			t.Fatalf("n %d: busyNS %d (sum of spans %d), kernels reordered: %v", n, got, want, !slices.Equal(s.kernels, ks))
		}
	}
}

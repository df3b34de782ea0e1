package analyzer

import (
	"slices"
	"testing"

	"github.com/tracetriage/tracetriage/analyzer/trace"
)

// TestKeyedIndex checks both forms of the index (dense ids looked up by
// offset, sparse ids by binary search) against a plain scan.
func TestKeyedIndex(t *testing.T) {
	tests := []struct {
		name  string
		ids   []int64
		dense bool
	}{
		{name: "dense with gaps and repeats", ids: []int64{7, 5, 5, 9, trace.NoID, 12, 5, 8}, dense: true},
		{name: "sparse", ids: []int64{1, 1 << 40, 3, 1 << 40, trace.NoID}, dense: false},
		{name: "negative ids", ids: []int64{-3, -1, -3}, dense: false},
		{name: "empty", ids: nil, dense: false},
		{name: "all NoID", ids: []int64{trace.NoID, trace.NoID}, dense: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// ts descends with i, so each group is in reverse index order.
			ts := func(i int) int64 { return int64(100 - i) }
			x := newKeyedIndex(len(tt.ids), func(i int) (int64, int64) { return tt.ids[i], ts(i) })
			if got := x.start != nil; got != tt.dense {
				t.Errorf("dense form = %v, want %v", got, tt.dense)
			}
			probes := append([]int64{0, 4, 6, 10, 11, 13, 1<<40 + 1, -2}, tt.ids...)
			for _, k := range probes {
				var want []int32
				for i := len(tt.ids) - 1; i >= 0; i-- {
					if tt.ids[i] == k && k != trace.NoID {
						want = append(want, int32(i))
					}
				}
				if got := x.get(k); !slices.Equal(got, want) {
					t.Errorf("get(%d) = %v, want %v", k, got, want)
				}
			}
		})
	}
}

// Entries that come in (id, start) order already skip the sort; groups
// must still list their events by start, then index.
func TestKeyedIndexInOrder(t *testing.T) {
	ids := []int64{1, 1, 2, 3, 3, 3, 5}
	ts := []int64{10, 10, 4, 7, 7, 9, 1}
	x := newKeyedIndex(len(ids), func(i int) (int64, int64) { return ids[i], ts[i] })
	for k, want := range map[int64][]int32{1: {0, 1}, 2: {2}, 3: {3, 4, 5}, 4: nil, 5: {6}} {
		if got := x.get(k); !slices.Equal(got, want) {
			t.Errorf("get(%d) = %v, want %v", k, got, want)
		}
	}
}

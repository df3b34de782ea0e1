package overlap

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"strconv"
	"testing"
)

// kn builds a kernel from microsecond times.
func kn(name, stream string, startUS, endUS float64) Kernel {
	return Kernel{Name: name, Stream: stream, Start: int64(math.Round(startUS * 1000)), End: int64(math.Round(endUS * 1000))}
}

// split is the expected hidden/exclusive/hidden-by-compute split of one
// kernel, in µs.
type split struct{ hidden, excl, hbc float64 }

func TestSweep(t *testing.T) {
	const (
		gemm = "gemm_kernel"          // compute
		ew   = "elementwise_kernel"   // elementwise
		ar   = "nccl_allreduce"       // communication
		cp   = "Memcpy DtoD (D -> D)" // memory
	)
	tests := []struct {
		name       string
		kernels    []Kernel
		want       []split // per kernel
		busy       float64
		concurrent float64
		maxStreams int
	}{
		{
			name:       "same stream never hides, even overlapping",
			kernels:    []Kernel{kn(gemm, "s1", 0, 10), kn(ew, "s1", 5, 15)},
			want:       []split{{0, 10, 0}, {0, 10, 0}},
			busy:       15,
			maxStreams: 1,
		},
		{
			name:       "partial overlap across streams",
			kernels:    []Kernel{kn(gemm, "s1", 0, 10), kn(ar, "s2", 6, 20)},
			want:       []split{{4, 6, 0}, {4, 10, 4}},
			busy:       20,
			concurrent: 4,
			maxStreams: 2,
		},
		{
			name:       "ties: back-to-back kernels on two streams do not overlap",
			kernels:    []Kernel{kn(gemm, "s1", 0, 10), kn(ar, "s2", 10, 20), kn(ew, "s1", 20, 25)},
			want:       []split{{0, 10, 0}, {0, 10, 0}, {0, 5, 0}},
			busy:       25,
			maxStreams: 1,
		},
		{
			name:       "nested interval",
			kernels:    []Kernel{kn(ar, "s1", 0, 100), kn(gemm, "s2", 20, 40)},
			want:       []split{{20, 80, 20}, {20, 0, 0}},
			busy:       100,
			concurrent: 20,
			maxStreams: 2,
		},
		{
			name: "zero-length and negative kernels take no part and never stay active",
			kernels: []Kernel{
				kn(ar, "s1", 0, 10), kn(gemm, "s2", 5, 5), kn(gemm, "s2", 8, 7),
				kn(ew, "s1", 20, 30), kn(ew, "s3", 30, 30),
			},
			want:       []split{{0, 10, 0}, {0, 0, 0}, {0, 0, 0}, {0, 10, 0}, {0, 0, 0}},
			busy:       20,
			maxStreams: 1,
		},
		{
			name: "hidden by compute needs compute on another stream",
			kernels: []Kernel{
				kn(gemm, "s1", 0, 10), kn(gemm, "s1", 0, 10), // two computes on s1 only
				kn(cp, "s2", 0, 10),
			},
			want:       []split{{10, 0, 0}, {10, 0, 0}, {10, 0, 10}},
			busy:       10,
			concurrent: 10,
			maxStreams: 2,
		},
		{
			name: "three streams",
			kernels: []Kernel{
				kn(gemm, "s1", 0, 30), kn(gemm, "s2", 10, 20), kn(ar, "s3", 15, 40),
			},
			// s1: [0,10) alone, [10,30) with others; s2 all hidden (s1),
			// 5 us by compute on s1 ... s3: [15,30) hidden (s1, compute),
			// [30,40) alone.
			want:       []split{{20, 10, 10}, {10, 0, 10}, {15, 10, 15}},
			busy:       40,
			concurrent: 20,
			maxStreams: 3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cats := make([]string, len(tt.kernels))
			for i, k := range tt.kernels {
				cats[i] = Classify(k.Name)
			}
			sw := sweep(tt.kernels, cats)
			for i, w := range tt.want {
				got := split{us(sw.hidden[i]), us(sw.excl[i]), us(sw.hiddenByCompute[i])}
				if got != w {
					t.Errorf("kernel %d (%s on %s): hidden/exclusive/by-compute = %v, want %v",
						i, tt.kernels[i].Name, tt.kernels[i].Stream, got, w)
				}
			}
			if us(sw.busy) != tt.busy || us(sw.concurrent) != tt.concurrent || sw.maxStreams != tt.maxStreams {
				t.Errorf("busy/concurrent/max streams = %v/%v/%d, want %v/%v/%d",
					us(sw.busy), us(sw.concurrent), sw.maxStreams, tt.busy, tt.concurrent, tt.maxStreams)
			}
			// The analysis agrees with the breakdown on busy and
			// concurrent time.
			b := BreakdownOf(tt.kernels)
			if b.BusyUS != tt.busy || b.ConcurrentUS != tt.concurrent {
				t.Errorf("breakdown busy/concurrent = %v/%v, want %v/%v", b.BusyUS, b.ConcurrentUS, tt.busy, tt.concurrent)
			}
		})
	}
}

func TestAnalyzeFamilies(t *testing.T) {
	kernels := []Kernel{
		{Name: "nccl_allreduce", Stream: "comm", Start: 0, End: 10_000, Scope: "python/x/comm.py:10 all_reduce", LaunchOp: "c10d::allreduce_"},
		{Name: "gemm_kernel", Stream: "main", Start: 2_000, End: 6_000, Scope: "python/x/linear.py:5 forward"},
		{Name: "rms_norm_kernel", Stream: "main", Start: 6_000, End: 8_000},
		{Name: "nccl_allreduce", Stream: "comm", Start: 20_000, End: 40_000, Scope: "python/x/comm.py:10 all_reduce"},
		{Name: "nccl_allreduce", Stream: "comm", Start: 50_000, End: 60_000, Scope: "python/x/other.py:3 f"},
		{Name: "gemm_kernel", Stream: "main", Start: 45_000, End: 55_000, Scope: "python/x/linear.py:5 forward"},
	}
	res := Analyze(kernels, Options{})
	if len(res.Families) != 3 {
		t.Fatalf("families = %d, want 3", len(res.Families))
	}
	ar := res.Families[0]
	if ar.Name != "nccl_allreduce" || ar.Category != Communication || ar.Launches != 3 {
		t.Fatalf("first family = %+v, want nccl_allreduce, communication, 3 launches", ar)
	}
	// 40 us in all; hidden: 2..8 under gemm/norm (6 us) and 50..55 (5 us).
	if ar.TotalUS != 40 || ar.HiddenUS != 11 || ar.ExclusiveUS != 29 || ar.HiddenByComputeUS != 9 {
		t.Errorf("allreduce total/hidden/exclusive/by-compute = %v/%v/%v/%v, want 40/11/29/9",
			ar.TotalUS, ar.HiddenUS, ar.ExclusiveUS, ar.HiddenByComputeUS)
	}
	if ar.OverlappedWith != "gemm_kernel" || ar.OverlappedWithUS != 9 {
		t.Errorf("overlapped with %q for %v us, want gemm_kernel for 9", ar.OverlappedWith, ar.OverlappedWithUS)
	}
	if ar.Representative != 3 {
		t.Errorf("representative = %d, want 3 (the longest launch)", ar.Representative)
	}
	if ar.Scope != "python/x/comm.py:10 all_reduce" || ar.LaunchOp != "c10d::allreduce_" {
		t.Errorf("scope/launch op = %q/%q", ar.Scope, ar.LaunchOp)
	}
	norm := res.Families[2]
	if norm.Name != "rms_norm_kernel" || norm.Scope != Unmapped || norm.LaunchOp != NoLaunchOp {
		t.Errorf("norm family = %+v, want unmapped scope and n/a launch op", norm)
	}
	if norm.OverlappedWith != "nccl_allreduce" {
		t.Errorf("norm overlapped with %q, want nccl_allreduce", norm.OverlappedWith)
	}
	for _, f := range res.Families {
		if math.Abs(f.HiddenUS+f.ExclusiveUS-f.TotalUS) > 1e-9 {
			t.Errorf("%s: hidden %v + exclusive %v != total %v", f.Name, f.HiddenUS, f.ExclusiveUS, f.TotalUS)
		}
	}
	if res.BusyUS != 45 { // [0,10) + [20,40) + [45,60)
		t.Errorf("busy = %v, want 45", res.BusyUS)
	}
}

func TestDominantOverlapperPrefersCategoryThenLength(t *testing.T) {
	kernels := []Kernel{
		kn("nccl_allreduce", "comm", 0, 100),
		kn("silu_kernel", "s1", 0, 90),  // elementwise, longer
		kn("gemm_kernel", "s2", 10, 20), // compute wins while active
		kn("gemm_big_kernel", "s2", 30, 80),
	}
	res := Analyze(kernels, Options{})
	for _, f := range res.Families {
		if f.Name != "nccl_allreduce" {
			continue
		}
		// gemm_big dominates 50 us, gemm 10 us, silu the other 30.
		if f.OverlappedWith != "gemm_big_kernel" || f.OverlappedWithUS != 50 {
			t.Errorf("overlapped with %q for %v us, want gemm_big_kernel for 50", f.OverlappedWith, f.OverlappedWithUS)
		}
		return
	}
	t.Fatal("no nccl_allreduce family")
}

func TestAnalyzeEmpty(t *testing.T) {
	res := Analyze(nil, Options{})
	if res.Rows == nil || len(res.Rows) != 0 || len(res.Families) != 0 || res.BusyUS != 0 {
		t.Errorf("Analyze(nil) = %+v, want empty non-nil rows", res)
	}
	if s := Timeline(nil, 0, TimelineOptions{}); s != "No kernel to centre the timeline on." {
		t.Errorf("Timeline(nil) = %q", s)
	}
}

// BenchmarkAnalyze measures the analysis of a large synthetic stage:
// 200k kernels on a compute stream, 20k on a communication stream and
// 20k copies, partly overlapping.
func BenchmarkAnalyze(b *testing.B) {
	var ks []Kernel
	names := []string{"gemm_kernel", "rmsnorm_kernel", "silu_kernel", "flash_fwd_kernel", "store_kvcache_kernel"}
	for i := range 200_000 {
		start := int64(i) * 10_000
		ks = append(ks, Kernel{Name: names[i%len(names)], Stream: "7", Start: start, End: start + 8_000,
			Scope: "python/m/model.py:1 forward"})
		if i%10 == 0 {
			ks = append(ks, Kernel{Name: "ncclDevKernel_AllReduce", Stream: "13", Start: start + 5_000, End: start + 25_000})
			ks = append(ks, Kernel{Name: "Memcpy DtoD (Device -> Device)", Stream: "20", Start: start + 1_000, End: start + 3_000})
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		res := Analyze(ks, Options{})
		if len(res.Rows) == 0 {
			b.Fatal("no rows")
		}
	}
}

func TestResultJSONFields(t *testing.T) {
	res := Analyze(rowsFixture(), Options{})
	data, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		BusyUS               *float64         `json:"busy_us"`
		ConcurrentUS         *float64         `json:"concurrent_us"`
		MaxConcurrentStreams *int             `json:"max_concurrent_streams"`
		Families             []map[string]any `json:"families"`
		Rows                 []map[string]any `json:"rows"`
		Breakdown            map[string]any   `json:"breakdown"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if m.BusyUS == nil || *m.BusyUS != 680 || m.ConcurrentUS == nil || m.MaxConcurrentStreams == nil ||
		len(m.Families) != 7 || len(m.Rows) != 5 || m.Breakdown["busy_us"] != 680.0 {
		t.Fatalf("result JSON = %s", data)
	}
	for _, key := range []string{"name", "category", "launches", "total_us", "hidden_us", "exclusive_us",
		"hidden_by_compute_us", "scope", "launch_op", "representative"} {
		if _, ok := m.Families[0][key]; !ok {
			t.Errorf("family JSON lacks %q: %v", key, m.Families[0])
		}
	}
	// The silu family is hidden by the GEMM: its dominant overlapper shows.
	for _, f := range m.Families {
		if f["name"] == "silu_kernel" && (f["overlapped_with"] != "gemm_kernel" || f["overlapped_with_us"] != 100.0) {
			t.Errorf("silu family JSON = %v", f)
		}
	}
}

// The sweep cuts its points into chunks swept on several goroutines; the
// result must not depend on the cut, whatever is active at the chunks'
// edges.
func TestSweepIndependentOfChunks(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	names := []string{"gemm_kernel", "ncclKernel_AllReduce", "silu_kernel", "Memcpy DtoD", "mystery"}
	kernels := make([]Kernel, 2000)
	for i := range kernels {
		start := rng.Int64N(20000)
		kernels[i] = Kernel{Name: names[rng.IntN(len(names))], Stream: strconv.Itoa(rng.IntN(4)),
			Start: start, End: start + rng.Int64N(300) - 20}
	}
	cats, _ := classifyAll(kernels)
	want := sweepIn(kernels, cats, 1)
	if want.concurrent == 0 || len(want.overlapWith) == 0 {
		t.Fatal("fixture has no concurrency")
	}
	for _, parts := range []int{2, 3, 7, 64, 5000} {
		got := sweepIn(kernels, cats, parts)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%d chunks: busy %d/%d concurrent %d/%d max streams %d/%d, or per-kernel figures or overlappers differ",
				parts, got.busy, want.busy, got.concurrent, want.concurrent, got.maxStreams, want.maxStreams)
		}
	}
}

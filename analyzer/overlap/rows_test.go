package overlap

import (
	"cmp"
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestPriority(t *testing.T) {
	tests := []struct {
		verdict, category, risk string
		share                   float64
		wantP, wantRec          string
	}{
		{VerdictHeadroom, Communication, RiskLow, 5, "P1", "try overlap"},
		{VerdictHeadroom, Memory, RiskLow, 5, "P1", "try fusion"},
		{VerdictHeadroom, Compute, RiskLow, 5, "P1", "try fusion"},
		{VerdictHeadroom, Communication, RiskHigh, 5, "P2", "check deps"},
		{VerdictHeadroom, Elementwise, RiskUnclear, 5, "P2", "check deps"},
		{VerdictLowROIHidden, Elementwise, RiskLow, 5, "P4", "skip"},
		{VerdictLowROIHidden, Memory, RiskHigh, 5, "P4", "skip"},
		{VerdictHeadroom, Communication, RiskLow, 0.99, "P5", "skip"},
	}
	for _, tt := range tests {
		p, rec := priority(tt.verdict, tt.category, tt.risk, tt.share)
		if p != tt.wantP || rec != tt.wantRec {
			t.Errorf("priority(%s, %s, %s, %v) = %s/%s, want %s/%s",
				tt.verdict, tt.category, tt.risk, tt.share, p, rec, tt.wantP, tt.wantRec)
		}
	}
}

func TestRiskLabel(t *testing.T) {
	for signal, want := range map[string]string{
		SignalBoth: RiskHigh, SignalPrev: RiskHigh, SignalNext: RiskHigh,
		SignalUnclear: RiskUnclear, SignalLow: RiskLow,
	} {
		if got := RiskLabel(signal); got != want {
			t.Errorf("RiskLabel(%q) = %q, want %q", signal, got, want)
		}
	}
}

func TestSameScopeFamily(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"python/sglang/srt/layers/linear.py:10 forward", "python/sglang/srt/layers/linear.py:99 other", true},
		{"python/sglang/srt/a.py:10 forward", "python/sglang/srt/b.py:20 forward", true},
		{"python/sglang/srt/a.py:10 forward", "python/sglang/srt/b.py:20 backward", false},
		{"vllm/a.py(10): forward", "vllm/a.py:12 other", true},
		{Unmapped, Unmapped, false},
		{"", "x.py:1 f", false},
	}
	for _, tt := range tests {
		if got := sameScopeFamily(tt.a, tt.b); got != tt.want {
			t.Errorf("sameScopeFamily(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestDepSignal(t *testing.T) {
	const (
		scopeA = "python/m/attn.py:10 forward"
		scopeB = "python/m/mlp.py:20 run"
	)
	k := func(name string, start, end float64, scope, op string) Kernel {
		kk := kn(name, "s", start, end)
		kk.Scope, kk.LaunchOp = scope, op
		return kk
	}
	tests := []struct {
		name    string
		kernels []Kernel // all on one stream; the centre is index 1 (or 0 alone)
		center  int
		want    string
	}{
		{"alone", []Kernel{k("gemm_a", 0, 10, scopeA, "")}, 0, SignalLow},
		{"prev tight, same path",
			[]Kernel{k("gemm_x", 0, 10, "python/m/attn.py:5 prep", ""), k("gemm_a", 11, 21, scopeA, ""), k("gemm_y", 100, 110, scopeB, "")},
			1, SignalPrev},
		{"next tight, same launch op",
			[]Kernel{k("gemm_x", 0, 10, scopeB, ""), k("gemm_a", 50, 60, scopeA, "aten::mm"), k("gemm_y", 61, 70, scopeB, "aten::mm")},
			1, SignalNext},
		{"both tight, same function",
			[]Kernel{k("gemm_x", 0, 10, "python/m/x.py:1 forward", ""), k("gemm_a", 10, 20, scopeA, ""), k("gemm_y", 21, 30, "python/m/y.py:1 forward", "")},
			1, SignalBoth},
		{"communication next to compute is dependency-like",
			[]Kernel{k("gemm_x", 0, 10, scopeB, ""), k("nccl_allreduce", 11, 21, scopeA, ""), k("gemm_y", 100, 110, scopeB, "")},
			1, SignalPrev},
		{"compute next to compute with other scopes is low",
			[]Kernel{k("gemm_x", 0, 10, scopeB, ""), k("gemm_a", 10, 20, scopeA, ""), k("gemm_y", 20, 30, scopeB, "")},
			1, SignalLow},
		{"tight but unmapped neighbour is unclear",
			[]Kernel{k("gemm_x", 0, 10, "", ""), k("gemm_a", 10, 20, scopeA, ""), k("gemm_y", 100, 110, scopeB, "")},
			1, SignalUnclear},
		{"overlapping neighbour: gap clipped at 0 is tight",
			[]Kernel{k("gemm_x", 0, 15, "python/m/attn.py:1 f", ""), k("gemm_a", 10, 20, scopeA, ""), k("gemm_y", 100, 110, scopeB, "")},
			1, SignalPrev},
		{"gap above max(2, 0.15 dur) is not tight",
			[]Kernel{k("gemm_x", 0, 10, scopeA, ""), k("gemm_a", 26, 126, scopeA, ""), k("gemm_y", 142, 150, scopeA, "")},
			1, SignalLow},
		{"gap at 0.15 dur is tight",
			[]Kernel{k("gemm_x", 0, 10, scopeA, ""), k("gemm_a", 25, 125, scopeA, ""), k("gemm_y", 200, 210, scopeA, "")},
			1, SignalPrev},
		{"elementwise next to other is not dependency-like",
			[]Kernel{k("mystery_kernel", 0, 10, scopeB, ""), k("silu_kernel", 10, 20, scopeA, ""), k("gemm_y", 100, 110, scopeB, "")},
			1, SignalLow},
		{"elementwise next to memory is dependency-like",
			[]Kernel{k("Memcpy DtoD", 0, 10, scopeB, ""), k("silu_kernel", 10, 20, scopeA, ""), k("gemm_y", 100, 110, scopeB, "")},
			1, SignalPrev},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := Analyze(tt.kernels, Options{})
			famOf := map[string]*Family{}
			for i := range res.Families {
				famOf[res.Families[i].Name] = &res.Families[i]
			}
			cats := make([]string, len(tt.kernels))
			for i, kk := range tt.kernels {
				cats[i] = Classify(kk.Name)
			}
			nb := neighboursOf(tt.kernels, streamIDs(tt.kernels), []int{tt.center})[0]
			got := depSignal(tt.center, tt.kernels, cats, nb, famOf)
			if got.signal != tt.want {
				t.Errorf("signal = %q, want %q (prev %+v, next %+v)", got.signal, tt.want, got.prev, got.next)
			}
		})
	}
}

// rowsFixture is a two-stream stage: a main stream with GEMMs, a norm,
// copies and an unknown kernel, and a communication stream. Numbers are
// chosen so that each selection rule decides one row.
func rowsFixture() []Kernel {
	var ks []Kernel
	add := func(name, stream string, start, end float64, scope string) {
		k := kn(name, stream, start, end)
		k.Scope = scope
		ks = append(ks, k)
	}
	// Communication alone on its stream, exposed: 100 us exclusive.
	add("nccl_allreduce", "comm", 0, 100, "python/m/comm.py:1 all_reduce")
	// Memory exposed 120 us (× 1.15 = 138 > 130 for comm).
	add("Memcpy DtoD (Device -> Device)", "main", 200, 320, "python/m/cache.py:3 store")
	// Compute exposed 400 us: ranks after non-compute rows.
	add("gemm_kernel", "main", 400, 800, "python/m/linear.py:7 forward")
	// Elementwise fully hidden by a compute kernel on another stream.
	add("silu_kernel", "side", 450, 550, "python/m/act.py:9 forward")
	// Unknown kernel, exposed 50 us: headroom "other".
	add("mystery_kernel", "main", 900, 950, "")
	// Tiny family below 1% share (4 us of ~1000 busy is 0.4%; also < 5 us).
	add("tiny_copy_kernel", "main", 1000, 1004, "")
	// Small exposed family between 5 us and 1% share: 6 us of busy.
	add("small_fill_kernel", "main", 1010, 1016, "")
	return ks
}

func TestSelectRows(t *testing.T) {
	res := Analyze(rowsFixture(), Options{})
	var got []string
	for _, r := range res.Rows {
		got = append(got, r.Verdict+" "+r.Kernel+" "+r.Category+" "+r.Priority+" "+r.Recommendation)
	}
	want := []string{
		"headroom Memcpy DtoD (Device -> Device) memory P1 try fusion",
		"headroom nccl_allreduce communication P1 try overlap",
		"headroom mystery_kernel other P1 try fusion",
		"headroom gemm_kernel compute P1 try fusion",
		"low-roi-hidden silu_kernel elementwise P4 skip",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	silu := res.Rows[4]
	if silu.HiddenPct != 100 || silu.ExclusivePct != 0 || silu.HiddenByComputeUS != 100 || silu.OverlappedWith != "gemm_kernel" {
		t.Errorf("silu row = %+v, want 100%% hidden by gemm_kernel", silu)
	}
	if silu.Scope != "python/m/act.py:9 forward" {
		t.Errorf("silu scope = %q", silu.Scope)
	}
	if res.Rows[2].Scope != Unmapped {
		t.Errorf("mystery scope = %q, want unmapped", res.Rows[2].Scope)
	}
	// Busy time: 100 + 120 + 400 + 50 + 4 + 6 = 680 us.
	if res.BusyUS != 680 {
		t.Fatalf("busy = %v, want 680", res.BusyUS)
	}
	gemm := res.Rows[3]
	if math.Abs(gemm.SharePct-100*400.0/680) > 1e-9 || gemm.ExclusivePct != 75 || gemm.HiddenPct != 25 {
		t.Errorf("gemm share/excl/hid = %v/%v/%v", gemm.SharePct, gemm.ExclusivePct, gemm.HiddenPct)
	}
	if fs := gemm.FormalSignal(); fs != "400.0 us, share 58.8%, excl 75.0% / hid 25.0%" {
		t.Errorf("formal signal = %q", fs)
	}
	if gemm.Representative != 2 {
		t.Errorf("gemm representative = %d, want 2", gemm.Representative)
	}
	for _, r := range res.Rows {
		if r.SharePct < MinSharePct {
			t.Errorf("row %s has share %.2f%% below the cut", r.Kernel, r.SharePct)
		}
	}

	limited := Analyze(rowsFixture(), Options{Limit: 2})
	if len(limited.Rows) != 2 || limited.Rows[0].Kernel != res.Rows[0].Kernel || limited.Rows[1].Kernel != res.Rows[1].Kernel {
		t.Errorf("Limit 2 rows = %+v", limited.Rows)
	}
}

func TestSelectRowsCapsEachVerdictAtFive(t *testing.T) {
	var ks []Kernel
	// Seven exposed communication families, one after the other.
	for i := range 7 {
		start := float64(i * 100)
		ks = append(ks, kn("nccl_kernel_"+string(rune('a'+i)), "comm", start, start+float64(10+i*10)))
	}
	res := Analyze(ks, Options{})
	if len(res.Rows) != 5 {
		t.Fatalf("rows = %d, want 5", len(res.Rows))
	}
	// Largest exclusive time first.
	if res.Rows[0].Kernel != "nccl_kernel_g" || res.Rows[4].Kernel != "nccl_kernel_c" {
		t.Errorf("order = %s .. %s, want nccl_kernel_g .. nccl_kernel_c", res.Rows[0].Kernel, res.Rows[4].Kernel)
	}
}

func TestRowJSONFields(t *testing.T) {
	res := Analyze(rowsFixture(), Options{})
	data, err := json.Marshal(res.Rows[0])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	// The fields of the analysis document's overlap row, plus the
	// numbers behind the formal and dependency signals.
	for _, key := range []string{
		"priority", "verdict", "kernel", "category", "scope", "gpu_time_us", "share_pct",
		"exclusive_pct", "hidden_pct", "dep_risk", "recommendation",
		"launches", "exclusive_us", "hidden_us", "hidden_by_compute_us", "launch_op", "dep_signal", "representative",
	} {
		if _, ok := m[key]; !ok {
			t.Errorf("row JSON lacks %q: %s", key, data)
		}
	}
	if m["priority"] != "P1" || m["verdict"] != "headroom" || m["dep_risk"] != "low" {
		t.Errorf("row JSON = %s", data)
	}
}

// neighboursOf scans the kernels once for all representatives; it must
// agree with ordering every stream by (start, end, index).
func TestNeighboursMatchOrderedStreams(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var kernels []Kernel
	for i := 0; i < 300; i++ {
		start := rng.Int64N(50)
		kernels = append(kernels, Kernel{Name: "k", Stream: strconv.Itoa(rng.IntN(4)), Start: start, End: start + rng.Int64N(5)})
	}
	sid := streamIDs(kernels)
	byStream := map[string][]int{}
	for i, k := range kernels {
		byStream[k.Stream] = append(byStream[k.Stream], i)
	}
	want := make([][2]int, len(kernels))
	for _, idx := range byStream {
		slices.SortFunc(idx, func(a, b int) int {
			if c := cmp.Compare(kernels[a].Start, kernels[b].Start); c != 0 {
				return c
			}
			if c := cmp.Compare(kernels[a].End, kernels[b].End); c != 0 {
				return c
			}
			return cmp.Compare(a, b)
		})
		for p, i := range idx {
			want[i] = [2]int{-1, -1}
			if p > 0 {
				want[i][0] = idx[p-1]
			}
			if p+1 < len(idx) {
				want[i][1] = idx[p+1]
			}
		}
	}
	all := make([]int, len(kernels))
	for i := range all {
		all[i] = i
	}
	for _, reps := range [][]int{all, {0}, {17, 3, 17, 250}, nil} {
		for r, got := range neighboursOf(kernels, sid, reps) {
			if got != want[reps[r]] {
				t.Fatalf("neighboursOf(%v): kernel %d: %v, want %v", reps, reps[r], got, want[reps[r]])
			}
		}
	}
}

// streamIDs numbers the kernels' streams as the sweep does.
func streamIDs(kernels []Kernel) []int32 {
	ids := map[string]int32{}
	sid := make([]int32, len(kernels))
	for i, k := range kernels {
		if _, ok := ids[k.Stream]; !ok {
			ids[k.Stream] = int32(len(ids))
		}
		sid[i] = ids[k.Stream]
	}
	return sid
}

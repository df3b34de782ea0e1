package overlap

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run go test -update after checking):\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

// breakdownFixture: main stream gemm [0,40), silu [50,60), mystery
// [60,70); comm stream all-reduce [30,80); copy stream memcpy [90,100).
func breakdownFixture() []Kernel {
	return []Kernel{
		kn("gemm_kernel", "main", 0, 40),
		kn("silu_kernel", "main", 50, 60),
		kn("mystery_kernel", "main", 60, 70),
		kn("nccl_allreduce", "comm", 30, 80),
		launchedAt(kn("Memcpy HtoD (Pinned -> Device)", "copy", 90, 100), 85),
	}
}

// launchedAt gives k a launch call that began at us microseconds.
func launchedAt(k Kernel, us float64) Kernel {
	k.Launch = int64(us * 1000)
	return k
}

func TestBreakdown(t *testing.T) {
	twoThirds := 20.0 / 30 // computed at run time, like the code under test
	tests := []struct {
		name    string
		kernels []Kernel
		want    Breakdown
	}{
		{
			name:    "mixed",
			kernels: breakdownFixture(),
			want: Breakdown{
				SpanUS: 100, BusyUS: 90, IdleUS: 10, BusyPct: 90, KernelTimeUS: 120, ConcurrentUS: 30, Streams: 3,
				IdleHostUS: 5, IdleQueuedUS: 5, IdleHostBySite: []IdleSite{{Scope: "", IdleUS: 5, Gaps: 1}},
				ComputeUS: 50, CommunicationUS: 50, MemoryUS: 10, OtherUS: 10,
				ExposedCommunicationUS: 20, CommunicationKernelUS: 50, CommunicationOverlappedUS: 30,
				CommunicationOverlappedPct: 60,
			},
		},
		{
			name: "memcpy does not hide communication, a copy kernel does",
			kernels: []Kernel{
				kn("nccl_allreduce", "comm", 0, 10),
				kn("Memcpy DtoD (Device -> Device)", "copy", 0, 10),
				kn("nccl_allgather", "comm", 20, 30),
				kn("CatArrayBatchedCopy", "main", 25, 30),
			},
			want: Breakdown{
				SpanUS: 30, BusyUS: 20, IdleUS: 10, BusyPct: 100 * twoThirds, KernelTimeUS: 35, ConcurrentUS: 15, Streams: 3,
				CommunicationUS: 20, MemoryUS: 15,
				ExposedCommunicationUS: 15, CommunicationKernelUS: 20, CommunicationOverlappedUS: 5,
				CommunicationOverlappedPct: 25,
			},
		},
		{
			name: "computation on the same stream is not overlap, but hides comm in wall-clock terms",
			kernels: []Kernel{
				kn("nccl_allreduce", "s", 0, 10),
				kn("gemm_kernel", "s", 5, 15),
			},
			want: Breakdown{
				SpanUS: 15, BusyUS: 15, BusyPct: 100, KernelTimeUS: 20, Streams: 1,
				ComputeUS: 10, CommunicationUS: 10, ExposedCommunicationUS: 5,
				CommunicationKernelUS: 10,
			},
		},
		{name: "empty", kernels: nil, want: Breakdown{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := BreakdownOf(tt.kernels)
			if tt.want.IdleHostBySite == nil {
				tt.want.IdleHostBySite = []IdleSite{}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("BreakdownOf =\n%+v\nwant\n%+v", got, tt.want)
			}
			if res := Analyze(tt.kernels, Options{}); !reflect.DeepEqual(res.Breakdown, got) {
				t.Errorf("Analyze's breakdown %+v differs from BreakdownOf %+v", res.Breakdown, got)
			}
		})
	}
}

func TestWriteBreakdownTable(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteBreakdownTable(&buf, BreakdownOf(breakdownFixture())); err != nil {
		t.Fatal(err)
	}
	// A stage in milliseconds too.
	big := breakdownFixture()
	for i := range big {
		big[i].Start *= 1000
		big[i].End *= 1000
	}
	buf.WriteString("\n")
	if err := WriteBreakdownTable(&buf, BreakdownOf(big)); err != nil {
		t.Fatal(err)
	}
	golden(t, "breakdown_table.golden", buf.Bytes())
}

func TestBreakdownJSONFields(t *testing.T) {
	data, err := json.Marshal(BreakdownOf(breakdownFixture()))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(m["idle_host_by_site"]), "[map[gaps:1 idle_us:5 scope:]]"; got != want {
		t.Errorf("JSON idle_host_by_site = %s, want %s", got, want)
	}
	delete(m, "idle_host_by_site")
	want := map[string]float64{
		"span_us": 100, "busy_us": 90, "idle_us": 10, "busy_pct": 90, "kernel_time_us": 120,
		"idle_host_us": 5, "idle_queued_us": 5,
		"concurrent_us": 30, "streams": 3, "compute_us": 50, "communication_us": 50,
		"memory_us": 10, "other_us": 10, "exposed_communication_us": 20,
		"communication_kernel_us": 50, "communication_overlapped_us": 30,
		"communication_overlapped_pct": 60,
	}
	for k, v := range want {
		if got, ok := m[k].(float64); !ok || got != v {
			t.Errorf("JSON %q = %v (present %v), want %v", k, got, ok, v)
		}
	}
	if len(m) != len(want) {
		t.Errorf("JSON has %d fields, want %d: %s", len(m), len(want), data)
	}
}

func TestFormatUS(t *testing.T) {
	for in, want := range map[float64]string{0: "0.0 us", 999.94: "999.9 us", 1000: "1.00 ms", 123456: "123.46 ms"} {
		if got := FormatUS(in); got != want {
			t.Errorf("FormatUS(%v) = %q, want %q", in, got, want)
		}
	}
}

// coverCursor finds its place from the previous span; it must give what
// a plain count gives for spans in any order.
func TestCoverCursor(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	var ivs []interval
	for i := 0; i < 300; i++ {
		s := rng.Int64N(10000)
		ivs = append(ivs, interval{s, s + rng.Int64N(60)})
	}
	u := union(ivs)
	c := coverCursor{u: u}
	a := int64(0)
	for i := 0; i < 3000; i++ {
		if i%7 == 0 {
			a = rng.Int64N(10100) // now and then back
		} else {
			a += rng.Int64N(40)
		}
		b := a + rng.Int64N(200)
		var want int64
		for _, iv := range u {
			if lo, hi := max(a, iv.start), min(b, iv.end); hi > lo {
				want += hi - lo
			}
		}
		if got := c.covered(a, b); got != want {
			t.Fatalf("span [%d, %d): covered %d, want %d", a, b, got, want)
		}
	}
}

// TestIdleWait checks the split of idle gaps by the launch of the kernel
// that ends each one.
func TestIdleWait(t *testing.T) {
	tests := []struct {
		name         string
		kernels      []Kernel
		host, queued float64 // µs
	}{
		{"launched during the gap: host then queued", []Kernel{
			kn("a", "s", 0, 10), launchedAt(kn("b", "s", 30, 40), 25)}, 15, 5},
		{"launched before the gap: all queued", []Kernel{
			kn("a", "s", 1, 10), launchedAt(kn("b", "s", 30, 40), 2)}, 0, 20},
		{"launched after the kernel started (clock skew): all host", []Kernel{
			kn("a", "s", 0, 10), launchedAt(kn("b", "s", 30, 40), 31)}, 20, 0},
		{"no launch record: neither", []Kernel{
			kn("a", "s", 0, 10), kn("b", "s", 30, 40)}, 0, 0},
		{"the earliest launched of kernels starting together ends the gap", []Kernel{
			kn("a", "s", 0, 10), launchedAt(kn("b", "s", 30, 40), 28), launchedAt(kn("c", "t", 30, 35), 12), kn("d", "u", 30, 31)}, 2, 18},
		{"a kernel on another stream fills the gap", []Kernel{
			kn("a", "s", 0, 10), kn("x", "t", 5, 30), launchedAt(kn("b", "s", 30, 40), 25)}, 0, 0},
		{"gaps add up, zero-length kernels take no part", []Kernel{
			kn("a", "s", 0, 10), launchedAt(kn("z", "s", 12, 12), 0), launchedAt(kn("b", "s", 20, 30), 15),
			launchedAt(kn("c", "s", 40, 50), 31)}, 5 + 1, 5 + 9},
		{"unsorted input", []Kernel{
			launchedAt(kn("b", "s", 30, 40), 25), kn("a", "s", 0, 10)}, 15, 5},
	}
	for _, tt := range tests {
		host, queued, _ := idleWait(tt.kernels)
		if us(host) != tt.host || us(queued) != tt.queued {
			t.Errorf("%s: host %v us, queued %v us; want %v, %v", tt.name, us(host), us(queued), tt.host, tt.queued)
		}
	}
}

// TestIdleWaitBySite checks that the host's share of the gaps goes to the
// launch site of the kernel ending each gap, longest first, at most
// maxIdleSites of them.
func TestIdleWaitBySite(t *testing.T) {
	at := func(scope string, start, launch float64) Kernel {
		k := launchedAt(kn("k", "s", start, start+1), launch)
		k.Scope = scope
		return k
	}
	ks := []Kernel{kn("first", "s", 0, 1),
		at("a.py:1 f", 11, 6),  // gap 1-11: host 5 (1-6), queued 5
		at("b.py:2 g", 22, 22), // gap 12-22: host 10
		at("a.py:1 f", 30, 28), // gap 23-30: host 5, queued 2
		at("", 40, 35),         // gap 31-40: host 4, queued 5, unknown site
		at("c.py:3 h", 50, 40), // gap 41-50: queued only: no site
	}
	for i := range 6 { // six more sites, 1 us host and 8 queued each: the list is cut
		ks = append(ks, at(fmt.Sprintf("z%d.py:1 z", i), float64(60+10*i), float64(52+10*i)))
	}
	host, queued, sites := idleWait(ks)
	if us(host) != 5+10+5+4+6 || us(queued) != 5+2+5+9+6*8 {
		t.Errorf("host %v us, queued %v us", us(host), us(queued))
	}
	want := []IdleSite{{"a.py:1 f", 10, 2}, {"b.py:2 g", 10, 1}, {"", 4, 1}, {"z0.py:1 z", 1, 1}, {"z1.py:1 z", 1, 1}}
	if !reflect.DeepEqual(sites, want) {
		t.Errorf("sites %+v\nwant %+v", sites, want)
	}
}

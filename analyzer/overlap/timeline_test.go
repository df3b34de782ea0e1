package overlap

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tracetriage/tracetriage/internal/testutil"
)

// timelineFixture: a compute stream, a communication stream and a copy
// stream around an exposed all-reduce (index 4), with more than 8 events in
// the window so that some are drawn with category characters.
func timelineFixture() []Kernel {
	return []Kernel{
		kn("gemm_qkv_kernel", "7", 1000, 1040),
		kn("rmsnorm_kernel", "7", 1042, 1050),
		kn("flash_fwd_kernel", "7", 1052, 1110),
		kn("gemm_o_kernel", "7", 1112, 1140),
		kn("ncclDevKernel_AllReduce_Sum_bf16_RING_LL", "13", 1141, 1201),
		kn("silu_kernel", "7", 1203, 1208),
		kn("gemm_up_kernel", "7", 1210, 1250),
		kn("gemm_down_kernel", "7", 1252, 1282),
		kn("Memcpy DtoD (Device -> Device)", "20", 1150, 1160),
		kn("store_kvcache_kernel", "7", 1284, 1290),
		kn("topk_kernel", "7", 1291, 1294),
		kn("far_away_kernel", "7", 9000, 9010),
	}
}

func TestTimelineGolden(t *testing.T) {
	ks := timelineFixture()
	var b strings.Builder
	b.WriteString(Timeline(ks, 4, TimelineOptions{}))
	b.WriteString("\n\n")
	b.WriteString(Timeline(ks, 4, TimelineOptions{Width: 40, WindowUS: 400}))
	b.WriteString("\n")
	golden(t, "timeline.golden", []byte(b.String()))
}

func TestBuildTimeline(t *testing.T) {
	ks := timelineFixture()
	v := BuildTimeline(ks, 4, TimelineOptions{})
	if v.Width != DefaultTimelineWidth || v.CenterKernel != ks[4].Name {
		t.Fatalf("width/centre = %d/%q", v.Width, v.CenterKernel)
	}
	// Window: span max(40, 6*60) = 360 us; 126 us before the start,
	// 234 us after the end, in µs from the first kernel (1000).
	if v.WindowStartUS != 141-126 || v.WindowEndUS != 201+234 {
		t.Errorf("window = [%v, %v], want [15, 435]", v.WindowStartUS, v.WindowEndUS)
	}
	if len(v.Ticks) != 5 || v.Ticks[0] != v.WindowStartUS || v.Ticks[4] != v.WindowEndUS || v.Ticks[2] != 225 {
		t.Errorf("ticks = %v", v.Ticks)
	}
	var streams []string
	for _, s := range v.Streams {
		streams = append(streams, s.Stream)
		if len(s.Cells) != v.Width {
			t.Errorf("stream %s has %d cells, want %d", s.Stream, len(s.Cells), v.Width)
		}
	}
	if strings.Join(streams, ",") != "7,13,20" {
		t.Errorf("streams = %v, want 7,13,20 (by label length, then label)", streams)
	}
	if len(v.Legend) != legendSize {
		t.Fatalf("legend has %d entries, want %d", len(v.Legend), legendSize)
	}
	if l := v.Legend[0]; l.Mark != "A" || l.Kernel != "ncclDevKernel_AllReduce_Sum_bf16_RING_LL" || l.DurUS != 60 || l.Category != Communication {
		t.Errorf("legend A = %+v, want the 60 us all-reduce", l)
	}
	// The far-away kernel is outside the window; the short ones are drawn
	// with their category character.
	for _, s := range v.Streams {
		for _, e := range s.Events {
			if e.Kernel == "far_away_kernel" {
				t.Errorf("far_away_kernel drawn in the window")
			}
			if e.Kernel == "topk_kernel" && e.Mark != "~" {
				t.Errorf("topk_kernel mark = %q, want ~ (elementwise)", e.Mark)
			}
		}
	}
	if !strings.Contains(v.Streams[1].Cells, "A") || !strings.Contains(v.Streams[2].Cells, "G") ||
		!strings.Contains(v.Streams[0].Cells, "~") {
		t.Errorf("cells: %q / %q", v.Streams[1].Cells, v.Streams[2].Cells)
	}
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"center":4`, `"window_start_us":15`, `"ticks":[`, `"streams":[`, `"cells":"`, `"legend":[`, `"mark":"A"`} {
		if !strings.Contains(string(data), key) {
			t.Errorf("timeline JSON lacks %s: %s", key, data)
		}
	}
	if got := BuildTimeline(ks, 99, TimelineOptions{}); len(got.Streams) != 0 {
		t.Errorf("centre out of range: %+v", got)
	}
}

// TestTimelineRealTrace renders the timeline around the top overlap row of
// a real two-rank training trace whose NCCL kernels run on their own
// streams.
func TestTimelineRealTrace(t *testing.T) {
	ks := loadTestKernels(t, testutil.SharedFile(t, "traces/distributed/hta_sampled_rank-0.json.gz"))
	res := Analyze(ks, Options{})
	if len(res.Rows) == 0 {
		t.Fatal("no overlap rows")
	}
	top := res.Rows[0]
	out := Timeline(ks, top.Representative, TimelineOptions{})
	golden(t, "timeline_hta_sampled_rank-0.golden", []byte(top.Kernel+"\n"+out+"\n"))
}

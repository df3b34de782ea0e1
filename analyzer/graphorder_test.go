package analyzer

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/tracetriage/tracetriage/analyzer/trace"
)

// The real CUDA capture/replay pair in testdata (PyTorch 2.11, CUDA 13):
// the capture's launches name no kernel, so only their order ties them to
// the replayed kernels. Every replayed kernel must get the launch sites the
// eager run of the same model gives it.
func TestCUDAGraphReplayAttributedByCaptureOrder(t *testing.T) {
	data := filepath.Join("..", "testdata")
	doc := analyzeFixture(t, Options{
		MappingInput: filepath.Join(data, "torch-cudagraph-capture.json.gz"),
		FormalInput:  filepath.Join(data, "torch-cudagraph-replay.json.gz"),
	})
	eager := analyzeFixture(t, Options{Input: filepath.Join(data, "torch-eager.json.gz")})
	replay := stageByName(t, doc, StageDecode)
	eagerDecode := stageByName(t, eager, StageDecode)

	var total, attributed, graphKernels float64
	compared := 0
	for _, row := range replay.Kernels {
		total += row.GPUTimeUS
		fromGraph := true
		for _, s := range row.Sites {
			if s.Function == GraphReplaySite {
				t.Errorf("%s: still %q", row.Name, GraphReplaySite)
			}
			if s.Path != "" {
				attributed += row.GPUTimeUS * s.SharePct / 100
			}
			if s.Function == "main" {
				fromGraph = false // argmax and the position update run outside the graph
			}
		}
		if !fromGraph {
			continue
		}
		graphKernels += row.GPUTimeUS
		var want *KernelRow
		for i := range eagerDecode.Kernels {
			if eagerDecode.Kernels[i].Name == row.Name {
				want = &eagerDecode.Kernels[i]
			}
		}
		if want == nil {
			t.Errorf("%s: not in the eager trace's decode stage", row.Name)
			continue
		}
		if got, exp := siteLines(row.Sites), siteLines(want.Sites); !slices.Equal(got, exp) {
			t.Errorf("%s: sites %v, the eager run launches it from %v", row.Name, got, exp)
		}
		compared++
	}
	if pct := 100 * attributed / total; pct < 99.9 {
		t.Errorf("%.1f%% of replayed GPU time has a Python line, want all of it", pct)
	}
	if compared < 20 || graphKernels < 0.9*total {
		t.Errorf("compared %d graph kernel rows (%.0f of %.0f us); the pair holds over 20", compared, graphKernels, total)
	}
	for _, w := range doc.Warnings {
		t.Errorf("unexpected warning: %s", w)
	}
}

func siteLines(sites []Site) []string {
	var out []string
	for _, s := range sites {
		out = append(out, fmt.Sprintf("%s:%d", s.Path, s.Line))
	}
	slices.Sort(out)
	return out
}

// graphTraces builds a capture trace holding one capture of the launches
// (nameless unless named) and a replay trace running the kernels of each
// replay under one cudaGraphLaunch, on the streams given (one per kernel,
// or stream 7 for all when nil).
type graphSpec struct {
	captureLaunches int
	named           bool       // launches name their kernels (HIP)
	replays         [][]string // kernel names of each replay, in run order
	streams         []int64
}

func graphTraces(g graphSpec) (capture, replay *trace.Trace) {
	newTrace := func(path string) *trace.Trace {
		return trace.NewBuilder(path).Trace()
	}
	capture, replay = newTrace("capture.json"), newTrace("replay.json")
	cs := capture.Strings
	pid, tid := cs.InternString("1"), cs.InternString("1")
	capture.Captures = []trace.CaptureMark{{TS: 100, PID: pid, TID: tid, Begin: true}, {TS: 10_000, PID: pid, TID: tid}}
	for i := range g.captureLaunches {
		ln := trace.Launch{TS: int64(200 + 10*i), Dur: 5, Name: cs.InternString("cudaLaunchKernel"), PID: pid, TID: tid,
			ExternalID: trace.NoID, Correlation: int64(1000 + i)}
		if g.named {
			ln.Kernel = cs.InternString(fmt.Sprintf("hip_kernel_%d", i))
		}
		capture.Launches = append(capture.Launches, ln)
	}
	rs := replay.Strings
	rpid, rtid := rs.InternString("1"), rs.InternString("1")
	ts := int64(50_000)
	for r, names := range g.replays {
		corr := int64(5000 + r)
		replay.Launches = append(replay.Launches, trace.Launch{TS: ts, Dur: 10, Name: rs.InternString("cudaGraphLaunch"),
			PID: rpid, TID: rtid, ExternalID: trace.NoID, Correlation: corr})
		for i, n := range names {
			stream := int64(7)
			if g.streams != nil {
				stream = g.streams[i]
			}
			replay.Kernels = append(replay.Kernels, trace.Kernel{TS: ts + 20 + int64(10*i), Dur: 5, Name: rs.InternString(n),
				Cat: rs.InternString("kernel"), PID: rs.InternString("0"), TID: rs.InternString(fmt.Sprint(stream)),
				Stream: stream, ExternalID: trace.NoID, Correlation: corr, GraphID: trace.NoID, GraphNodeID: trace.NoID})
		}
		ts += 1000
	}
	return capture, replay
}

func TestNameCaptureLaunches(t *testing.T) {
	abc := []string{"a", "b", "c"}
	tests := []struct {
		name  string
		spec  graphSpec
		want  []string // names of the capture launches afterwards
		named int
	}{
		{"same order in every replay", graphSpec{captureLaunches: 3, replays: [][]string{abc, abc}}, abc, 3},
		{"count differs: left alone", graphSpec{captureLaunches: 4, replays: [][]string{abc}}, []string{"", "", "", ""}, 0},
		{"replays disagree: left alone", graphSpec{captureLaunches: 3, replays: [][]string{abc, {"a", "c", "b"}}}, []string{"", "", ""}, 0},
		{"two streams: left alone", graphSpec{captureLaunches: 3, replays: [][]string{abc}, streams: []int64{7, 8, 7}}, []string{"", "", ""}, 0},
		{"HIP names its kernels: kept", graphSpec{captureLaunches: 3, named: true, replays: [][]string{abc}},
			[]string{"hip_kernel_0", "hip_kernel_1", "hip_kernel_2"}, 0},
		{"no replay", graphSpec{captureLaunches: 3}, []string{"", "", ""}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			capture, replay := graphTraces(tc.spec)
			n := nameCaptureLaunches(capture, []*trace.Trace{capture, replay})
			var got []string
			for _, ln := range capture.Launches {
				got = append(got, capture.S(ln.Kernel))
			}
			if n != tc.named || !slices.Equal(got, tc.want) {
				t.Errorf("named %d %q, want %d %q", n, got, tc.named, tc.want)
			}
		})
	}
}

// Launches outside the capture window, or that ran, are not part of the
// graph and are never named.
func TestCaptureGroupsKeepOnlyCapturedLaunches(t *testing.T) {
	capture, replay := graphTraces(graphSpec{captureLaunches: 3, replays: [][]string{{"a", "b"}}})
	capture.Launches[0].TS = 50 // before cudaStreamBeginCapture
	capture.Kernels = append(capture.Kernels, trace.Kernel{Correlation: capture.Launches[0].Correlation})
	if n := nameCaptureLaunches(capture, []*trace.Trace{replay}); n != 2 {
		t.Fatalf("named %d launches, want the 2 inside the capture", n)
	}
	if got := capture.S(capture.Launches[0].Kernel); got != "" {
		t.Errorf("the launch before the capture got name %q", got)
	}
}

package analyzer

import (
	"context"
	"math"
	"testing"

	"github.com/tracetriage/tracetriage/analyzer/fuse"
	"github.com/tracetriage/tracetriage/analyzer/overlap"
	"github.com/tracetriage/tracetriage/analyzer/trace"
)

// fuzzTrace builds a trace from bytes: each 8-byte record is one event
// whose kind, times, ids and names come from the bytes, so the fuzzer
// explores overlapping frames, shared and missing correlation ids, graph
// launches, graph captures (nameless launches between capture marks, named
// by the order of replayed kernels) and odd annotation windows.
func fuzzTrace(data []byte) *trace.Trace {
	t := &trace.Trace{Strings: trace.NewStrings(), ThreadNames: map[trace.ThreadKey]trace.Str{}, ProcessNames: map[trace.Str]trace.Str{}}
	s := t.Strings
	frames := []string{"python/sglang/srt/layers/linear.py(10): forward", "torch/nn/modules/module.py(1743): _call_impl",
		"vllm/model_executor/parameter.py(3): load", "<built-in method mm>", "nanovllm/x.py(1): f", "/tmp/torchinductor_u/a.py(2): call"}
	kernels := []string{"nvjet_tst_64x16", "void k<int>(int)", "Memcpy DtoD (Device -> Device)", "store_kvcache", "Cijk_Alik_MT32x32x8"}
	anns := []string{"step[EXTEND bs=1]", "step[DECODE bs=2]", "execute_context_0(0)_generation_3(3)", "ProfilerStep#1"}
	launches := []string{"cudaLaunchKernel", "cudaGraphLaunch", "hipLaunchKernel"}
	pids := []trace.Str{s.InternString("1"), s.InternString("2")}
	for len(data) >= 8 {
		b := data[:8]
		data = data[8:]
		ts := int64(b[1])*1000 + int64(b[2])
		dur := int64(b[3]) * 100
		id := int64(b[4] % 16)
		tid := s.InternString(string('a' + rune(b[5]%3)))
		switch b[0] % 6 {
		case 0:
			if dur == 0 {
				dur = 1
			}
			t.Kernels = append(t.Kernels, trace.Kernel{TS: ts, Dur: dur, Name: s.InternString(kernels[int(b[6])%len(kernels)]),
				PID: pids[b[7]%2], TID: tid, Stream: int64(b[7] % 3), ExternalID: id - 4, Correlation: id, GraphID: trace.NoID, GraphNodeID: trace.NoID})
		case 1:
			l := trace.Launch{TS: ts, Dur: dur, Name: s.InternString(launches[int(b[6])%len(launches)]), PID: pids[0], TID: tid,
				ExternalID: id - 4, Correlation: id}
			if b[7]%2 == 0 {
				l.Kernel = s.InternString(kernels[int(b[7]/2)%len(kernels)])
			}
			t.Launches = append(t.Launches, l)
		case 2:
			t.CPUOps = append(t.CPUOps, trace.CPUOp{TS: ts, Dur: dur, Name: s.InternString("aten::mm"), PID: pids[0], TID: tid,
				ExternalID: id - 4, Correlation: trace.NoID})
		case 3:
			t.Frames = append(t.Frames, trace.Frame{TS: ts, Dur: dur, Name: s.InternString(frames[int(b[6])%len(frames)]), PID: pids[0], TID: tid})
		case 4:
			t.Annotations = append(t.Annotations, trace.Annotation{TS: ts, Dur: dur, Name: s.InternString(anns[int(b[6])%len(anns)]),
				PID: pids[0], TID: tid, ExternalID: id - 8, GPU: b[7]%2 == 0})
		case 5:
			t.Captures = append(t.Captures, trace.CaptureMark{TS: ts, PID: pids[0], TID: tid, Begin: b[6]%2 == 0})
		}
	}
	return t
}

func FuzzEngine(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 0, 0, 0, 1, 1, 1, 1, 4, 0, 0, 0, 3, 0, 0, 200, 0, 0, 0, 0, 2, 1, 1, 5, 4, 0, 0, 0})
	f.Add([]byte{4, 0, 0, 255, 9, 0, 2, 0, 0, 5, 0, 1, 3, 1, 1, 1, 1, 5, 0, 1, 3, 1, 1, 0})
	catalog, err := fuse.Default()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tr := fuzzTrace(data)
		for _, mode := range []int{0, 1} {
			doc := &Document{Stages: []Stage{}, Warnings: []string{}}
			l := []loaded{{target: trace.Target{Path: "fuzz.json", Stage: StageAll, Rank: -1}, t: tr}}
			var mapping []loaded
			if mode == 1 {
				mapping = l
			}
			ks, err := buildStages(context.Background(), doc, l, mapping, "", split{})
			if err != nil {
				t.Fatal(err)
			}
			addOpportunities(doc, ks, catalog, fuse.Context{}, overlap.Options{}, true)
			for _, st := range doc.Stages {
				var share float64
				for _, k := range st.Kernels {
					share += k.SharePct
					var site float64
					for _, s := range k.Sites {
						site += s.SharePct
					}
					if len(k.Sites) == 0 || math.Abs(site-100) > 1e-6 && mode == 0 {
						t.Fatalf("%s: site shares add up to %v", k.Name, site)
					}
				}
				if math.Abs(share-100) > 1e-6 {
					t.Fatalf("stage %s: row shares add up to %v", st.Stage, share)
				}
				if st.BusyTimeUS > st.GPUTimeUS+1e-9 {
					t.Fatalf("busy %v > gpu %v", st.BusyTimeUS, st.GPUTimeUS)
				}
				// The idle split: its parts are within the idle time, and
				// the sites' share within the host's part.
				if b := st.Breakdown; b != nil {
					var sites float64
					for _, s := range b.IdleHostBySite {
						sites += s.IdleUS
					}
					if b.IdleHostUS < 0 || b.IdleQueuedUS < 0 || b.IdleHostUS+b.IdleQueuedUS > b.IdleUS+1e-6 || sites > b.IdleHostUS+1e-6 {
						t.Fatalf("stage %s: idle %v us split into host %v and queued %v, sites %v", st.Stage, b.IdleUS, b.IdleHostUS, b.IdleQueuedUS, sites)
					}
				}
			}
		}
	})
}

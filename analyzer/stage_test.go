package analyzer

import (
	"math/rand/v2"
	"testing"

	"github.com/tracetriage/tracetriage/analyzer/trace"
)

func TestAnnotationStage(t *testing.T) {
	tests := []struct{ name, want string }{
		{"execute_context_1(888_788544)_generation_0(0)", StageExtend},
		{"execute_32_context_0(sq0sk0sqsq0sqsk0)_generation_32(sq32sk32785sqsq32sqsk32785)", StageDecode},
		{"execute_15360_context_15(sq15360)_generation_0(sq0sk0)", StageExtend},
		{"execute_context_3(10)_generation_5(5)", StageExtend}, // mixed batch
		{"execute_context_0(0)_generation_3(3)", StageDecode},  // the reference found no stage here
		{"step[EXTEND bs=15 toks=15360]", StageExtend},
		{"step[DECODE bs=32]", StageDecode},
		{"step[MIXED bs=4]", StageExtend},
		{"context_step", StageExtend},
		{"generation_step", StageDecode},
		{"_forward_step gen_phase", StageDecode},
		{"contextlib_helper", ""},
		{"prefill_forward", StageExtend},
		{"run_decode", StageDecode},
		{"ProfilerStep#3", ""},
		{"execute_context_0(0)_generation_0(0)", ""},
	}
	for _, tt := range tests {
		if got := AnnotationStage(tt.name); got != tt.want {
			t.Errorf("AnnotationStage(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestStageOfUsesLaunchTime(t *testing.T) {
	tr := &trace.Trace{Strings: trace.NewStrings()}
	name := tr.Strings.InternString("step[EXTEND bs=1 toks=100]")
	tr.Annotations = []trace.Annotation{{TS: 1000, Dur: 1000, Name: name, ExternalID: trace.NoID}}
	si := newStageIndex(tr)
	// Runs 50 ms after the window but was launched inside it.
	k := &trace.Kernel{TS: 52_000_000, Dur: 10}
	if got := si.stageOf(k, trace.NoID, 1500, &stageCursor{}); got != StageExtend {
		t.Errorf("launched in window: got %q, want extend", got)
	}
	if got := si.stageOf(k, trace.NoID, trace.NoID, &stageCursor{}); got != StageAll {
		t.Errorf("no launch known, 50 ms away: got %q, want all", got)
	}
	// Within 20 ms of the window: nearest window.
	k2 := &trace.Kernel{TS: 15_000_000, Dur: 10}
	if got := si.stageOf(k2, trace.NoID, trace.NoID, &stageCursor{}); got != StageExtend {
		t.Errorf("nearest window: got %q, want extend", got)
	}
}

func TestWindowSet(t *testing.T) {
	ws := newWindowSet(mergeWindows([]stageWindow{
		{StageDecode, 100, 200}, {StageDecode, 200, 300}, {StageExtend, 0, 1000}, {StageDecode, 2000, 2100},
	}))
	if len(ws.ws) != 3 {
		t.Fatalf("merged windows: %+v", ws.ws)
	}
	for _, tt := range []struct {
		t    int64
		want string
	}{{50, StageExtend}, {150, StageExtend}, {2050, StageDecode}, {1500, ""}} {
		if got := ws.containing(tt.t); got != tt.want {
			t.Errorf("containing(%d) = %q, want %q", tt.t, got, tt.want)
		}
	}
	if st, gap := ws.nearest(1900); st != StageDecode || gap != 100 {
		t.Errorf("nearest(1900) = %q, %d", st, gap)
	}
}

// The External id lookup answers from a bounds check and, for dense ids,
// an offset table before the map; it must find exactly the annotated ids.
func TestStageIndexAnnotationLookup(t *testing.T) {
	for _, ids := range [][]int64{{5, 7, 8, 1000}, {3, 1 << 40, -2}} {
		tr := &trace.Trace{Strings: trace.NewStrings()}
		name := tr.Strings.InternString("step[DECODE bs=1]")
		want := map[int64]bool{}
		for i, id := range ids {
			tr.Annotations = append(tr.Annotations, trace.Annotation{TS: int64(100 * i), Dur: 10, Name: name, ExternalID: id})
			want[id] = true
		}
		si := newStageIndex(tr)
		for probe := int64(-5); probe < 1100; probe++ {
			if _, ok := si.annotation(probe); ok != want[probe] {
				t.Errorf("ids %v: annotation(%d) found %v", ids, probe, ok)
			}
		}
		for _, id := range ids {
			if a, ok := si.annotation(id); !ok || a.stage != StageDecode {
				t.Errorf("ids %v: annotation(%d) = %+v, %v", ids, id, a, ok)
			}
		}
	}
}

// containingAt gallops from the previous search; for probes in any order
// it must find what a search of the whole set finds.
func TestWindowCursor(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	var ws []stageWindow
	var at int64
	for i := 0; i < 300; i++ {
		at += rng.Int64N(50)
		st := StageDecode
		if rng.IntN(3) == 0 {
			st = StageExtend
		}
		ws = append(ws, stageWindow{st, at, at + rng.Int64N(120)})
	}
	s := newWindowSet(mergeWindows(ws))
	var c windowCursor
	probe := int64(0)
	for i := 0; i < 5000; i++ {
		if i%5 == 0 {
			probe = rng.Int64N(at + 200)
		} else {
			probe += rng.Int64N(30)
		}
		want := ""
		for j, w := range s.ws {
			if w.start <= probe && s.maxEnd[j]+probeOffsetNS >= probe {
				want = s.ws[j].stage
				break
			}
		}
		if got := s.containingAt(probe, &c); got != want {
			t.Fatalf("probe %d: %q, want %q", probe, got, want)
		}
	}
}

package analyzer

import (
	"testing"

	"github.com/tracetriage/tracetriage/analyzer/overlap"
)

func TestCompare(t *testing.T) {
	row := func(name string, us float64) KernelRow {
		return KernelRow{Name: name, Category: "gemm", GPUTimeUS: us, Launches: 1,
			Sites: []Site{{Path: "a.py", Line: 7, Function: "f", SharePct: 100, Launches: 1}}}
	}
	stage := func(name string, host float64, rows ...KernelRow) Stage {
		st := Stage{Stage: name, Kernels: rows, Breakdown: &overlap.Breakdown{SpanUS: 100, IdleHostUS: host}}
		for _, r := range rows {
			st.GPUTimeUS += r.GPUTimeUS
		}
		return st
	}
	before := &Document{Stages: []Stage{
		stage(StageDecode, 60, row("gemm", 40), row("norm", 10), row("add", 5), row("mul", 5)),
		stage(StageExtend, 0, row("gemm", 1)),
	}}
	after := &Document{Stages: []Stage{
		stage(StageDecode, 5, row("gemm", 35), row("add", 7), row("mul", 5), row("fused_add_norm", 8)),
	}}
	c := Compare(before, after, "", 2)
	if len(c.Stages) != 2 || c.Stages[0].Stage != StageExtend || c.Stages[1].Stage != StageDecode {
		t.Fatalf("stages %+v", c.Stages)
	}
	if ext := c.Stages[0]; ext.AfterGPUTimeUS != 0 || ext.VanishedCount != 1 || ext.AfterSpanUS != 0 {
		t.Errorf("extend, only before: %+v", ext)
	}
	dec := c.Stages[1]
	if dec.BeforeGPUTimeUS != 60 || dec.AfterGPUTimeUS != 55 || dec.DeltaUS != -5 || dec.DeltaPct != -8.33 {
		t.Errorf("decode totals %+v", dec)
	}
	if dec.BeforeIdleHostPct != 60 || dec.AfterIdleHostPct != 5 || dec.BeforeSpanUS != 100 {
		t.Errorf("decode host waits %v%% -> %v%%, span %v", dec.BeforeIdleHostPct, dec.AfterIdleHostPct, dec.BeforeSpanUS)
	}
	// Changed: gemm -5, add +2, mul 0; the two largest changes are kept.
	if dec.ChangedCount != 3 || len(dec.Changed) != 2 || dec.Changed[0].Name != "gemm" || dec.Changed[0].DeltaUS != -5 ||
		dec.Changed[1].Name != "add" || dec.Changed[0].Site != "a.py:7" {
		t.Errorf("changed %+v", dec.Changed)
	}
	if dec.NewCount != 1 || dec.New[0].Name != "fused_add_norm" || dec.VanishedCount != 1 || dec.Vanished[0].Name != "norm" || dec.Vanished[0].DeltaUS != -10 {
		t.Errorf("new %+v, vanished %+v", dec.New, dec.Vanished)
	}
	if only := Compare(before, after, StageDecode, 5); len(only.Stages) != 1 || only.Stages[0].Stage != StageDecode {
		t.Errorf("stage decode: %+v", only.Stages)
	}
	if none := Compare(&Document{}, &Document{}, "", 5); none.Stages == nil || len(none.Stages) != 0 {
		t.Errorf("no stages: %#v", none.Stages)
	}
}

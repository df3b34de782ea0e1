package analyzer

import (
	"context"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// TestAnalyzePIDSubstring checks that --pid-substring moves the overlap
// analysis to another GPU process while the kernel table keeps its own.
func TestAnalyzePIDSubstring(t *testing.T) {
	kernelNames := func(d *Document) []string {
		var out []string
		for _, st := range d.Stages {
			for _, k := range st.Kernels {
				out = append(out, st.Stage+"/"+k.Name)
			}
		}
		sort.Strings(out)
		return out
	}
	overlapNames := func(d *Document) []string {
		var out []string
		for _, st := range d.Stages {
			for _, r := range st.Overlap {
				out = append(out, r.Kernel)
			}
		}
		sort.Strings(out)
		return out
	}
	run := func(sub string) *Document {
		t.Helper()
		d, err := Analyze(context.Background(), Options{Input: "testdata/two-gpu-processes.json", PIDSubstring: sub})
		if err != nil {
			t.Fatalf("Analyze(PIDSubstring %q): %v", sub, err)
		}
		return d
	}
	base, rank1, none := run(""), run("TP01"), run("nope")

	tests := []struct {
		name        string
		doc         *Document
		overlapWant string // substring every overlap row's kernel holds
		warnWant    string
	}{
		{"default", base, "tp_zero", ""},
		{"TP01", rank1, "rank_one", `overlap analysis covers process [1] TP01 (--pid-substring "TP01")`},
		{"no match", none, "tp_zero", `no GPU process id contains "nope" (processes: [0] TP00, [1] TP01)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, want := kernelNames(tc.doc), kernelNames(base); !reflect.DeepEqual(got, want) {
				t.Errorf("kernel rows %v, want %v (the kernel table ignores --pid-substring)", got, want)
			}
			for _, k := range kernelNames(tc.doc) {
				if !strings.Contains(k, "tp_zero") {
					t.Errorf("kernel row %q is not of process TP00", k)
				}
			}
			ov := overlapNames(tc.doc)
			if len(ov) == 0 {
				t.Fatalf("no overlap rows")
			}
			for _, k := range ov {
				if !strings.Contains(k, tc.overlapWant) {
					t.Errorf("overlap row %q, want kernels holding %q (all rows %v)", k, tc.overlapWant, ov)
				}
			}
			if tc.warnWant != "" && !strings.Contains(strings.Join(tc.doc.Warnings, "\n"), tc.warnWant) {
				t.Errorf("warnings %q lack %q", tc.doc.Warnings, tc.warnWant)
			}
		})
	}
}

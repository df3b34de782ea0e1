package cirunners

import (
	"strings"
	"testing"
)

func TestParseDocRows(t *testing.T) {
	src := "# CI\n\nSome prose with a | pipe.\n\n" +
		"| Suite | Partitions | Runner (label) | max_parallel |\n" +
		"| --- | --- | --- | --- |\n" +
		"| `s-1-gpu` | 1 (no matrix) | `1-gpu-h100` | — |\n" +
		"| s-2-gpu *(added by #1)* | 4 | **2-gpu-h100** (\"split onto spot runners\") | dynamic (3 or 14) |\n" +
		"| `s-8-gpu-b200` | registered only | 8-gpu-b200 | — |\n" +
		"| `a-gpu`, `b-gpu` | 2 | `x-1` / `x-2` or `x-3` | 2 |\n" +
		"| `esc` | 1 | `a\\|b` | — |\n" +
		"| `nightly-{1,2}-gpu`, `stage-*` | 1 | `x-1` | — |\n" +
		"\n| Name | Value |\n|---|---|\n| not | a suite table |\n" +
		"\n- list\n\n  | Suite | Runner |\n  |---|---|\n  | `nested-1-gpu` | `1-gpu` |\n"
	claims, err := parseDoc("doc.md", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		suite, labels, parts, maxPar, note string
		line                               int
		notWired                           bool
	}
	want := []row{
		{"s-1-gpu", "1-gpu-h100", "1 (no matrix)", "—", "", 7, false},
		{"s-2-gpu", "2-gpu-h100", "4", "dynamic (3 or 14)", "added by #1; split onto spot runners", 8, false},
		{"s-8-gpu-b200", "8-gpu-b200", "registered only", "—", "", 9, true},
		{"a-gpu", "x-1,x-2,x-3", "2", "2", "", 10, false},
		{"b-gpu", "x-1,x-2,x-3", "2", "2", "", 10, false},
		{"esc", "", "1", "—", "", 11, false},
		{"nested-1-gpu", "1-gpu", "", "", "", 22, false},
	}
	if len(claims) != len(want) {
		t.Fatalf("got %d claims %+v, want %d", len(claims), claims, len(want))
	}
	for i, w := range want {
		c := claims[i]
		got := row{c.Suite, strings.Join(c.Labels, ","), c.Partitions, c.MaxParallel, c.Note, c.Line, c.NotWired}
		if got != w {
			t.Errorf("row %d:\n got %+v\nwant %+v", i, got, w)
		}
	}
}

func TestSplitNotesAndLabels(t *testing.T) {
	tests := []struct{ in, main, notes, labels string }{
		{`4-gpu-b200 ("split onto low-disk B200 runners")`, "4-gpu-b200", "split onto low-disk B200 runners", "4-gpu-b200"},
		{"8-gpu-b200 (registered (not wired))", "8-gpu-b200", "registered (not wired)", "8-gpu-b200"},
		{"—", "—", "", ""},
		{"ubuntu-latest ×4", "ubuntu-latest ×4", "", "ubuntu-latest"},
		{"runs on 1-gpu-h100 runners", "runs on 1-gpu-h100 runners", "", "1-gpu-h100"},
		{"linux-mi35x-gpu-8.fabric", "linux-mi35x-gpu-8.fabric", "", "linux-mi35x-gpu-8.fabric"},
	}
	for _, tc := range tests {
		m, n := splitNotes(tc.in)
		if m != tc.main || n != tc.notes {
			t.Errorf("splitNotes(%q) = %q, %q; want %q, %q", tc.in, m, n, tc.main, tc.notes)
		}
		if got := strings.Join(labelsIn(m), ","); got != tc.labels {
			t.Errorf("labelsIn(%q) = %q, want %q", m, got, tc.labels)
		}
	}
}

func TestGPUCounts(t *testing.T) {
	for _, tc := range []struct {
		name  string
		suite bool
		want  int
	}{
		{"stage-b-kernel-unit-1-gpu-b200", true, 1},
		{"stage-c-test-large-8-gpu-amd", true, 8},
		{"multimodal-gen-test-8-npu-a3", true, 8},
		{"stage-a-test-cpu", true, 0},
		{"4-gpu-b200-low-disk", false, 4},
		{"linux-mi325-1gpu-sglang", false, 1},
		{"linux-mi35x-gpu-8.fabric", false, 8},
		{"ubuntu-latest", false, 0},
		{"linux-aarch64-a3-16", false, 0},
	} {
		got := labelGPUs(tc.name)
		if tc.suite {
			got = suiteGPUs(tc.name)
		}
		if got != tc.want {
			t.Errorf("%s: got %d, want %d", tc.name, got, tc.want)
		}
	}
}

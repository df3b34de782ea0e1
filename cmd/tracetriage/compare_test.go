package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tracetriage/tracetriage/analyzer"
)

const (
	eagerTrace = "../../testdata/torch-eager.json.gz"
	graphTrace = "../../testdata/torch-cudagraph-replay.json.gz"
)

// compare on the eager and CUDA-graph PyTorch traces of testdata: the
// decode's waits for the host drop, in text and in JSON.
func TestCompare(t *testing.T) {
	code, out, errOut := runAnalyzeCLI(t, "compare", "--before", eagerTrace, "--after", graphTrace, "--stage", "decode", "--top-k", "3")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"Before: " + eagerTrace, "### decode: ", "GPU idle waiting for the host: 93.", "Changed most ("} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "### extend") {
		t.Errorf("--stage decode printed other stages:\n%s", out)
	}

	code, out, errOut = runAnalyzeCLI(t, "compare", "--before", eagerTrace, "--after", graphTrace, "--format", "json")
	if code != 0 {
		t.Fatalf("json: exit %d: %s", code, errOut)
	}
	var c analyzer.Comparison
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatalf("json: %v\n%s", err, out)
	}
	var dec *analyzer.StageComparison
	for i := range c.Stages {
		if c.Stages[i].Stage == analyzer.StageDecode {
			dec = &c.Stages[i]
		}
	}
	if dec == nil || dec.BeforeIdleHostPct < 80 || dec.AfterIdleHostPct > 10 || len(dec.Changed) == 0 || len(dec.Changed) > 15 {
		t.Errorf("decode comparison %+v", dec)
	}
}

func TestCompareErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no after", []string{"compare", "--before", eagerTrace}, 2, "give both --before and --after"},
		{"bad format", []string{"compare", "--before", eagerTrace, "--after", graphTrace, "--format", "yaml"}, 2, "--format"},
		{"bad stage", []string{"compare", "--before", eagerTrace, "--after", graphTrace, "--stage", "prefill"}, 2, "--stage"},
		{"bad top-k", []string{"compare", "--before", eagerTrace, "--after", graphTrace, "--top-k", "0"}, 2, "--top-k"},
		{"stray argument", []string{"compare", eagerTrace}, 2, "--before and --after"},
		{"missing file", []string{"compare", "--before", "/nonexistent/a.json", "--after", graphTrace}, 1, "/nonexistent/a.json"},
		{"stage in neither", []string{"compare", "--before", graphTrace, "--after", graphTrace, "--stage", "extend"}, 1, "has the extend stage"},
	} {
		code, out, errOut := runAnalyzeCLI(t, tt.args...)
		if code != tt.code || out != "" || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, tt.want) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit %d and one line with %q", tt.name, code, out, errOut, tt.code, tt.want)
		}
	}
	if code, out, _ := runAnalyzeCLI(t, "compare", "-h"); code != 0 || !strings.Contains(out, "--before PATH") {
		t.Errorf("help: exit %d: %s", code, out)
	}
}

package cirunners

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestQuerySuite(t *testing.T) {
	repo := fixtureRepo(t, "sample")
	q, err := Query(repo, "kernel-1-gpu-b200", nil)
	if err != nil {
		t.Fatal(err)
	}
	if q.Kind != "suite" || q.Suite == nil || len(q.Suite.Jobs) != 1 {
		t.Fatalf("got %+v, want one job for the suite", q)
	}
	j := q.Suite.Jobs[0]
	if j.Workflow != ".github/workflows/pr-test-kernel.yml" || j.RunsOnLine != 10 || !j.Dynamic {
		t.Errorf("job %+v, want the dynamic runs-on at pr-test-kernel.yml:10", j)
	}
	if strings.Join(j.Labels, ",") != "4-gpu-b200-kernel,4-gpu-b200" {
		t.Errorf("labels %q", j.Labels)
	}
	// Each label is traced through the caller's with: to the step that
	// writes it.
	for _, d := range j.Decided {
		via := strings.Join(d.Via, " <- ")
		for _, hop := range []string{"pr-test-kernel.yml:10 runs-on", "pr-test.yml:107 job call-kernel-tests with b200_runner", "step set-runner writes b200_runner"} {
			if !strings.Contains(via, hop) {
				t.Errorf("%s decided via %q, lacks %q", d.Label, via, hop)
			}
		}
	}
	var b bytes.Buffer
	if err := q.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	golden(t, "query-suite.golden", b.Bytes())
}

func TestQueryLabel(t *testing.T) {
	repo := fixtureRepo(t, "sample")
	q, err := Query(repo, "4-gpu-b200-low-disk", nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range q.LabelSuites {
		got = append(got, s.Suite)
	}
	want := "stage-b-test-4-gpu-b200,stage-c-test-4-gpu-b200-small"
	if q.Kind != "label" || strings.Join(got, ",") != want {
		t.Errorf("label query: kind %s suites %q, want %s", q.Kind, got, want)
	}
	// A label requested by a job that runs no suite is still answered.
	q, err = Query(repo, "4-gpu-b200-kernel", nil)
	if err != nil {
		t.Fatal(err)
	}
	last := q.LabelSuites[len(q.LabelSuites)-1]
	if last.Suite != "" || len(last.Jobs) != 1 || last.Jobs[0].Job != "kernel-pytest" {
		t.Errorf("want the suite-less job kernel-pytest last, got %+v", last)
	}
	var b bytes.Buffer
	if err := q.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	golden(t, "query-label.golden", b.Bytes())
	// Documented-only labels are found too.
	q, err = Query(repo, "linux-aarch64-a3-16", nil)
	if err != nil || len(q.LabelSuites) != 1 || len(q.LabelSuites[0].Documented) != 1 || len(q.LabelSuites[0].Jobs) != 0 {
		t.Errorf("doc-only label: %+v, %v", q, err)
	}
}

func TestQueryNotFound(t *testing.T) {
	repo := fixtureRepo(t, "sample")
	_, err := Query(repo, "no-such-thing", nil)
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("got %v, want ErrNotFound", err)
	}
}

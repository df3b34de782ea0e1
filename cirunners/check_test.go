package cirunners

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// writeArchive expands a txtar-style archive ("-- path --" lines followed
// by the file's text) into a fresh temporary repository.
func writeArchive(t *testing.T, archive string) string {
	t.Helper()
	dir := t.TempDir()
	expandArchive(t, dir, archive)
	return dir
}

func expandArchive(tb testing.TB, dir, archive string) {
	tb.Helper()
	var name string
	var body strings.Builder
	flush := func() {
		if name == "" {
			return
		}
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body.String()), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	for _, ln := range strings.SplitAfter(archive, "\n") {
		trim := strings.TrimRight(ln, "\n")
		if strings.HasPrefix(trim, "-- ") && strings.HasSuffix(trim, " --") && len(trim) > 6 {
			flush()
			name = strings.TrimSpace(trim[3 : len(trim)-3])
			body.Reset()
			continue
		}
		if name != "" {
			body.WriteString(ln)
		}
	}
	flush()
}

// fixtureRepo expands testdata/<name>.txtar.
func fixtureRepo(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".txtar"))
	if err != nil {
		t.Fatal(err)
	}
	return writeArchive(t, string(b))
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output (run go test -update after checking):\n--- got ---\n%s", p, got)
	}
}

func TestCheckSampleGolden(t *testing.T) {
	repo := fixtureRepo(t, "sample")
	r, err := Check(CheckOptions{Repo: repo})
	if err != nil {
		t.Fatal(err)
	}
	var text, js bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	golden(t, "sample.golden", text.Bytes())
	golden(t, "sample.json.golden", js.Bytes())
}

// TestCheckFindsEveryKind pins each mismatch of the sample repository,
// with the doc and workflow positions on both sides.
func TestCheckFindsEveryKind(t *testing.T) {
	const (
		guide = ".claude/skills/ci-workflow-guide/SKILL.md"
		tests = ".claude/skills/write-sglang-test/SKILL.md"
		pr    = ".github/workflows/pr-test.yml"
		amd   = ".github/workflows/pr-test-amd.yml"
		npu   = ".github/workflows/pr-test-npu.yml"
		kern  = ".github/workflows/pr-test-kernel.yml"
	)
	r, err := Check(CheckOptions{Repo: fixtureRepo(t, "sample")})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		kind    Kind
		suite   string
		docFile string
		docLine int
		wfFile  string
		wfLine  int
		inMsg   string
	}{
		// Review finding 1: a 1-GPU suite documented on a 4-GPU label,
		// whose workflow label is chosen through a reusable workflow input.
		{KindGPUCount, "kernel-1-gpu-b200", guide, 20, kern, 10, "names 1 GPU"},
		{KindDynamicLabel, "kernel-1-gpu-b200", guide, 20, kern, 10, "4-gpu-b200-kernel"},
		// Review finding 2: the test guide drops -low-disk.
		{KindMissingSuffix, "stage-c-test-4-gpu-b200-small", tests, 8, pr, 85, "-low-disk suffix"},
		// The kernel variant of the same job is in no table.
		{KindDynamicLabel, "stage-c-test-4-gpu-b200-small", guide, 21, pr, 85, "4-gpu-b200-kernel-low-disk"},
		{KindMissingSuffix, "stage-b-test-4-gpu-b200", guide, 19, pr, 79, "-low-disk suffix"},
		{KindMissingSuffix, "deepep-8-gpu-h200", guide, 22, pr, 93, "-deepep suffix"},
		{KindWrongLabel, "mm-8-npu-a3", tests, 11, npu, 9, "linux-aarch64-a3-8"},
		{KindWrongLabel, "multi-runner-1-gpu", tests, 12, pr, 117, "1-gpu-small-spot"},
		{KindDynamicLabel, "amd-1-gpu", tests, 9, amd, 13, "linux-mi300-1gpu-sglang"},
		{KindNotInWorkflow, "gone-4-gpu-h100", guide, 24, "", 0, "no workflow job runs it"},
		{KindNotInWorkflow, "per-commit-1-npu-a2", tests, 10, "", 0, "stage-b-test-1-npu-a2"},
		{KindUndocumented, "stage-b-test-1-npu-a2", "", 0, npu, 7, "no doc table"},
		{KindUndocumented, "extra-1-gpu-small", "", 0, pr, 114, "extra-tests"},
		{KindUndocumented, "amd-1-gpu-mi35x", "", 0, amd, 23, "linux-mi35x-gpu-1"},
		{KindUndocumented, "nightly-4-gpu-h100", "", 0, pr, 124, "8-gpu-h100"},
		{KindGPUCount, "nightly-4-gpu-h100", "", 0, pr, 122, "names 4 GPU"},
		{KindPartitions, "multi-2-gpu-large", guide, 18, pr, 74, "2 partition(s), but job multi-2-gpu-large runs 3"},
		{KindMaxParallel, "unit-1-gpu-large", guide, 17, pr, 58, "max-parallel 2 or 6"},
	}
	if len(r.Mismatches) != len(want) {
		for _, m := range r.Mismatches {
			t.Logf("%s %s %s:%d %s:%d", m.Kind, m.Suite, m.DocFile, m.DocLine, m.WorkflowFile, m.WorkflowLine)
		}
		t.Errorf("got %d mismatches, want %d", len(r.Mismatches), len(want))
	}
	for _, w := range want {
		found := false
		for _, m := range r.Mismatches {
			if m.Kind == w.kind && m.Suite == w.suite && m.DocFile == w.docFile && m.DocLine == w.docLine &&
				m.WorkflowFile == w.wfFile && m.WorkflowLine == w.wfLine {
				found = true
				if !strings.Contains(m.Message, w.inMsg) {
					t.Errorf("%s %s: message %q lacks %q", w.kind, w.suite, m.Message, w.inMsg)
				}
				if !strings.HasSuffix(m.Message, ".") || strings.Contains(m.Message, "\n") {
					t.Errorf("%s %s: message %q is not one sentence", w.kind, w.suite, m.Message)
				}
			}
		}
		if !found {
			t.Errorf("missing %s for %s at %s:%d / %s:%d", w.kind, w.suite, w.docFile, w.docLine, w.wfFile, w.wfLine)
		}
	}
	for _, ok := range []string{"unit-1-gpu-small", "unit-cpu", "registered-8-gpu-b200"} {
		for _, m := range r.Mismatches {
			if m.Suite == ok {
				t.Errorf("suite %s should match its docs, got %s: %s", ok, m.Kind, m.Message)
			}
		}
	}
}

// TestCheckCleanRepo: docs that list every label a dynamic runs-on can
// pick, through a reusable workflow and a matrix, give no mismatch.
func TestCheckCleanRepo(t *testing.T) {
	repo := writeArchive(t, `
-- docs/ci.md --
| Suite | Runner |
|---|---|
| `+"`"+`gpu-1-gpu-h100`+"`"+` | `+"`"+`1-gpu-h100`+"`"+` or `+"`"+`1-gpu-h100-spot`+"`"+` |
| `+"`"+`lint-cpu`+"`"+` | `+"`"+`ubuntu-latest`+"`"+` |
| `+"`"+`b-1-gpu-b200`+"`"+` | `+"`"+`1-gpu-b200`+"`"+`, `+"`"+`1-gpu-b200-kernel`+"`"+` |
| `+"`"+`future-8-gpu-b200`+"`"+` | `+"`"+`8-gpu-b200`+"`"+` (not yet wired) |
-- .github/workflows/ci.yml --
on:
  push:
jobs:
  gpu:
    runs-on: ${{ github.ref == 'refs/heads/main' && '1-gpu-h100' || '1-gpu-h100-spot' }}
    steps:
      - run: python run_suite.py --suite gpu-1-gpu-h100
  lint:
    strategy:
      matrix:
        include:
          - os: ubuntu-latest
            suite: lint-cpu
    runs-on: ${{ matrix.os }}
    steps:
      - run: python run_suite.py --suite ${{ matrix.suite }}
  call:
    uses: ./.github/workflows/b200.yml
    with:
      runner: ${{ github.event_name == 'push' && '1-gpu-b200-kernel' || '1-gpu-b200' }}
-- .github/workflows/b200.yml --
on:
  workflow_call:
    inputs:
      runner:
        type: string
jobs:
  b200:
    runs-on: ${{ inputs.runner }}
    steps:
      - run: python run_suite.py --suite b-1-gpu-b200
`)
	r, err := Check(CheckOptions{Repo: repo, Docs: []string{"docs/ci.md"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range r.Mismatches {
		t.Errorf("unexpected %s %s: %s", m.Kind, m.Suite, m.Message)
	}
	if len(r.Suites) != 4 {
		t.Errorf("got %d suites, want 4", len(r.Suites))
	}
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "No mismatches.") {
		t.Errorf("text report lacks 'No mismatches.':\n%s", b.String())
	}
}

// TestCheckErrors: malformed input gives one error naming file and line.
func TestCheckErrors(t *testing.T) {
	const doc = "-- docs/ci.md --\n| Suite | Runner |\n|---|---|\n| `a-1-gpu` | `1-gpu` |\n"
	const wf = "-- .github/workflows/ci.yml --\non: push\njobs:\n  a:\n    runs-on: 1-gpu\n    steps:\n      - run: python run_suite.py --suite a-1-gpu\n"
	tests := []struct {
		name    string
		archive string
		docs    []string
		want    string
		sentry  error
	}{
		{"valid", doc + wf, []string{"docs/ci.md"}, "", nil},
		{"yaml syntax", doc + "-- .github/workflows/ci.yml --\non: push\njobs:\n  a:\n    runs-on: x\n   steps: [\n", []string{"docs/ci.md"}, ".github/workflows/ci.yml:5:4: invalid YAML", ErrSyntax},
		{"yaml tab", doc + "-- .github/workflows/ci.yml --\non: push\njobs:\n  a:\n\truns-on: x\n", []string{"docs/ci.md"}, ".github/workflows/ci.yml:4:", ErrSyntax},
		{"bad expression", doc + "-- .github/workflows/ci.yml --\non: push\njobs:\n  a:\n    runs-on: ${{ inputs.x == }}\n", []string{"docs/ci.md"}, ".github/workflows/ci.yml:4: invalid expression", ErrSyntax},
		{"unclosed expression", doc + "-- .github/workflows/ci.yml --\non: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: run_suite.py --suite ${{ matrix.s\n", []string{"docs/ci.md"}, ".github/workflows/ci.yml:6: invalid expression", ErrSyntax},
		{"runs-on names nothing", doc + "-- .github/workflows/ci.yml --\non: push\njobs:\n  a:\n    runs-on: []\n", []string{"docs/ci.md"}, ".github/workflows/ci.yml:4: job a: runs-on names no runner label", ErrSyntax},
		{"unknown alias", doc + "-- .github/workflows/ci.yml --\non: push\njobs:\n  a:\n    runs-on: *nope\n", []string{"docs/ci.md"}, ".github/workflows/ci.yml:4", ErrSyntax},
		{"job not a mapping", doc + "-- .github/workflows/ci.yml --\non: push\njobs:\n  a: 3\n", []string{"docs/ci.md"}, ".github/workflows/ci.yml:3: job \"a\"", ErrSyntax},
		{"row with fewer cells", "-- docs/ci.md --\n# CI\n\n| Suite | Runner |\n|---|---|\n| `a-1-gpu` |\n" + wf, []string{"docs/ci.md"}, "docs/ci.md:5: table row has fewer cells", ErrSyntax},
		{"row with more cells", "-- docs/ci.md --\n| Suite | Runner |\n|---|---|\n| `a-1-gpu` | `1-gpu` | extra |\n" + wf, []string{"docs/ci.md"}, "docs/ci.md:3: table row has more cells", ErrSyntax},
		{"empty suite cell", "-- docs/ci.md --\n| Suite | Runner |\n|---|---|\n| `a-1-gpu` | `1-gpu` |\n|  | `1-gpu` |\n" + wf, []string{"docs/ci.md"}, "docs/ci.md:4: table row has an empty Suite cell", ErrSyntax},
		{"not a suite name", "-- docs/ci.md --\n| Suite | Runner |\n|---|---|\n| a suite! | `1-gpu` |\n" + wf, []string{"docs/ci.md"}, "docs/ci.md:3: Suite cell", ErrSyntax},
		{"invalid utf8", "-- docs/ci.md --\n| Suite | Runner |\n|---|---|\n| \xff | x |\n" + wf, []string{"docs/ci.md"}, "docs/ci.md:3: doc is not valid UTF-8", ErrSyntax},
		{"no table", "-- docs/ci.md --\n# CI\n\nNo table here.\n" + wf, []string{"docs/ci.md"}, "docs/ci.md: no suite/runner table", ErrNoTable},
		{"no docs", wf, nil, "no CI docs found", ErrNoDocs},
		{"missing doc", wf, []string{"docs/nope.md"}, "read doc docs/nope.md", nil},
		{"no workflows", doc, []string{"docs/ci.md"}, "no GitHub Actions workflows", ErrNoWorkflows},
		{"missing repo", "", nil, "does not exist: pass the repository's root directory to --repo", nil},
		{"repo is a file", "-- f --\n", nil, "is a file, not a directory: pass the repository's root directory to --repo", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			repo := writeArchive(t, tc.archive)
			switch tc.name {
			case "missing repo":
				repo = filepath.Join(repo, "nope")
			case "repo is a file":
				repo = filepath.Join(repo, "f")
			}
			_, err := Check(CheckOptions{Repo: repo, Docs: tc.docs})
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			msg := strings.ReplaceAll(err.Error(), repo+string(filepath.Separator), "")
			if !strings.Contains(msg, tc.want) {
				t.Errorf("error %q lacks %q", msg, tc.want)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error %q spans several lines", msg)
			}
			if tc.sentry != nil && !errors.Is(err, tc.sentry) {
				t.Errorf("error %v is not %v", err, tc.sentry)
			}
		})
	}
}

func TestCheckWorkflowConstructs(t *testing.T) {
	r, err := Check(CheckOptions{Repo: fixtureRepo(t, "constructs"), Docs: []string{"docs/ci.md"}})
	if err != nil {
		t.Fatal(err)
	}
	jobs := map[string]JobRun{}
	for _, s := range r.Suites {
		for _, j := range s.Jobs {
			jobs[s.Suite] = j
		}
	}
	// The merge key brings runs-on in from an anchor.
	if j := jobs["per-commit-1-gpu"]; strings.Join(j.Labels, ",") != "1-gpu-runner" || j.Partitions != 15 {
		t.Errorf("per-commit-1-gpu: %+v", j)
	}
	if j := jobs["per-commit-4-gpu-b200"]; j.Partitions != 1 || j.SuiteLine != 52 {
		t.Errorf("per-commit-4-gpu-b200: %+v", j)
	}
	// A runner group with labels requests the labels.
	if j := jobs["grouped-1-gpu"]; strings.Join(j.Labels, ",") != "gpu-a" {
		t.Errorf("grouped-1-gpu: %+v", j)
	}
	// A matrix computed at run time cannot be resolved: the runner is
	// dynamic and unresolved, which is reported rather than guessed.
	j := jobs["computed-1-gpu"]
	if !j.Dynamic || len(j.Labels) != 0 || len(j.Unresolved) != 1 {
		t.Errorf("computed-1-gpu: %+v", j)
	}
	if len(r.Mismatches) != 1 || r.Mismatches[0].Kind != KindDynamicLabel || r.Mismatches[0].Suite != "computed-1-gpu" {
		t.Errorf("want one dynamic-label mismatch for computed-1-gpu, got %+v", r.Mismatches)
	}
}

func BenchmarkCheckSample(b *testing.B) {
	b.ReportAllocs()
	src, err := os.ReadFile(filepath.Join("testdata", "sample.txtar"))
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	expandArchive(b, dir, string(src))
	for b.Loop() {
		if _, err := Check(CheckOptions{Repo: dir}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestCheckEmptyRunsOn: an expression that can only produce an empty label
// is reported against the doc, not silently accepted.
func TestCheckEmptyRunsOn(t *testing.T) {
	repo := writeArchive(t, "-- docs/ci.md --\n| Suite | Runner |\n|---|---|\n| `a-1-gpu` | `1-gpu` |\n"+
		"-- .github/workflows/ci.yml --\non: push\njobs:\n  a:\n    runs-on: ${{ false && '1-gpu' }}\n    steps:\n      - run: python run_suite.py --suite a-1-gpu\n")
	r, err := Check(CheckOptions{Repo: repo, Docs: []string{"docs/ci.md"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Mismatches) != 1 || r.Mismatches[0].Kind != KindWrongLabel || !strings.Contains(r.Mismatches[0].Message, "resolves to no runner label") {
		t.Errorf("got %+v", r.Mismatches)
	}
}

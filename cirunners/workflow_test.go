package cirunners

import "testing"

func TestOutputWrite(t *testing.T) {
	tests := []struct {
		line, name, want string
		ok               bool
	}{
		{`echo "b200_runner=4-gpu-b200" >> $GITHUB_OUTPUT`, "b200_runner", "4-gpu-b200", true},
		{`echo "b200_runner=4-gpu-b200" >> "$GITHUB_OUTPUT"`, "b200_runner", "4-gpu-b200", true},
		{`echo b200_runner=4-gpu-b200 >>$GITHUB_OUTPUT`, "b200_runner", "4-gpu-b200", true},
		{`echo "runner=4-gpu" | tee -a "$GITHUB_OUTPUT"`, "runner", "4-gpu", true},
		{`echo 'runner=["self-hosted","gpu"]' >> $GITHUB_OUTPUT`, "runner", `["self-hosted","gpu"]`, true},
		{`echo "my_runner=x" >> $GITHUB_OUTPUT`, "runner", "", false},
		{`echo "::set-output name=runner::1-gpu-h100"`, "runner", "1-gpu-h100", true},
		{`echo "runner=1-gpu"`, "runner", "", false},
	}
	for _, tc := range tests {
		got, ok := outputWrite(tc.line, tc.name)
		if got != tc.want || ok != tc.ok {
			t.Errorf("outputWrite(%q, %q) = %q, %v; want %q, %v", tc.line, tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

func TestShellWordsAndCommands(t *testing.T) {
	cmds := shellCommands("cd test\n# --suite commented-out\npython3 run_suite.py \\\n  --suite a \\\n  --x ${{ matrix.p }}\n")
	if len(cmds) != 2 || cmds[1].line != 2 {
		t.Fatalf("commands %+v", cmds)
	}
	w := shellWords(cmds[1].text)
	want := []string{"python3", "run_suite.py", "--suite", "a", "--x", "${{ matrix.p }}"}
	if len(w) != len(want) {
		t.Fatalf("words %q, want %q", w, want)
	}
	for i := range want {
		if w[i] != want[i] {
			t.Errorf("word %d = %q, want %q", i, w[i], want[i])
		}
	}
	if w := shellWords(`run --suite "$SUITE" # --suite x`); len(w) != 3 || w[2] != "$SUITE" {
		t.Errorf("quoted word and comment: %q", w)
	}
}

// TestActionOutputStaysUnresolved: a runner chosen by an action's output is
// reported as the needs output the job reads, not guessed.
func TestActionOutputStaysUnresolved(t *testing.T) {
	repo := writeArchive(t, `-- docs/ci.md --
| Suite | Runner |
|---|---|
| `+"`build-1-gpu`"+` | `+"`1-gpu-h100`"+` |
-- .github/workflows/ci.yml --
on: push
jobs:
  determine-runner:
    runs-on: ubuntu-latest
    outputs:
      runner: ${{ steps.set-runner.outputs.use-runner }}
    steps:
      - id: set-runner
        uses: example/runner-fallback-action@v1
        with:
          primary-runner: 1-gpu-h100
          fallback-runner: ubuntu-latest
  build:
    needs: determine-runner
    runs-on: ${{ fromJson(needs.determine-runner.outputs.runner) }}
    steps:
      - run: python run_suite.py --suite build-1-gpu
`)
	r, err := Check(CheckOptions{Repo: repo, Docs: []string{"docs/ci.md"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Mismatches) != 1 {
		t.Fatalf("got %+v", r.Mismatches)
	}
	m := r.Mismatches[0]
	if m.Kind != KindDynamicLabel || m.WorkflowLine != 15 || m.DocLine != 3 ||
		m.Message != "job build picks its runner with ${{ fromJson(needs.determine-runner.outputs.runner) }}, which could not be resolved, so the documented 1-gpu-h100 cannot be checked." {
		t.Errorf("got %+v", m)
	}
}

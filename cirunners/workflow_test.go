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

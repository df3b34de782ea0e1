package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTRTLLMOverrideCommand(t *testing.T) {
	src := filepath.Join("..", "..", "live", "testdata", "py_executor_aligned.py")
	want, err := os.ReadFile(src + ".golden")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "site", "py_executor.py")
	code, stdout, stderr := liveRunCLI(t, "trtllm-override", "--source", src, "--output", out)
	if code != 0 || strings.TrimSpace(stdout) != out {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	got, err := os.ReadFile(out)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("patched file differs from the golden (%v):\n%s", err, got)
	}
	// Patching the patched file in place changes nothing and says so.
	code, _, stderr = liveRunCLI(t, "trtllm-override", "--source", out, "--output", out)
	again, _ := os.ReadFile(out)
	if code != 0 || !bytes.Equal(again, want) || !strings.Contains(stderr, "already patched") {
		t.Errorf("second pass: exit %d, stderr %q", code, stderr)
	}
}

func TestTRTLLMOverrideCommandErrors(t *testing.T) {
	bad := filepath.Join("..", "..", "live", "testdata", "py_executor_noprofiler.py")
	out := filepath.Join(t.TempDir(), "out.py")
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"trtllm-override", "--source", bad, "--output", out}, 1, "py_executor_noprofiler.py: could not find 'torch_profiler = torch.profiler.profile('"},
		{[]string{"trtllm-override", "--source", "nope.py", "--output", out}, 1, "read --source nope.py"},
		{[]string{"trtllm-override", "--source", bad}, 2, "--output is required"},
		{[]string{"trtllm-override", "--output", out}, 2, "--source is required"},
	}
	for _, tc := range tests {
		code, _, stderr := liveRunCLI(t, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, stderr, tc.code, tc.want)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a failed patch must not write the output (%v)", err)
	}
}

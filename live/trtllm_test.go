package live

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/")

func TestPatchTRTLLMExecutorGolden(t *testing.T) {
	for _, name := range []string{"py_executor_aligned.py", "py_executor_ownline.py", "py_executor_perrank.py"} {
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			got, err := PatchTRTLLMExecutor(src)
			if err != nil {
				t.Fatalf("PatchTRTLLMExecutor: %v", err)
			}
			golden := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("patched source differs from %s:\n%s", golden, got)
			}
			again, err := PatchTRTLLMExecutor(got)
			if err != nil {
				t.Fatalf("patching the patched source: %v", err)
			}
			if !bytes.Equal(again, got) {
				t.Errorf("patch is not idempotent; second pass gave:\n%s", again)
			}
			if strings.Count(string(got), "with_stack=") != 1 {
				t.Errorf("want exactly one with_stack argument:\n%s", got)
			}
		})
	}
}

func TestPatchTRTLLMExecutorShapes(t *testing.T) {
	const guard = "        enable_torch_trace = bool(torch_trace_path and profile_start_stop)\n"
	tests := []struct {
		name, call, want string
	}{
		{"single line", "torch_profiler = torch.profiler.profile(record_shapes=True)",
			"torch_profiler = torch.profiler.profile(record_shapes=True, with_stack=True)"},
		{"no arguments", "torch_profiler = torch.profiler.profile()",
			"torch_profiler = torch.profiler.profile(with_stack=True)"},
		{"trailing comma same line", "torch_profiler = torch.profiler.profile(record_shapes=True,)",
			"torch_profiler = torch.profiler.profile(record_shapes=True, with_stack=True)"},
		{"string with paren", `torch_profiler = torch.profiler.profile(on_trace_ready=handler("a)b"))`,
			`torch_profiler = torch.profiler.profile(on_trace_ready=handler("a)b"), with_stack=True)`},
		{"already true", "torch_profiler = torch.profiler.profile(with_stack=True, record_shapes=True)",
			"torch_profiler = torch.profiler.profile(with_stack=True, record_shapes=True)"},
		{"false turned true", "torch_profiler = torch.profiler.profile(with_stack = False)",
			"torch_profiler = torch.profiler.profile(with_stack = True)"},
		{"variable kept", "torch_profiler = torch.profiler.profile(with_stack=want_stack)",
			"torch_profiler = torch.profiler.profile(with_stack=want_stack)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := "class PyExecutor:\n    def f(self):\n" + guard + "        " + tc.call + "\n        self.dist = None\n"
			got, err := PatchTRTLLMExecutor([]byte(src))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(got), "        "+tc.want+"\n") {
				t.Errorf("want call %q in:\n%s", tc.want, got)
			}
			if !strings.Contains(string(got), "self.dist.rank == 0") {
				t.Errorf("rank-0 guard missing:\n%s", got)
			}
		})
	}
}

func TestPatchTRTLLMExecutorCRLF(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "py_executor_aligned.py"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join("testdata", "py_executor_aligned.py.golden"))
	if err != nil {
		t.Fatal(err)
	}
	crlf := func(b []byte) []byte { return bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n")) }
	got, err := PatchTRTLLMExecutor(crlf(src))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, crlf(want)) {
		t.Errorf("CRLF source patched differently:\n%q", got)
	}
}

func TestPatchTRTLLMExecutorErrors(t *testing.T) {
	tests := []struct{ file, want string }{
		{"py_executor_noguard.py", "enable_torch_trace = bool(torch_trace_path and profile_start_stop)"},
		{"py_executor_noprofiler.py", "torch.profiler.profile("},
		{"py_executor_unclosed.py", "not closed"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			src, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			out, err := PatchTRTLLMExecutor(src)
			if err == nil {
				t.Fatalf("want an error, got a patch:\n%s", out)
			}
			if !errors.Is(err, ErrPatch) {
				t.Errorf("error %v does not wrap ErrPatch", err)
			}
			if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q: want one line mentioning %q", err, tc.want)
			}
		})
	}
	_, err := PatchTRTLLMExecutor([]byte("x = 1\n"))
	if !errors.Is(err, ErrPatch) {
		t.Errorf("plain file: got %v", err)
	}
}

package live

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzPatchTRTLLMExecutor feeds the patcher's source scanner arbitrary
// Python-like text: it must never panic, fail only with ErrPatch, and be
// idempotent on what it accepts.
func FuzzPatchTRTLLMExecutor(f *testing.F) {
	names, _ := filepath.Glob(filepath.Join("testdata", "py_executor_*.py"))
	for _, name := range names {
		src, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	f.Add([]byte("torch_profiler = torch.profiler.profile(\n)\n"))
	f.Add([]byte("torch_profiler = torch.profiler.profile(a, # )\n b)"))
	f.Add([]byte("torch_profiler = torch.profiler.profile('''x)''', with_stack=False)\nself.dist\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		out, err := PatchTRTLLMExecutor(src)
		if err != nil {
			if !errors.Is(err, ErrPatch) {
				t.Fatalf("error %v does not wrap ErrPatch", err)
			}
			return
		}
		again, err := PatchTRTLLMExecutor(out)
		if err != nil {
			t.Fatalf("patching the patched source failed: %v\n%q", err, out)
		}
		if !bytes.Equal(again, out) {
			t.Fatalf("patch is not idempotent:\nonce:  %q\ntwice: %q", out, again)
		}
	})
}

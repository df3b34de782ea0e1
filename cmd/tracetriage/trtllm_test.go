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
		{[]string{"trtllm-override", "--source", filepath.Dir(out), "--output", out}, 1, "is a directory: pass the py_executor.py file"},
		{[]string{"trtllm-override", "--source", "/dev/zero", "--output", out}, 1, "is larger than"},
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

// liveWriteFile replaces an existing file by renaming a complete copy over
// it, so a failed write (full disk, Ctrl-C) never leaves the old file -
// possibly the only copy of py_executor.py - truncated. The proof: a hard
// link to the old file still holds the old bytes afterwards.
func TestLiveWriteFileReplacesAtomically(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "py_executor.py")
	if err := os.WriteFile(path, []byte("old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(path, filepath.Join(dir, "link")); err != nil {
		t.Skipf("hard links unsupported here: %v", err)
	}
	if err := liveWriteFile(path, []byte("new\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != "new\n" {
		t.Errorf("file holds %q", got)
	}
	if old, _ := os.ReadFile(filepath.Join(dir, "link")); string(old) != "old\n" {
		t.Errorf("the old file was rewritten in place (now %q), not replaced", old)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("mode of the replaced file: %v, %v; want the old 0600 kept", st.Mode(), err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("temporary files left behind: %v", entries)
	}
	// A directory is refused in one line that says so.
	err := liveWriteFile(dir, []byte("x"), 0o644)
	if err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("writing onto a directory: %v", err)
	}
	// Special files (a terminal, /dev/null) are written, not replaced.
	if err := liveWriteFile(os.DevNull, []byte("x"), 0o644); err != nil {
		t.Errorf("write %s: %v", os.DevNull, err)
	}
	if st, err := os.Stat(os.DevNull); err != nil || st.Mode().IsRegular() {
		t.Fatalf("%s was replaced by a regular file", os.DevNull)
	}
}

// Writing through a symbolic link patches the file it points to and keeps
// the link.
func TestLiveWriteFileThroughSymlink(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real.py")
	if err := os.WriteFile(real, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "py_executor.py")
	if err := os.Symlink(real, link); err != nil {
		t.Skipf("symlinks unsupported here: %v", err)
	}
	if err := liveWriteFile(link, []byte("new\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Lstat(link); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced by a file")
	}
	if got, _ := os.ReadFile(real); string(got) != "new\n" {
		t.Errorf("link target holds %q", got)
	}
}

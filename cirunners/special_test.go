//go:build unix

package cirunners

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A named pipe (or any non-regular file) under .github/workflows is
// refused with its name instead of blocking the read forever.
func TestCheckRefusesSpecialWorkflowFile(t *testing.T) {
	repo := writeArchive(t, "-- docs/ci.md --\n| Suite | Runner |\n|---|---|\n| `a-1-gpu` | `1-gpu` |\n"+
		"-- .github/workflows/ci.yml --\non: push\njobs:\n  a:\n    runs-on: 1-gpu\n    steps:\n      - run: python run_suite.py --suite a-1-gpu\n")
	if err := syscall.Mkfifo(filepath.Join(repo, ".github", "workflows", "pipe.yml"), 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := Check(CheckOptions{Repo: repo, Docs: []string{"docs/ci.md"}})
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "pipe.yml") || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("err = %v; want one naming pipe.yml as not a regular file", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Check blocked reading a named pipe")
	}
}

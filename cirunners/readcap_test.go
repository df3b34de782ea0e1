package cirunners

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadCapped checks the size cap at and around the limit.
func TestReadCapped(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte("12345"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		limit   int64
		wantErr bool
	}{{5, false}, {6, false}, {4, true}}
	for _, tc := range tests {
		data, err := readCapped(p, tc.limit)
		if tc.wantErr {
			if !errors.Is(err, ErrTooLarge) {
				t.Errorf("limit %d: error %v, want ErrTooLarge", tc.limit, err)
			}
			continue
		}
		if err != nil || string(data) != "12345" {
			t.Errorf("limit %d: got %q, %v", tc.limit, data, err)
		}
	}
}

// TestCheckRefusesHugeFiles checks that a doc or workflow over
// MaxFileBytes is refused with a one-line error naming it. The files are
// sparse, so the test writes almost nothing.
func TestCheckRefusesHugeFiles(t *testing.T) {
	const doc = "-- docs/ci.md --\n| Suite | Runner |\n|---|---|\n| `a-1-gpu` | `1-gpu` |\n"
	const wf = "-- .github/workflows/ci.yml --\non: push\njobs:\n  a:\n    runs-on: 1-gpu\n    steps:\n      - run: python run_suite.py --suite a-1-gpu\n"
	tests := []struct {
		name, grow, want string
	}{
		{"doc", "docs/ci.md", "read doc docs/ci.md: file too large: over the 64 MiB limit"},
		{"workflow", ".github/workflows/ci.yml", "read workflow .github/workflows/ci.yml: file too large: over the 64 MiB limit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			repo := writeArchive(t, doc+wf)
			if err := os.Truncate(filepath.Join(repo, tc.grow), MaxFileBytes+1); err != nil {
				t.Fatal(err)
			}
			_, err := Check(CheckOptions{Repo: repo, Docs: []string{"docs/ci.md"}})
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error %v, want ErrTooLarge", err)
			}
			if msg := err.Error(); !strings.Contains(msg, tc.want) || strings.Contains(msg, "\n") {
				t.Errorf("error %q, want one line holding %q", msg, tc.want)
			}
		})
	}
}

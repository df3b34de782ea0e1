package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ciRepo writes a small repository: one doc table and one workflow.
func ciRepo(t *testing.T, docRunner string, workflow string) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		".claude/skills/ci-workflow-guide/SKILL.md": "# CI\n\n| Suite | Runner |\n| --- | --- |\n| `unit-1-gpu` | `" + docRunner + "` |\n",
		".github/workflows/ci.yml":                  workflow,
	}
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const ciWorkflow = `on: pull_request
jobs:
  unit:
    runs-on: ${{ github.event_name == 'schedule' && '1-gpu-h100-nightly' || '1-gpu-h100' }}
    steps:
      - run: python3 run_suite.py --suite unit-1-gpu
  lint:
    runs-on: ubuntu-latest
    steps:
      - run: make lint
`

func TestCIRunnersCLI(t *testing.T) {
	clean := ciRepo(t, "1-gpu-h100` / `1-gpu-h100-nightly", ciWorkflow)
	wrong := ciRepo(t, "4-gpu-h100", ciWorkflow)
	broken := ciRepo(t, "1-gpu-h100", "on: push\njobs:\n  a:\n    runs-on: [x\n")
	tests := []struct {
		name       string
		args       []string
		code       int
		stdout     string
		stderr     string
		jsonStdout bool
	}{
		{"clean", []string{"check", "--repo", clean}, 0, "No mismatches.", "", false},
		{"mismatch", []string{"check", "--repo", wrong}, 1, "gpu-count  unit-1-gpu", "2 mismatch(es)", false},
		{"mismatch json", []string{"check", "--format", "json", "--repo", wrong}, 1, `"kind": "wrong-label"`, "2 mismatch(es)", true},
		{"extra doc", []string{"check", "--repo", clean, "--doc", ".claude/skills/ci-workflow-guide/SKILL.md"}, 0, "1 doc(s)", "", false},
		{"malformed yaml", []string{"check", "--repo", broken}, 1, "", ".github/workflows/ci.yml:4", false},
		{"query suite", []string{"query", "--repo", clean, "unit-1-gpu"}, 0, "ci.yml:4  unit  1-gpu-h100, 1-gpu-h100-nightly", "", false},
		{"query label, flags after", []string{"query", "ubuntu-latest", "--repo", clean}, 0, "job  .github/workflows/ci.yml:8  lint", "", false},
		{"query json", []string{"query", "--repo", clean, "--format", "json", "1-gpu-h100"}, 0, `"kind": "label"`, "", true},
		{"query unknown", []string{"query", "--repo", clean, "nope"}, 1, "", "no such suite or runner label", false},
		{"help", []string{"-h"}, 0, "ci-runners check --repo DIR", "", false},
		{"check help", []string{"check", "-h"}, 0, "Usage:", "", false},
		{"no subcommand", nil, 2, "", "missing subcommand", false},
		{"bad subcommand", []string{"lint"}, 2, "", `unknown subcommand "lint"`, false},
		{"no repo", []string{"check"}, 2, "", "--repo DIR is required", false},
		{"bad format", []string{"check", "--repo", clean, "--format", "xml"}, 2, "", `--format "xml"`, false},
		{"bad flag", []string{"check", "--bogus"}, 2, "", "flag provided but not defined", false},
		{"check positional", []string{"check", "--repo", clean, "extra"}, 2, "", "check takes no arguments", false},
		{"query no term", []string{"query", "--repo", clean}, 2, "", "query takes one SUITE or LABEL", false},
		{"missing repo dir", []string{"check", "--repo", filepath.Join(clean, "nope")}, 1, "", "does not exist", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(context.Background(), append([]string{"ci-runners"}, tc.args...), stdio{strings.NewReader(""), &out, &errb})
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, out.String(), errb.String())
			}
			if !strings.Contains(out.String(), tc.stdout) {
				t.Errorf("stdout lacks %q:\n%s", tc.stdout, out.String())
			}
			if !strings.Contains(errb.String(), tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, errb.String())
			}
			if tc.jsonStdout && !json.Valid(out.Bytes()) {
				t.Errorf("stdout is not JSON:\n%s", out.String())
			}
			if n := strings.Count(errb.String(), "\n"); n > 1 {
				t.Errorf("stderr has %d lines, want at most one:\n%s", n, errb.String())
			}
		})
	}
}

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestBundleCommand(t *testing.T) {
	root := filepath.Join("..", "..", "render", "testdata", "bundle", "runs")
	var out, errb bytes.Buffer
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := bundleMain([]string{"--analysis-root", root, "--title", "Fleet"}, stdio{out: &out, err: &errb}, now); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"# Fleet\n\n_Generated on 2026-01-02 03:04:05 UTC_\n", "## Contents\n", "## deepseek-ai/DeepSeek-R1\n", "### vLLM\n", "_Empty analysis output._"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("bundle lacks %q", s)
		}
	}

	file := filepath.Join(t.TempDir(), "reports", "bundle.md")
	code, stdout, stderr := liveRunCLI(t, "bundle", "--analysis-file", "r1="+filepath.Join(root, "deepseek", "analysis.json"), "--no-toc", "--output", file)
	if code != 0 || strings.TrimSpace(stdout) != file {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "## Contents") || !strings.Contains(string(data), "Model id: `r1`") {
		t.Errorf("bundle file:\n%s", data)
	}
}

func TestBundleCommandErrors(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"bundle"}, 2, "nothing to bundle"},
		{[]string{"bundle", "--analysis-file", "gone/a.txt", "--analysis-file", "x=gone/b.txt"}, 1, "missing analysis files: gone/a.txt, gone/b.txt"},
		{[]string{"bundle", "--analysis-root", t.TempDir()}, 1, "no analysis files found under"},
		{[]string{"bundle", "stray"}, 2, `unexpected argument "stray"`},
	}
	for _, tc := range tests {
		code, stdout, stderr := liveRunCLI(t, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) || stdout != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want %d and %q", tc.args, code, stdout, stderr, tc.code, tc.want)
		}
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracetriage/tracetriage/analyzer/trace"
	"github.com/tracetriage/tracetriage/tracegen"
)

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, stdio{strings.NewReader(""), &out, &errb})
	return code, out.String(), errb.String()
}

func TestGenWritesGzipAndTruth(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "v.json.gz")
	truthPath := filepath.Join(dir, "truth.json")
	code, _, stderr := runCLI(t, "gen", "--framework", "vllm", "--stage", "extend", "--steps", "2", "--output", out, "--truth", truthPath)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	src, err := trace.Open(out, nil)
	if err != nil {
		t.Fatal(err)
	}
	src.Close()
	if !src.Gzip {
		t.Error("a .gz output is not gzipped")
	}
	var truth tracegen.Truth
	data, err := os.ReadFile(truthPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &truth); err != nil {
		t.Fatal(err)
	}
	if truth.Framework != "vllm" || truth.Stage != "extend" || truth.Steps != 2 || len(truth.Kernels) == 0 {
		t.Errorf("truth = %+v", truth)
	}
}

func TestGenErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"gen"}, "--output is required"},
		{[]string{"gen", "--framework", "tgi", "--output", filepath.Join(dir, "a.json")}, `framework "tgi"`},
		{[]string{"gen", "--size", "lots", "--output", filepath.Join(dir, "a.json")}, `size "lots"`},
		{[]string{"gen", "--bogus"}, "flag provided but not defined"},
		{[]string{"gen", "--size", "nan", "--output", filepath.Join(dir, "a.json")}, `size "nan"`},
		{[]string{"gen", "--steps", "-5", "--output", filepath.Join(dir, "a.json")}, "--steps -5"},
		{[]string{"gen", "--layers", "-1", "--output", filepath.Join(dir, "a.json")}, "--layers -1"},
		{[]string{"gen", "--output", dir}, "is a directory"},
	}
	for _, c := range cases {
		code, _, stderr := runCLI(t, c.args...)
		if code != 2 || !strings.Contains(stderr, c.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and one line containing %q", c.args, code, stderr, c.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "a.json")); err == nil {
		t.Error("a failed run left a file behind")
	}
}

func TestGenHelp(t *testing.T) {
	code, stdout, stderr := runCLI(t, "gen", "-h")
	if code != 0 || !strings.Contains(stdout, "-framework") || !strings.Contains(stdout, "-output") {
		t.Errorf("gen -h: exit %d, stdout %q, stderr %q; want exit 0 and the flags on stdout", code, stdout, stderr)
	}
}

// A Ctrl-C during a large run stops it promptly and leaves neither the
// output nor a temporary file behind.
func TestGenCtrlC(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "big.json")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"gen", "--size", "500GB", "--output", out}, stdio{strings.NewReader(""), &stdout, &stderr})
	if code != 1 || !strings.Contains(stderr.String(), "interrupted") || strings.Count(stderr.String(), "\n") != 1 {
		t.Errorf("exit %d, stderr %q; want exit 1 and one line saying it was interrupted", code, stderr.String())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("an interrupted run left %d file(s) behind: %v", len(entries), entries)
	}
}

// An output in a directory that does not exist yet is written there, as
// the other commands' --output does.
func TestGenCreatesOutputDir(t *testing.T) {
	out := filepath.Join(t.TempDir(), "new", "dir", "t.json")
	truthPath := filepath.Join(filepath.Dir(out), "more", "truth.json")
	if code, _, stderr := runCLI(t, "gen", "--output", out, "--truth", truthPath); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, p := range []string{out, truthPath} {
		if _, err := os.Stat(p); err != nil {
			t.Error(err)
		}
	}
}

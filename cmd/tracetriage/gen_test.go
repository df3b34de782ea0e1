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

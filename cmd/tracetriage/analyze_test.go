package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tracetriage/tracetriage/analyzer"
)

const fixture = "../../analyzer/testdata/sglang-mini-TP-0.trace.json"

func runAnalyzeCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, stdio{in: strings.NewReader(""), out: &out, err: &errb})
	return code, out.String(), errb.String()
}

func TestAnalyzeText(t *testing.T) {
	code, out, errOut := runAnalyzeCLI(t, "analyze", "--input", fixture)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"Triage View\nMode: single-trace\nFramework: SGLang\n", "##### extend/prefill",
		"| nvjet_tst_64x16 | gemm | 0.030 ms | 76.9% | 1 | python/sglang/srt/layers/linear.py:50 forward | aten::mm |"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if errOut != "" {
		t.Errorf("stderr %q (no progress for a small file on a non-terminal)", errOut)
	}
}

func TestAnalyzeJSON(t *testing.T) {
	code, out, errOut := runAnalyzeCLI(t, "analyze", "--input", fixture, "--format", "json", "--framework", "sgl")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var doc analyzer.Document
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.SchemaVersion != 1 || doc.Framework != "sglang" || len(doc.Stages) != 2 || len(doc.Stages[0].Kernels) != 3 {
		t.Errorf("document %+v", doc)
	}
	if !strings.Contains(out, `"name": "void flashinfer::norm::FusedAddRMSNormKernel<8u, __nv_bfloat16>"`) {
		t.Error("JSON escapes < and >")
	}
	var raw map[string]any
	json.Unmarshal([]byte(out), &raw)
	for _, key := range []string{"schema_version", "tool", "mode", "framework", "inputs", "stages", "warnings"} {
		if _, ok := raw[key]; !ok {
			t.Errorf("JSON lacks %q", key)
		}
	}
}

func TestAnalyzeMarkdownAndLimit(t *testing.T) {
	code, out, _ := runAnalyzeCLI(t, "analyze", "--input", fixture, "--format", "markdown", "--kernel-table-limit", "1")
	kernels := out[:strings.Index(out, "## Overlap Opportunity Table")]
	if code != 0 || !strings.HasPrefix(out, "# Triage View\n") || strings.Contains(kernels, "layernorm.py:177") || !strings.Contains(kernels, "linear.py:50") {
		t.Errorf("exit %d:\n%s", code, out)
	}
}

func TestAnalyzeTwoTrace(t *testing.T) {
	code, out, errOut := runAnalyzeCLI(t, "analyze", "--mapping-input", "../../analyzer/testdata/sglang-mini-capture.json", "--formal-input", fixture)
	if code != 0 || !strings.Contains(out, "Mode: mapping-formal") || !strings.Contains(out, "memory_pool.py:400 set_kv_buffer") {
		t.Errorf("exit %d: %s\n%s", code, errOut, out)
	}
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAnalyzeErrors(t *testing.T) {
	data, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(data)
	zw.Close()
	truncated := writeFile(t, "cut.json.gz", gz.Bytes()[:gz.Len()/2])
	invalid := writeFile(t, "bad.json", []byte(`{"traceEvents": [{"ph": "X",, }]}`))
	notTrace := writeFile(t, "config-like.json", []byte(`{"hello": "world"}`))
	empty := t.TempDir()
	badCatalog := writeFile(t, "bad.yaml", []byte("patterns:\n  - name: x\n    bogus_field: 1\n"))

	tests := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"no input", []string{"analyze"}, 2, []string{"no trace given"}},
		{"bad format", []string{"analyze", "--input", fixture, "--format", "yaml"}, 2, []string{"--format"}},
		{"bad framework", []string{"analyze", "--input", fixture, "--framework", "pytorch"}, 2, []string{"unknown framework"}},
		{"both modes", []string{"analyze", "--input", fixture, "--formal-input", fixture}, 2, []string{"either single-trace mode"}},
		{"input and url", []string{"analyze", "--input", fixture, "--url", "http://127.0.0.1:1"}, 2, []string{"either --input or --url"}},
		{"half two-trace", []string{"analyze", "--formal-input", fixture}, 2, []string{"--mapping-input or --mapping-url"}},
		{"unknown flag", []string{"analyze", "--bogus"}, 2, []string{"bogus"}},
		{"stray argument", []string{"analyze", fixture}, 2, []string{"--input"}},
		{"missing fuse catalog", []string{"analyze", "--input", fixture, "--fuse-catalog", "/nonexistent/x.yaml"}, 1, []string{"/nonexistent/x.yaml"}},
		{"invalid fuse catalog", []string{"analyze", "--input", fixture, "--fuse-catalog", badCatalog}, 1, []string{badCatalog}},
		{"cpuprofile in a missing directory", []string{"analyze", "--input", fixture, "--cpuprofile", "/nonexistent/cpu.pprof"}, 1, []string{"--cpuprofile", "/nonexistent/cpu.pprof"}},
		{"missing file", []string{"analyze", "--input", "/nonexistent/trace.json"}, 1, []string{"/nonexistent/trace.json", "not found"}},
		{"truncated gzip", []string{"analyze", "--input", truncated}, 1, []string{truncated, "truncated", "pass --partial"}},
		{"invalid JSON", []string{"analyze", "--input", invalid}, 1, []string{invalid, "invalid JSON at byte offset"}},
		{"not a trace", []string{"analyze", "--input", notTrace}, 1, []string{notTrace, "not a Chrome trace"}},
		{"empty directory", []string{"analyze", "--input", empty}, 1, []string{empty, "no trace files found"}},
	}
	for _, tt := range tests {
		code, out, errOut := runAnalyzeCLI(t, tt.args...)
		if code != tt.code {
			t.Errorf("%s: exit %d, want %d (stderr %q)", tt.name, code, tt.code, errOut)
		}
		if out != "" {
			t.Errorf("%s: stdout %q", tt.name, out)
		}
		if strings.Count(errOut, "\n") != 1 {
			t.Errorf("%s: error is not one line: %q", tt.name, errOut)
		}
		for _, w := range tt.want {
			if !strings.Contains(errOut, w) {
				t.Errorf("%s: stderr %q lacks %q", tt.name, errOut, w)
			}
		}
	}
}

// --partial analyses the events of a cut file, with a warning, and exits 0.
func TestAnalyzePartial(t *testing.T) {
	gz, err := os.ReadFile("../../testdata/sglang-decode-small.json.gz")
	if err != nil {
		t.Fatal(err)
	}
	cut := writeFile(t, "cut.json.gz", gz[:len(gz)*2/3])
	code, out, errOut := runAnalyzeCLI(t, "analyze", "--input", cut, "--partial")
	if code != 0 || !strings.Contains(out, "cut.json.gz: truncated: the gzip stream ends early") || !strings.Contains(out, "the tables cover only the") || !strings.Contains(out, "| gemm |") {
		t.Errorf("exit %d (stderr %q):\n%s", code, errOut, out)
	}
}

func TestAnalyzeCPUOnly(t *testing.T) {
	code, out, _ := runAnalyzeCLI(t, "analyze", "--input", "../../analyzer/testdata/cpu-only.json")
	if code != 0 || !strings.Contains(out, "cpu-only.json has no GPU kernels") {
		t.Errorf("exit %d:\n%s", code, out)
	}
}

func TestAnalyzeHelp(t *testing.T) {
	code, out, _ := runAnalyzeCLI(t, "analyze", "-h")
	if code != 0 || !strings.Contains(out, "--kernel-table-limit") {
		t.Errorf("exit %d: %s", code, out)
	}
}

func TestProgressReporter(t *testing.T) {
	var buf bytes.Buffer
	p := &progress{w: &buf, lastDecile: -1}
	for _, done := range []int64{1 << 20, 2 << 20, 50 << 20, 100 << 20} {
		p.report(done, 100<<20)
	}
	if got := buf.String(); !strings.Contains(got, "loading trace: 50 of 100 MB (50%)") || strings.Count(got, "\n") != 3 {
		t.Errorf("progress lines %q", got)
	}
	if newProgress(&buf, fixture) != nil || newProgress(&buf, filepath.Dir(fixture)) != nil {
		t.Error("progress for a small file on a non-terminal")
	}
	if n := traceBytes(filepath.Dir(fixture)); n < 3000 {
		t.Errorf("traceBytes(testdata) = %d", n)
	}
}

func TestAnalyzeURLUnreachable(t *testing.T) {
	code, out, errOut := runAnalyzeCLI(t, "analyze", "--url", "http://127.0.0.1:1", "--request-timeout", "2s")
	lines := strings.Split(strings.TrimSpace(errOut), "\n")
	if code != 1 || out != "" || !strings.Contains(lines[len(lines)-1], "127.0.0.1:1") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestAnalyzeTimelineAndOverlap(t *testing.T) {
	code, out, errOut := runAnalyzeCLI(t, "analyze", "--input", fixture, "--timeline", "--overlap-table-limit", "1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"Overlap Opportunity Table\n##### extend/prefill\n| Priority |", "GPU Time Breakdown", "Timeline\n##### extend/prefill around", "legend:", "Fuse Opportunity Table\n##### extend/prefill"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	overlap := out[strings.Index(out, "Overlap Opportunity Table"):strings.Index(out, "Fuse Opportunity Table")]
	if n := len(regexp.MustCompile(`(?m)^\| P\d \|`).FindAllString(overlap, -1)); n != 2 { // one row per stage
		t.Errorf("%d overlap rows with --overlap-table-limit 1:\n%s", n, overlap)
	}
}

// --cpuprofile writes a profile that go tool pprof reads (gzipped protobuf).
func TestAnalyzeCPUProfile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cpu.pprof")
	code, out, errOut := runAnalyzeCLI(t, "analyze", "--input", fixture, "--cpuprofile", path)
	if code != 0 || !strings.Contains(out, "Kernel Table") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) < 2 || data[0] != 0x1f || data[1] != 0x8b {
		t.Fatalf("profile of %d bytes is not a gzipped pprof profile", len(data))
	}
}

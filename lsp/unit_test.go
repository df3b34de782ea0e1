package lsp

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"go.lsp.dev/protocol"
)

func TestParseLocation(t *testing.T) {
	cases := []struct {
		in   string
		path string
		line int
		ok   bool
	}{
		{"python/sglang/srt/layers/layernorm.py:177 forward_cuda", "python/sglang/srt/layers/layernorm.py", 177, true},
		{"forward_cuda @ python/sglang/srt/layers/rotary_embedding/base.py:335", "python/sglang/srt/layers/rotary_embedding/base.py", 335, true},
		{"vllm/_custom_ops.py:12", "vllm/_custom_ops.py", 12, true},
		{"no location", "", 0, false},
		{"x.py:0 f", "", 0, false},
		{"x.py:abc f", "", 0, false},
		{"", "", 0, false},
	}
	for _, c := range cases {
		p, n, ok := parseLocation(c.in)
		if p != c.path || n != c.line || ok != c.ok {
			t.Errorf("parseLocation(%q) = %q, %d, %v; want %q, %d, %v", c.in, p, n, ok, c.path, c.line, c.ok)
		}
	}
}

func TestResolvePaths(t *testing.T) {
	doc, err := LoadDocument(filepath.Join("testdata", "sglang-decode.json"))
	if err != nil {
		t.Fatal(err)
	}
	vdoc, err := LoadDocument(filepath.Join("testdata", "vllm-eager.json"))
	if err != nil {
		t.Fatal(err)
	}
	sg, vl := NewIndex(doc, ""), NewIndex(vdoc, "")
	const key = "python/sglang/srt/layers/layernorm.py"
	cases := []struct {
		name  string
		ix    *Index
		abs   string
		roots []string
		want  string
	}{
		{"checkout root", sg, "/src/sglang/" + key, []string{"/src/sglang"}, key},
		{"other root", sg, "/home/me/fork/" + key, []string{"/home/me/work"}, key},
		{"site-packages", sg, "/venv/lib/python3.12/site-packages/sglang/srt/layers/layernorm.py", nil, key},
		{"python folder opened", sg, "/src/sglang/python/sglang/srt/layers/layernorm.py", []string{"/src/sglang/python"}, key},
		{"vllm checkout", vl, "/src/vllm/vllm/_custom_ops.py", []string{"/src/vllm"}, "vllm/_custom_ops.py"},
		{"vllm site-packages", vl, "/usr/lib/python3/dist-packages/vllm/_custom_ops.py", nil, "vllm/_custom_ops.py"},
		{"same name elsewhere", sg, "/src/other/layers/layernorm.py", nil, ""},
		{"bare file name", sg, "/tmp/layernorm.py", nil, ""},
		{"file the trace does not name", sg, "/src/sglang/python/sglang/srt/server.py", []string{"/src/sglang"}, ""},
	}
	for _, c := range cases {
		if got := c.ix.Resolve(c.abs, c.roots); got != c.want {
			t.Errorf("%s: Resolve(%q) = %q, want %q", c.name, c.abs, got, c.want)
		}
	}
}

func TestIndexTotalsAndStages(t *testing.T) {
	doc, err := LoadDocument(filepath.Join("testdata", "sglang-decode.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		want, stage string
		gpu         float64
	}{
		{"", "decode", 160.2},
		{"all", "all", 280.4},
		{"extend", "decode", 160.2}, // absent: the first stage that is not "all"
	} {
		ix := NewIndex(doc, c.want)
		if ix.Stage() != c.stage {
			t.Errorf("NewIndex(%q).Stage() = %q, want %q", c.want, ix.Stage(), c.stage)
		}
		li := ix.Line("python/sglang/srt/layers/layernorm.py", 177)
		if gpu, _, _ := li.Total(); gpu < c.gpu-0.01 || gpu > c.gpu+0.01 {
			t.Errorf("stage %q: line 177 GPU %.2f µs, want %.2f", c.stage, gpu, c.gpu)
		}
	}
	ix := NewIndex(doc, "")
	hot := ix.Hot(3, 1)
	var got []string
	for _, li := range hot {
		got = append(got, li.Path)
	}
	want := []string{
		"python/sglang/srt/layers/quantization/unquant.py",
		"python/sglang/srt/distributed/parallel_state.py",
		"python/sglang/srt/layers/activation.py",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Hot(3) = %v, want %v", got, want)
	}
	if ix.Line("", 0) != nil || len(ix.Lines("")) != 0 {
		t.Error("the unresolved site was indexed")
	}
}

func TestFormat(t *testing.T) {
	cases := []struct {
		us, pct float64
		want    string
	}{
		{1300, 31.5, "⏱ 1.30 ms · 31.5%"},
		{140.2, 3.4, "⏱ 0.14 ms · 3.4%"},
		{7.06, 0.04, "⏱ 7.1 µs · 0.0%"},
		{123456, 99.95, "⏱ 123.46 ms · 100.0%"},
	}
	for _, c := range cases {
		if got := inlayLabel(c.us, c.pct); got != c.want {
			t.Errorf("inlayLabel(%v, %v) = %q, want %q", c.us, c.pct, got, c.want)
		}
	}
}

func TestPyFunctions(t *testing.T) {
	src := `import torch

@torch.compile
def top(x):
    y = x + 1

    # comment at a lower indent is fine
    return y

class A:
    def method(
        self,
        x,
    ):
        def inner(z):
            return z
        return inner(x)

    async def fetch(self):
        await thing()
x = 1
def last(): return 2
`
	got := pyFunctions(splitLines(src))
	type fn struct {
		name     string
		def, end int
		col      int
	}
	want := []fn{
		{"top", 3, 7, 4},
		{"method", 10, 16, 8},
		{"inner", 14, 15, 12},
		{"fetch", 18, 19, 14},
		{"last", 21, 21, 4},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d functions %+v, want %d", len(got), got, len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.name != w.name || g.defLine != w.def || g.end != w.end || g.nameStart != w.col {
			t.Errorf("function %d = %s lines %d-%d col %d, want %s lines %d-%d col %d",
				i, g.name, g.defLine, g.end, g.nameStart, w.name, w.def, w.end, w.col)
		}
	}
}

func TestApplyChangesUTF16(t *testing.T) {
	text := "a😀b\nsecond line\n"
	pos := func(l, c uint32) protocol.Position { return protocol.Position{Line: l, Character: c} }
	cases := []struct {
		name   string
		change protocol.TextDocumentContentChangeEvent
		want   string
	}{
		{"after the emoji (two UTF-16 units)", &protocol.TextDocumentContentChangePartial{
			Range: protocol.Range{Start: pos(0, 3), End: pos(0, 4)}, Text: "B"}, "a😀B\nsecond line\n"},
		{"across lines", &protocol.TextDocumentContentChangePartial{
			Range: protocol.Range{Start: pos(0, 4), End: pos(1, 6)}, Text: "+"}, "a😀b+ line\n"},
		{"past the end is clamped", &protocol.TextDocumentContentChangePartial{
			Range: protocol.Range{Start: pos(9, 0), End: pos(12, 3)}, Text: "tail"}, "a😀b\nsecond line\ntail"},
		{"column past the line end", &protocol.TextDocumentContentChangePartial{
			Range: protocol.Range{Start: pos(0, 99), End: pos(0, 99)}, Text: "!"}, "a😀b!\nsecond line\n"},
		{"reversed range", &protocol.TextDocumentContentChangePartial{
			Range: protocol.Range{Start: pos(1, 6), End: pos(1, 0)}, Text: ""}, "a😀b\n line\n"},
		{"whole document", &protocol.TextDocumentContentChangeWholeDocument{Text: "new"}, "new"},
	}
	for _, c := range cases {
		got, err := applyChanges(text, []protocol.TextDocumentContentChangeEvent{c.change})
		if err != nil || got != c.want {
			t.Errorf("%s: got %q, %v; want %q", c.name, got, err, c.want)
		}
	}
	if n := utf16Len("a😀b"); n != 4 {
		t.Errorf("utf16Len = %d, want 4", n)
	}
}

func TestParseSettings(t *testing.T) {
	base := Config{TraceDir: "keep"}
	cases := []struct {
		name, raw string
		want      Config
		err       bool
	}{
		{"section", `{"tracetriage":{"trace":"a.json.gz","stage":"all"}}`, Config{Trace: "a.json.gz", Stage: "all", TraceDir: "keep"}, false},
		{"flat keys", `{"tracetriage.trace":"b.json","tracetriage.hotLines":3}`, Config{Trace: "b.json", HotLines: 3, TraceDir: "keep"}, false},
		{"bare initializationOptions", `{"traceDir":"profiles","framework":"vllm"}`, Config{TraceDir: "profiles", Framework: "vllm"}, false},
		{"pair", `{"tracetriage":{"mapping":"m.json","formal":"f.json"}}`, Config{Mapping: "m.json", Formal: "f.json", TraceDir: "keep"}, false},
		{"null", `null`, base, false},
		{"half a pair", `{"tracetriage":{"mapping":"m.json"}}`, base, true},
		{"wrong type", `{"tracetriage":{"trace":5}}`, base, true},
		{"not an object", `[1]`, base, true},
	}
	for _, c := range cases {
		got, err := parseSettings([]byte(c.raw), base)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("%s: parseSettings = %+v, %v; want %+v, error %v", c.name, got, err, c.want, c.err)
		}
	}
}

func TestResolveTrace(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "profiles")
	mk := func(rel string, age time.Duration) string {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
		ts := time.Now().Add(-age)
		if err := os.Chtimes(p, ts, ts); err != nil {
			t.Fatal(err)
		}
		return p
	}
	mk("old-TP-0-DECODE.trace.json.gz", 2*time.Hour)
	newest := mk("run/new-TP-0-DECODE.trace.json.gz", time.Minute)
	mk("notes.txt", 0)

	opts, err := Config{TraceDir: "profiles"}.resolve([]string{root})
	if err != nil || opts.Input != newest {
		t.Errorf("newest = %q, %v; want %q", opts.Input, err, newest)
	}
	// A run folder with a trace per rank: the folder goes to the engine.
	mk("sglang-run/1782843274.77-TP-0-DECODE.trace.json.gz", 0)
	mk("sglang-run/1782843274.77-TP-1-DECODE.trace.json.gz", 0)
	opts, err = Config{TraceDir: "profiles"}.resolve([]string{root})
	if want := filepath.Join(dir, "sglang-run"); err != nil || opts.Input != want {
		t.Errorf("newest run folder = %q, %v; want %q", opts.Input, err, want)
	}
	opts, err = Config{Trace: "t.json"}.resolve([]string{root})
	if err != nil || opts.Input != filepath.Join(root, "t.json") {
		t.Errorf("relative trace = %q, %v", opts.Input, err)
	}
	opts, err = Config{Mapping: "/m.json", Formal: "f.json", Framework: "sglang"}.resolve([]string{root})
	if err != nil || opts.MappingInput != "/m.json" || opts.FormalInput != filepath.Join(root, "f.json") || opts.Framework != "sglang" {
		t.Errorf("pair = %+v, %v", opts, err)
	}
	if _, err := (Config{}).resolve([]string{root}); err == nil {
		t.Error("no trace under the default folder: want an error")
	}
	// The fingerprint sees a new file in a profile directory.
	dirOpts, _ := Config{Trace: dir}.resolve(nil)
	fp1 := fingerprint(dirOpts)
	mk("run/newer.json", 0)
	if fp2 := fingerprint(dirOpts); fp1 == fp2 {
		t.Error("fingerprint of the profile directory did not change with a new trace")
	}
}

func TestSavedAnalysisDetection(t *testing.T) {
	dir := t.TempDir()
	kineto := filepath.Join(dir, "k.json")
	if err := os.WriteFile(kineto, []byte(`{"schemaVersion": 1, "traceEvents": []}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if isAnalysisDocument(kineto) {
		t.Error("a Kineto trace was taken for an analysis document")
	}
	if !isAnalysisDocument(filepath.Join("testdata", "sglang-decode.json")) {
		t.Error("the fixture analysis was not recognised")
	}
	future := filepath.Join(dir, "a.json")
	if err := os.WriteFile(future, []byte(`{"schema_version": 99, "stages": []}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadDocument(future); err == nil {
		t.Error("a document of another schema version loaded")
	}
}

func TestOverlapFindingOnScopeAndKernelLines(t *testing.T) {
	doc, err := LoadDocument(filepath.Join("testdata", "sglang-decode.json"))
	if err != nil {
		t.Fatal(err)
	}
	doc.Stages[0].Overlap[0].Scope = "python/sglang/srt/layers/linear.py:1330 forward"
	ix := NewIndex(doc, "")
	for _, loc := range []struct {
		path string
		line int
	}{
		{"python/sglang/srt/layers/linear.py", 1330},             // the scope
		{"python/sglang/srt/distributed/parallel_state.py", 520}, // launched the kernel
	} {
		li := ix.Line(loc.path, loc.line)
		if li == nil || len(li.Overlap) != 1 || li.Overlap[0].Row.Priority != "P1" {
			t.Errorf("%s:%d: overlap %+v, want the P1 finding once", loc.path, loc.line, li)
		}
	}
}

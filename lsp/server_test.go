package lsp

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"

	"github.com/tracetriage/tracetriage/analyzer"
	"github.com/tracetriage/tracetriage/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test ./lsp -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test ./lsp -update rewrites it)\n--- got ---\n%s\n--- want ---\n%s", name, got, want)
	}
}

func TestInitializeAdvertisesFeatures(t *testing.T) {
	h := start(t, Options{Version: "9.9.9"})
	res := h.initialize(t.TempDir(), nil)
	c := res.Capabilities
	if c.HoverProvider != protocol.Boolean(true) {
		t.Errorf("hoverProvider = %v", c.HoverProvider)
	}
	if c.InlayHintProvider != protocol.Boolean(true) {
		t.Errorf("inlayHintProvider = %v", c.InlayHintProvider)
	}
	if c.CodeLensProvider == nil {
		t.Error("no codeLensProvider")
	}
	sync, ok := c.TextDocumentSync.(*protocol.TextDocumentSyncOptions)
	if !ok || sync.Change == nil || *sync.Change != protocol.TextDocumentSyncKindIncremental {
		t.Errorf("textDocumentSync = %#v, want incremental", c.TextDocumentSync)
	}
	if res.ServerInfo.Name != "tracetriage" {
		t.Errorf("serverInfo.name = %q", res.ServerInfo.Name)
	}
	if v, _ := res.ServerInfo.Version.Get(); v != "9.9.9" {
		t.Errorf("serverInfo.version = %q", v)
	}
}

func TestHoverShowsKernelsOfLine(t *testing.T) {
	root, trace := sglangWorkspace(t)
	h := start(t, Options{})
	h.initialize(root, map[string]any{"tracetriage": map[string]any{"trace": trace}})
	h.waitIndexed()
	u := h.open(filepath.Join(root, "python/sglang/srt/layers/layernorm.py"), "python")

	hv := h.hover(u, 176) // line 177
	text := hoverText(t, hv)
	for _, want := range []string{
		"| Kernel | Category | GPU time | Share of stage | Launches | Stage |",
		"`void flashinfer::norm::FusedAddRMSNormKernel<8u, __nv_bfloat16>` | norm | 0.14 ms | 3.4% | 24 | decode |",
		"`void flashinfer::norm::RMSNormKernel<8u, __nv_bfloat16>` | norm | 20.0 µs | 0.5% | 8 | decode |",
		"| 0.28 ms | 3.4% | 48 | all |",
		"**CPU op:** `sgl_kernel::fused_add_rmsnorm`, `sgl_kernel::rmsnorm`",
		"python/sglang/srt/models/qwen3.py:400 forward",
		"**Fusion opportunity:** Fused residual add + RMSNorm (Confirmed, 3.4% of decode GPU time)",
		"`python/sglang/srt/layers/layernorm.py`",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("hover lacks %q:\n%s", want, text)
		}
	}
	if hv.Range == nil || hv.Range.Start.Line != 176 || hv.Range.End.Character == 0 {
		t.Errorf("hover range = %+v, want line 176 up to its end", hv.Range)
	}
	golden(t, "hover-layernorm-177.golden", text)

	if hv := h.hover(u, 177); hv != nil {
		t.Errorf("hover on a line without kernels = %v, want none", hoverText(t, hv))
	}

	// Overlap finding on the all-reduce line; the file is not open.
	ps := uri.File(filepath.Join(root, "python/sglang/srt/distributed/parallel_state.py"))
	text = hoverText(t, h.hover(ps, 519))
	if !strings.Contains(text, "**Overlap P1** (headroom)") || !strings.Contains(text, "try overlap") {
		t.Errorf("hover of the all-reduce line lacks the overlap finding:\n%s", text)
	}
}

func TestInlayHintsAtEndOfKernelLines(t *testing.T) {
	root, trace := sglangWorkspace(t)
	h := start(t, Options{})
	h.initialize(root, map[string]any{"tracetriage.trace": trace})
	h.waitIndexed()
	path := filepath.Join(root, "python/sglang/srt/layers/layernorm.py")
	u := h.open(path, "python")

	hints, err := h.server.InlayHint(h.ctx, &protocol.InlayHintParams{
		TextDocument: protocol.TextDocumentIdentifier{URI: u},
		Range:        protocol.Range{End: protocol.Position{Line: 400}},
	})
	if err != nil {
		t.Fatal(err)
	}
	line177 := pySources["python/sglang/srt/layers/layernorm.py"][177]
	want := []struct {
		line  uint32
		char  uint32
		label string
	}{
		// 140.2 µs + 40% of 50 µs; 3.4% + 40% of 1.2%.
		{176, uint32(len(line177)), "⏱ 0.16 ms · 3.9%"},
		{189, uint32(len(pySources["python/sglang/srt/layers/layernorm.py"][190])), "⏱ 30.0 µs · 0.7%"},
	}
	if len(hints) != len(want) {
		t.Fatalf("got %d hints, want %d: %+v", len(hints), len(want), hints)
	}
	for i, w := range want {
		got := hints[i]
		if got.Position.Line != w.line || got.Position.Character != w.char {
			t.Errorf("hint %d at %+v, want line %d char %d", i, got.Position, w.line, w.char)
		}
		if got.Label != protocol.String(w.label) {
			t.Errorf("hint %d label %v, want %q", i, got.Label, w.label)
		}
	}

	// Only the requested range.
	hints, err = h.server.InlayHint(h.ctx, &protocol.InlayHintParams{
		TextDocument: protocol.TextDocumentIdentifier{URI: u},
		Range:        protocol.Range{Start: protocol.Position{Line: 180}, End: protocol.Position{Line: 195}},
	})
	if err != nil || len(hints) != 1 || hints[0].Position.Line != 189 {
		t.Errorf("hints in lines 180-195 = %+v, %v; want the one on line 189", hints, err)
	}
}

func TestCodeLensTotalsEnclosingFunction(t *testing.T) {
	root, trace := sglangWorkspace(t)
	h := start(t, Options{})
	h.initialize(root, map[string]any{"tracetriage": map[string]any{"trace": trace}})
	h.waitIndexed()
	u := h.open(filepath.Join(root, "python/sglang/srt/layers/layernorm.py"), "python")

	lenses, err := h.server.CodeLens(h.ctx, &protocol.CodeLensParams{TextDocument: protocol.TextDocumentIdentifier{URI: u}})
	if err != nil {
		t.Fatal(err)
	}
	// class RMSNorm holds no def of its own; forward_cuda holds lines 177
	// and 190; forward_native holds none.
	if len(lenses) != 1 {
		t.Fatalf("got %d lenses, want 1: %+v", len(lenses), lenses)
	}
	l := lenses[0]
	if l.Range.Start.Line != 169 || l.Range.Start.Character != 8 || l.Range.End.Character != 8+uint32(len("forward_cuda")) {
		t.Errorf("lens range %+v, want the name forward_cuda on line 169", l.Range)
	}
	// 140.2 + 20 + 30 µs; 3.4 + 0.48 + 0.72 %.
	if want := "⏱ 0.19 ms GPU · 4.6% of decode · 3 kernels from 2 lines"; l.Command.Title != want {
		t.Errorf("lens title %q, want %q", l.Command.Title, want)
	}
}

func TestDiagnosticsForHotLinesAndFusion(t *testing.T) {
	root, trace := sglangWorkspace(t)
	h := start(t, Options{})
	h.initialize(root, map[string]any{"tracetriage": map[string]any{"trace": trace}})
	h.waitIndexed()

	// Published for files in the workspace without opening them.
	ln := uri.File(filepath.Join(root, "python/sglang/srt/layers/layernorm.py"))
	var diags []protocol.Diagnostic
	h.waitFor("diagnostics of layernorm.py", func() bool {
		diags, _ = h.diagsOf(ln)
		return len(diags) > 0
	})
	var hot, fusion int
	for _, d := range diags {
		if d.Severity != protocol.DiagnosticSeverityInformation && d.Severity != protocol.DiagnosticSeverityHint {
			t.Errorf("diagnostic severity %d, want information or hint: %+v", d.Severity, d)
		}
		msg := string(d.Message.(protocol.String))
		switch d.Code {
		case protocol.String(codeHotLine):
			hot++
			if d.Range.Start.Line != 176 || !strings.Contains(msg, "GPU hot spot #4 in decode: 0.16 ms (3.9% of the stage)") {
				t.Errorf("hot-line diagnostic %+v: %s", d.Range, msg)
			}
		case protocol.String(codeFusion):
			fusion++
			if d.Range.Start.Line != 176 || !strings.Contains(msg, "Fused residual add + RMSNorm") ||
				!strings.Contains(msg, "candidate fused path: python/sglang/srt/layers/layernorm.py") {
				t.Errorf("fusion diagnostic %+v: %s", d.Range, msg)
			}
		default:
			t.Errorf("unexpected diagnostic %v: %s", d.Code, msg)
		}
		if src, _ := d.Source.Get(); src != "tracetriage" {
			t.Errorf("source %q", src)
		}
	}
	// Line 190 takes 0.7% of the stage: under the 1% bar.
	if hot != 1 || fusion != 1 {
		t.Errorf("got %d hot-line and %d fusion diagnostics, want 1 and 1", hot, fusion)
	}

	// The overlap finding is a hint; the candidate path of the RoPE fusion
	// is in its message.
	ps := uri.File(filepath.Join(root, "python/sglang/srt/distributed/parallel_state.py"))
	h.waitFor("diagnostics of parallel_state.py", func() bool {
		d, _ := h.diagsOf(ps)
		for _, x := range d {
			if x.Code == protocol.String(codeOverlap) && x.Severity == protocol.DiagnosticSeverityHint {
				return true
			}
		}
		return false
	})
	// A pattern that already runs fused is a hint, not an opportunity.
	act := uri.File(filepath.Join(root, "python/sglang/srt/layers/activation.py"))
	h.waitFor("the already-fused hint", func() bool {
		d, _ := h.diagsOf(act)
		for _, x := range d {
			if x.Code == protocol.String(codeFusion) && x.Severity == protocol.DiagnosticSeverityHint &&
				strings.HasPrefix(string(x.Message.(protocol.String)), "Already fused: Fused activation-and-mul (SwiGLU / GeGLU) (4.9% of decode GPU time)") {
				return true
			}
		}
		return false
	})
	rope := uri.File(filepath.Join(root, "python/sglang/srt/layers/rotary_embedding/base.py"))
	h.waitFor("the RoPE fusion diagnostic", func() bool {
		d, _ := h.diagsOf(rope)
		for _, x := range d {
			if x.Code == protocol.String(codeFusion) &&
				strings.Contains(string(x.Message.(protocol.String)), "python/sglang/srt/layers/attention/utils.py") {
				return true
			}
		}
		return false
	})
}

func TestSuffixMatchLightsUpOtherLayouts(t *testing.T) {
	trace := copyFixture(t, "sglang-decode.json", t.TempDir())
	cases := []struct {
		name, strip, prefix, file string
	}{
		{"site-packages", "python/", "venv/lib/python3.11/site-packages/", "venv/lib/python3.11/site-packages/sglang/srt/layers/layernorm.py"},
		{"other checkout root", "", "src/sglang-fork/", "src/sglang-fork/python/sglang/srt/layers/layernorm.py"},
		{"python folder as root", "python/", "", "sglang/srt/layers/layernorm.py"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			writeSources(t, root, c.strip, c.prefix)
			h := start(t, Options{})
			h.initialize(root, map[string]any{"tracetriage": map[string]any{"trace": trace}})
			h.waitIndexed()
			u := h.open(filepath.Join(root, filepath.FromSlash(c.file)), "python")
			text := hoverText(t, h.hover(u, 176))
			if !strings.Contains(text, "FusedAddRMSNormKernel") {
				t.Errorf("hover lacks the kernel:\n%s", text)
			}
		})
	}
}

func TestVLLMCheckout(t *testing.T) {
	root := t.TempDir()
	src := filepath.Join(root, "vllm", "_custom_ops.py")
	if err := os.MkdirAll(filepath.Dir(src), 0o755); err != nil {
		t.Fatal(err)
	}
	body := strings.Repeat("\n", 300) + "def rms_norm(out, input, weight, epsilon):\n" + strings.Repeat("\n", 10) +
		"    torch.ops._C.rms_norm(out, input, weight, epsilon)\n"
	if err := os.WriteFile(src, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	trace := copyFixture(t, "vllm-eager.json", t.TempDir())
	h := start(t, Options{})
	h.initialize(root, map[string]any{"tracetriage": map[string]any{"trace": trace}})
	h.waitIndexed()
	u := h.open(src, "python")
	text := hoverText(t, h.hover(u, 311))
	if !strings.Contains(text, "vllm::rms_norm_kernel") || !strings.Contains(text, "| all |") {
		t.Errorf("hover:\n%s", text)
	}
	lenses, err := h.server.CodeLens(h.ctx, &protocol.CodeLensParams{TextDocument: protocol.TextDocumentIdentifier{URI: u}})
	if err != nil || len(lenses) != 1 || lenses[0].Range.Start.Line != 300 {
		t.Errorf("lenses = %+v, %v; want one on the def at line 300", lenses, err)
	}
}

func TestNonPythonFilesGetNothing(t *testing.T) {
	root, trace := sglangWorkspace(t)
	// A file that is not Python at a path the trace names, bar the suffix.
	txt := filepath.Join(root, "python/sglang/srt/layers/layernorm.txt")
	b, _ := os.ReadFile(filepath.Join(root, "python/sglang/srt/layers/layernorm.py"))
	if err := os.WriteFile(txt, b, 0o644); err != nil {
		t.Fatal(err)
	}
	h := start(t, Options{})
	h.initialize(root, map[string]any{"tracetriage": map[string]any{"trace": trace}})
	h.waitIndexed()
	u := h.open(txt, "plaintext")
	if hv := h.hover(u, 176); hv != nil {
		t.Errorf("hover on a text file: %+v", hv)
	}
	hints, err := h.server.InlayHint(h.ctx, &protocol.InlayHintParams{
		TextDocument: protocol.TextDocumentIdentifier{URI: u},
		Range:        protocol.Range{End: protocol.Position{Line: 400}},
	})
	if err != nil || len(hints) != 0 {
		t.Errorf("inlay hints on a text file: %+v, %v", hints, err)
	}
	lenses, err := h.server.CodeLens(h.ctx, &protocol.CodeLensParams{TextDocument: protocol.TextDocumentIdentifier{URI: u}})
	if err != nil || len(lenses) != 0 {
		t.Errorf("code lenses on a text file: %+v, %v", lenses, err)
	}
	// A non-file URI.
	if hv := h.hover(uri.URI("untitled:Untitled-1"), 0); hv != nil {
		t.Errorf("hover on an untitled buffer: %+v", hv)
	}
	if d, n := h.diagsOf(u); n != 0 {
		t.Errorf("diagnostics on a text file: %+v", d)
	}
}

// TestRealTrace runs the real engine (through the server's default
// AnalyzeFunc) on a trace from ../shared, on a workspace laid out like the
// trace's hottest line, and checks every request against the index.
func TestRealTrace(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the engine on real traces; skipped with -short (the race run)")
	}
	for name, trace := range e2eTraces(t) {
		if !strings.HasPrefix(name, "real-") {
			continue
		}
		t.Run(name, func(t *testing.T) { testRealTrace(t, trace(t)) })
	}
}

func testRealTrace(t *testing.T, trace string) {
	{
		sc := newScenario(t, trace)
		h := startWith(t, Options{}, sc.root, map[string]any{"tracetriage": map[string]any{"trace": sc.trace}})
		u := h.open(sc.file, "python")
		text := hoverText(t, h.hover(u, uint32(sc.line)))
		for _, want := range sc.hoverHas {
			if !strings.Contains(text, want) {
				t.Errorf("hover lacks %q:\n%s", want, text)
			}
		}
		hints, err := h.server.InlayHint(h.ctx, &protocol.InlayHintParams{
			TextDocument: protocol.TextDocumentIdentifier{URI: u},
			Range:        protocol.Range{End: protocol.Position{Line: uint32(sc.line + 1)}},
		})
		if err != nil || len(hints) == 0 || hints[len(hints)-1].Label != protocol.String(sc.hint) {
			t.Errorf("inlay hints %+v, %v; want the last %q", hints, err, sc.hint)
		}
		lenses, err := h.server.CodeLens(h.ctx, &protocol.CodeLensParams{TextDocument: protocol.TextDocumentIdentifier{URI: u}})
		if err != nil || len(lenses) != 1 || lenses[0].Command.Title != sc.lens {
			t.Errorf("code lenses %+v, %v; want %q", lenses, err, sc.lens)
		}
		h.waitFor("the hot-spot diagnostic", func() bool {
			d, _ := h.diagsOf(u)
			for _, x := range d {
				if x.Code == protocol.String(codeHotLine) && int(x.Range.Start.Line) == sc.line {
					return true
				}
			}
			return false
		})
	}
}

func TestDidCloseFallsBackToTheFileOnDisk(t *testing.T) {
	root, trace := sglangWorkspace(t)
	h := startWith(t, Options{}, root, map[string]any{"tracetriage": map[string]any{"trace": trace}})
	path := filepath.Join(root, "python/sglang/srt/layers/layernorm.py")
	disk, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	u := uri.File(path)
	// The editor's copy has two more lines at the top than the file.
	if err := h.server.DidOpen(h.ctx, &protocol.DidOpenTextDocumentParams{TextDocument: protocol.TextDocumentItem{
		URI: u, LanguageID: "python", Version: 1, Text: "#\n#\n" + string(disk),
	}}); err != nil {
		t.Fatal(err)
	}
	lensLine := func() int {
		t.Helper()
		lenses, err := h.server.CodeLens(h.ctx, &protocol.CodeLensParams{TextDocument: protocol.TextDocumentIdentifier{URI: u}})
		if err != nil || len(lenses) != 1 {
			t.Fatalf("lenses %+v, %v", lenses, err)
		}
		return int(lenses[0].Range.Start.Line)
	}
	if got := lensLine(); got != 171 {
		t.Errorf("lens on the open document at line %d, want 171", got)
	}
	if err := h.server.DidClose(h.ctx, &protocol.DidCloseTextDocumentParams{TextDocument: protocol.TextDocumentIdentifier{URI: u}}); err != nil {
		t.Fatal(err)
	}
	if got := lensLine(); got != 169 {
		t.Errorf("lens after close at line %d, want 169 (the file on disk)", got)
	}
}

func TestWorkspaceFolderAddedLater(t *testing.T) {
	empty := t.TempDir()
	h := start(t, Options{})
	h.initialize(empty, nil) // no trace anywhere yet
	h.waitFor("the no-trace message", func() bool {
		h.rec.mu.Lock()
		defer h.rec.mu.Unlock()
		return len(h.rec.messages) == 1
	})
	root := t.TempDir()
	writeSources(t, root, "", "")
	copyFixture(t, "sglang-decode.json", filepath.Join(root, filepath.FromSlash(DefaultTraceDir)))
	err := h.server.DidChangeWorkspaceFolders(h.ctx, &protocol.DidChangeWorkspaceFoldersParams{Event: protocol.WorkspaceFoldersChangeEvent{
		Added:   []protocol.WorkspaceFolder{{URI: uri.File(root), Name: "sglang"}},
		Removed: []protocol.WorkspaceFolder{{URI: uri.File(empty), Name: "ws"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	h.waitIndexed()
	if roots := h.srv.snapshot().roots; len(roots) != 1 || roots[0] != root {
		t.Errorf("roots %v, want [%s]", roots, root)
	}
	u := h.open(filepath.Join(root, "python/sglang/srt/layers/layernorm.py"), "python")
	if !strings.Contains(hoverText(t, h.hover(u, 176)), "FusedAddRMSNormKernel") {
		t.Error("hover after adding the folder lacks the kernel")
	}
}

// TestRealTracePair runs two-trace mode (the tracetriage.mapping and
// tracetriage.formal settings) on SGLang's graph capture + replay pair: the
// replayed kernels get their Python lines from the capture.
func TestRealTracePair(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the engine on real traces; skipped with -short (the race run)")
	}
	mapping := testutil.SharedFile(t, "traces/llm-serving/sglang_mi300x_qwen3-8b_decode_graph_capture_bs32_rank0.json.gz")
	formal := testutil.SharedFile(t, "traces/llm-serving/sglang_mi300x_qwen3-8b_decode_graph_replay.json.gz")
	sc := newScenarioFor(t, analyzer.Options{MappingInput: mapping, FormalInput: formal})
	h := startWith(t, Options{}, sc.root, map[string]any{"tracetriage": map[string]any{"mapping": mapping, "formal": formal}})
	if mode := h.srv.snapshot().index.Document().Mode; mode != analyzer.ModeTwo {
		t.Errorf("mode %q, want %q", mode, analyzer.ModeTwo)
	}
	u := h.open(sc.file, "python")
	text := hoverText(t, h.hover(u, uint32(sc.line)))
	for _, want := range sc.hoverHas {
		if !strings.Contains(text, want) {
			t.Errorf("hover lacks %q:\n%s", want, text)
		}
	}
	lenses, err := h.server.CodeLens(h.ctx, &protocol.CodeLensParams{TextDocument: protocol.TextDocumentIdentifier{URI: u}})
	if err != nil || len(lenses) != 1 || lenses[0].Command.Title != sc.lens {
		t.Errorf("code lenses %+v, %v; want %q", lenses, err, sc.lens)
	}
}

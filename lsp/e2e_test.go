package lsp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracetriage/tracetriage/analyzer"
	"github.com/tracetriage/tracetriage/internal/testutil"
)

// End-to-end tests: the real binary (`tracetriage lsp`) driven by real
// clients, Neovim's built-in LSP client and a Node client on the libraries
// VS Code uses. They skip when the client is missing, unless
// testutil.RequireE2E() (CI), where .ci/setup.d/lsp.sh installs both.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	buildDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// binary builds cmd/tracetriage once per test process.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "tracetriage-lsp-e2e-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(buildDir, "tracetriage")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/tracetriage")
		cmd.Dir = testutil.ModuleRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// requireTool skips (or, under CI, fails) when a client is not installed.
func requireTool(t *testing.T, ok bool, what string) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end editor test; skipped with -short")
	}
	if ok {
		return
	}
	if testutil.RequireE2E() {
		t.Fatalf("%s is missing; .ci/setup.d/lsp.sh installs it", what)
	}
	t.Skipf("%s is missing (run .ci/setup.d/lsp.sh); skipping", what)
}

// scenario is a workspace with one Python file laid out like a line of
// the trace, and what the editor must show on it.
type scenario struct {
	trace, root, file string
	line              int // 0-based line that launched kernels
	hint, lens        string
	hoverHas          []string
}

// e2eTraces are the traces the end-to-end tests run on: a saved analysis
// (no engine needed) and real traces from ../shared whose kernels map to
// Python lines (an SGLang prefill on MI300X, a vLLM eager run on B200).
func e2eTraces(t *testing.T) map[string]func(t *testing.T) string {
	shared := func(rel string) func(t *testing.T) string {
		return func(t *testing.T) string { return testutil.SharedFile(t, rel) }
	}
	return map[string]func(t *testing.T) string{
		"saved-analysis": func(t *testing.T) string { return copyFixture(t, "sglang-decode.json", t.TempDir()) },
		"real-sglang":    shared("traces/llm-serving/sglang_mi300x_qwen3-8b_prefilldecode.json.gz"),
		"real-vllm":      shared("traces/llm-serving/vllm_b200_gptoss_tp8_rank0_eager.json.gz"),
	}
}

// newScenario analyses trace in process, picks its hottest line and writes
// a workspace where that line sits inside a function of the same name.
func newScenario(t *testing.T, trace string) scenario {
	t.Helper()
	return newScenarioFor(t, analyzer.Options{Input: trace})
}

// newScenarioFor is newScenario for any engine options (two-trace mode).
func newScenarioFor(t *testing.T, opts analyzer.Options) scenario {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	doc, err := Analyze(ctx, opts)
	if errors.Is(err, analyzer.ErrNotImplemented) {
		t.Skip("the analysis engine is not built in this tree yet")
	}
	if err != nil {
		t.Fatalf("analyse %+v: %v", opts, err)
	}
	trace := opts.Input
	ix := NewIndex(doc, "")
	var li *LineInfo
	for _, c := range ix.Hot(1000, 0) {
		if c.Line >= 2 && strings.HasSuffix(c.Path, ".py") {
			li = c
			break
		}
	}
	if li == nil {
		t.Fatalf("%s: no Python line launched kernels", trace)
	}
	sc := scenario{trace: trace, root: t.TempDir(), line: li.Line - 1}
	sc.file = filepath.Join(sc.root, filepath.FromSlash(li.Path))
	fn := li.Function
	if fn == "" || strings.ContainsAny(fn, " <>.") {
		fn = "launch"
	}
	var b strings.Builder
	for n := 1; n < li.Line-1; n++ {
		b.WriteString("# line of the traced source\n")
	}
	fmt.Fprintf(&b, "def %s(*args):\n    launch_kernels(*args)  # line %d of the trace\n", fn, li.Line)
	if err := os.MkdirAll(filepath.Dir(sc.file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sc.file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	gpu, share, _ := li.Total()
	sc.hint = inlayLabel(gpu, share)
	// The lens covers the def line and the launch line.
	var lg, ls float64
	var lk, ln int
	for _, n := range []int{li.Line - 1, li.Line} {
		if x := ix.Line(li.Path, n); x != nil {
			if g, s, k := x.Total(); k > 0 {
				lg, ls, lk, ln = lg+g, ls+s, lk+k, ln+1
			}
		}
	}
	sc.lens = fmt.Sprintf("⏱ %s GPU · %s of %s · %d kernel%s from %d line%s",
		formatTime(lg), formatShare(ls), ix.Stage(), lk, plural(lk), ln, plural(ln))
	top := li.Launches[0]
	sc.hoverHas = []string{
		"| Kernel | Category | GPU time | Share of stage | Launches | Stage |",
		cell(ix.kernelLabel(top.Kernel.Name, 90)),
		fmt.Sprintf("%s:%d", li.Path, li.Line),
	}
	return sc
}

func TestNeovimHover(t *testing.T) {
	nvim, err := exec.LookPath("nvim")
	requireTool(t, err == nil, "Neovim (nvim)")
	for name, trace := range e2eTraces(t) {
		t.Run(name, func(t *testing.T) {
			sc := newScenario(t, trace(t))
			bin := binary(t)
			out := filepath.Join(t.TempDir(), "nvim.json")
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			script, _ := filepath.Abs(filepath.Join("e2e", "nvim_hover.lua"))
			cmd := exec.CommandContext(ctx, nvim, "--headless", "-u", "NONE", "-i", "NONE", "-n", "-c", "luafile "+script)
			cmd.Dir = sc.root
			cmd.Env = append(os.Environ(), "TT_BIN="+bin, "TT_ROOT="+sc.root, "TT_FILE="+sc.file,
				"TT_TRACE="+sc.trace, "TT_OUT="+out, fmt.Sprintf("TT_LINE=%d", sc.line))
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("nvim: %v\n%s", err, b)
			}
			raw, err := os.ReadFile(out)
			if err != nil {
				t.Fatalf("nvim wrote no results: %v", err)
			}
			var res struct {
				Error       string `json:"error"`
				Hover       string `json:"hover"`
				Diagnostics []struct {
					Lnum     int    `json:"lnum"`
					Severity int    `json:"severity"`
					Message  string `json:"message"`
				} `json:"diagnostics"`
				CodeLens []struct {
					Command struct {
						Title string `json:"title"`
					} `json:"command"`
				} `json:"codelens"`
				InlayHints []struct {
					Label    string `json:"label"`
					Position struct {
						Line int `json:"line"`
					} `json:"position"`
				} `json:"inlay_hints"`
			}
			if err := json.Unmarshal(raw, &res); err != nil {
				t.Fatalf("results %s: %v", raw, err)
			}
			if res.Error != "" {
				t.Fatalf("nvim script: %s", res.Error)
			}
			for _, want := range sc.hoverHas {
				if !strings.Contains(res.Hover, want) {
					t.Errorf("Neovim hover lacks %q:\n%s", want, res.Hover)
				}
			}
			if len(res.CodeLens) != 1 || res.CodeLens[0].Command.Title != sc.lens {
				t.Errorf("code lenses %+v, want one titled %q", res.CodeLens, sc.lens)
			}
			// Neovim 0.7 does not draw inlay hints, but its client carries
			// the request and the answer.
			hint := false
			for _, h := range res.InlayHints {
				hint = hint || (h.Position.Line == sc.line && h.Label == sc.hint)
			}
			if !hint {
				t.Errorf("inlay hints via Neovim %+v, want %q on line %d", res.InlayHints, sc.hint, sc.line)
			}
			found := false
			for _, d := range res.Diagnostics {
				if d.Severity < 3 {
					t.Errorf("diagnostic of severity %d (error/warning): %s", d.Severity, d.Message)
				}
				if d.Lnum == sc.line && strings.Contains(d.Message, "GPU hot spot #") {
					found = true
				}
			}
			if !found {
				t.Errorf("no hot-spot diagnostic on line %d in Neovim: %+v", sc.line, res.Diagnostics)
			}
		})
	}
}

func TestVSCodeProtocolClient(t *testing.T) {
	node, err := exec.LookPath("node")
	_, modErr := os.Stat(filepath.Join("e2e", "node_modules", "vscode-languageserver-protocol"))
	requireTool(t, err == nil && modErr == nil, "node with lsp/e2e/node_modules")
	for name, trace := range e2eTraces(t) {
		t.Run(name, func(t *testing.T) {
			sc := newScenario(t, trace(t))
			bin := binary(t)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, node, filepath.Join("e2e", "client.js"), bin, sc.root, sc.file, sc.trace, fmt.Sprint(sc.line))
			var stderr strings.Builder
			cmd.Stderr = &stderr
			raw, err := cmd.Output()
			if err != nil {
				t.Fatalf("node client: %v\n%s\nstderr:\n%s", err, raw, stderr.String())
			}
			var res struct {
				Error        string `json:"error"`
				Capabilities map[string]any
				Hover        struct {
					Contents struct {
						Kind  string `json:"kind"`
						Value string `json:"value"`
					} `json:"contents"`
				} `json:"hover"`
				InlayHints []struct {
					Label    string `json:"label"`
					Position struct {
						Line, Character int
					} `json:"position"`
				} `json:"inlayHints"`
				CodeLenses []struct {
					Range struct {
						Start struct{ Line int }
					} `json:"range"`
					Command struct {
						Title string `json:"title"`
					} `json:"command"`
				} `json:"codeLenses"`
				Diagnostics []struct {
					Severity int    `json:"severity"`
					Code     string `json:"code"`
					Message  string `json:"message"`
					Range    struct {
						Start struct{ Line int }
					} `json:"range"`
				} `json:"diagnostics"`
				Messages []struct {
					Message string `json:"message"`
				} `json:"messages"`
				ExitCode int `json:"exitCode"`
			}
			if err := json.Unmarshal(raw, &res); err != nil {
				t.Fatalf("client output %s: %v", raw, err)
			}
			if res.Error != "" {
				t.Fatalf("node client: %s\nstderr:\n%s", res.Error, stderr.String())
			}
			if res.Hover.Contents.Kind != "markdown" {
				t.Errorf("hover kind %q", res.Hover.Contents.Kind)
			}
			for _, want := range sc.hoverHas {
				if !strings.Contains(res.Hover.Contents.Value, want) {
					t.Errorf("hover lacks %q:\n%s", want, res.Hover.Contents.Value)
				}
			}
			hint := false
			for _, h := range res.InlayHints {
				hint = hint || (h.Position.Line == sc.line && h.Label == sc.hint)
			}
			if !hint {
				t.Errorf("inlay hints %+v, want %q on line %d", res.InlayHints, sc.hint, sc.line)
			}
			if len(res.CodeLenses) != 1 || res.CodeLenses[0].Command.Title != sc.lens || res.CodeLenses[0].Range.Start.Line != sc.line-1 {
				t.Errorf("code lenses %+v, want %q on line %d", res.CodeLenses, sc.lens, sc.line-1)
			}
			hot := false
			for _, d := range res.Diagnostics {
				if d.Severity != 3 && d.Severity != 4 {
					t.Errorf("diagnostic severity %d: %s", d.Severity, d.Message)
				}
				if d.Code == codeHotLine && d.Range.Start.Line == sc.line && strings.Contains(d.Message, "GPU hot spot #") {
					hot = true
				}
			}
			if !hot {
				t.Errorf("no hot-spot diagnostic on line %d: %+v", sc.line, res.Diagnostics)
			}
			if len(res.Messages) != 0 {
				t.Errorf("unexpected messages to the user: %+v", res.Messages)
			}
			if res.ExitCode != 0 {
				t.Errorf("server exit status %d after shutdown and exit", res.ExitCode)
			}
		})
	}
}

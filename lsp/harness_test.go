package lsp

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"

	"github.com/tracetriage/tracetriage/analyzer"
)

// recorder is the test's LSP client: it records what the server sends.
type recorder struct {
	protocol.UnimplementedClient

	mu          sync.Mutex
	diags       map[uri.URI][]protocol.Diagnostic
	diagCount   map[uri.URI]int
	messages    []protocol.ShowMessageParams
	lensRefresh int
	hintRefresh int
	notify      chan struct{}
}

func newRecorder() *recorder {
	return &recorder{
		diags:     make(map[uri.URI][]protocol.Diagnostic),
		diagCount: make(map[uri.URI]int),
		notify:    make(chan struct{}, 1),
	}
}

func (r *recorder) poke() {
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

func (r *recorder) PublishDiagnostics(_ context.Context, p *protocol.PublishDiagnosticsParams) error {
	r.mu.Lock()
	r.diags[p.URI] = append([]protocol.Diagnostic(nil), p.Diagnostics...)
	r.diagCount[p.URI]++
	r.mu.Unlock()
	r.poke()
	return nil
}

func (r *recorder) ShowMessage(_ context.Context, p *protocol.ShowMessageParams) error {
	r.mu.Lock()
	r.messages = append(r.messages, *p)
	r.mu.Unlock()
	r.poke()
	return nil
}

func (r *recorder) LogMessage(context.Context, *protocol.LogMessageParams) error { return nil }

func (r *recorder) CodeLensRefresh(context.Context) error {
	r.mu.Lock()
	r.lensRefresh++
	r.mu.Unlock()
	r.poke()
	return nil
}

func (r *recorder) InlayHintRefresh(context.Context) error {
	r.mu.Lock()
	r.hintRefresh++
	r.mu.Unlock()
	r.poke()
	return nil
}

// harness is a server on one end of an in-memory pipe and a protocol
// client on the other.
type harness struct {
	t      testing.TB
	srv    *Server
	rec    *recorder
	server protocol.Server // dispatcher: calls go over the wire
	conn   jsonrpc2.Conn
	ctx    context.Context
	root   string
	done   chan struct{} // closed when Serve has returned
	err    error         // what Serve returned
}

// start runs a server with opts against a fresh recorder client.
func start(t testing.TB, opts Options) *harness {
	t.Helper()
	if opts.PollInterval == 0 {
		opts.PollInterval = 20 * time.Millisecond
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	a, b := net.Pipe()
	h := &harness{t: t, srv: New(opts), rec: newRecorder(), done: make(chan struct{})}
	go func() {
		h.err = h.srv.Serve(ctx, a)
		close(h.done)
	}()
	cctx, conn, server := protocol.NewClient(ctx, h.rec, jsonrpc2.NewHeaderStream(b))
	h.ctx, h.conn, h.server = cctx, conn, server
	t.Cleanup(func() {
		cancel()
		_ = b.Close()
		_ = a.Close()
		select {
		case <-h.done:
		case <-time.After(5 * time.Second):
			t.Error("server did not stop within 5s of the connection closing")
		}
	})
	return h
}

// startWith starts a server, initializes it for root with initOpts and
// waits for the analysis.
func startWith(t testing.TB, opts Options, root string, initOpts any) *harness {
	t.Helper()
	h := start(t, opts)
	h.initialize(root, initOpts)
	h.waitIndexed()
	return h
}

// initialize sends initialize + initialized for a workspace at root with
// the given initializationOptions (nil for none).
func (h *harness) initialize(root string, initOpts any) *protocol.InitializeResult {
	h.t.Helper()
	h.root = root
	refresh := true
	p := &protocol.InitializeParams{
		Capabilities: protocol.ClientCapabilities{
			Workspace: &protocol.WorkspaceClientCapabilities{
				CodeLens:  &protocol.CodeLensWorkspaceClientCapabilities{RefreshSupport: &refresh},
				InlayHint: &protocol.InlayHintWorkspaceClientCapabilities{RefreshSupport: &refresh},
			},
		},
	}
	if root != "" {
		p.WorkspaceFolders = protocol.NewNullable([]protocol.WorkspaceFolder{{URI: uri.File(root), Name: "ws"}})
	}
	if initOpts != nil {
		b, err := json.Marshal(initOpts)
		if err != nil {
			h.t.Fatal(err)
		}
		p.InitializationOptions = b
	}
	res, err := h.server.Initialize(h.ctx, p)
	if err != nil {
		h.t.Fatalf("initialize: %v", err)
	}
	if err := h.server.Initialized(h.ctx, &protocol.InitializedParams{}); err != nil {
		h.t.Fatalf("initialized: %v", err)
	}
	return res
}

// waitFor polls cond until it holds or 30 s pass.
func (h *harness) waitFor(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s", what)
		}
		select {
		case <-h.rec.notify:
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// waitIndexed waits until the server has an analysis loaded.
func (h *harness) waitIndexed() *Index {
	h.t.Helper()
	var ix *Index
	h.waitFor("the trace to be analysed", func() bool {
		ix = h.srv.snapshot().index
		return ix != nil
	})
	return ix
}

func (h *harness) open(path, languageID string) uri.URI {
	h.t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		h.t.Fatal(err)
	}
	u := uri.File(path)
	err = h.server.DidOpen(h.ctx, &protocol.DidOpenTextDocumentParams{TextDocument: protocol.TextDocumentItem{
		URI: u, LanguageID: protocol.LanguageKind(languageID), Version: 1, Text: string(b),
	}})
	if err != nil {
		h.t.Fatalf("didOpen: %v", err)
	}
	return u
}

func (h *harness) hover(u uri.URI, line uint32) *protocol.Hover {
	h.t.Helper()
	res, err := h.server.Hover(h.ctx, &protocol.HoverParams{TextDocumentPositionParams: protocol.TextDocumentPositionParams{
		TextDocument: protocol.TextDocumentIdentifier{URI: u},
		Position:     protocol.Position{Line: line, Character: 4},
	}})
	if err != nil {
		h.t.Fatalf("hover: %v", err)
	}
	return res
}

func hoverText(t *testing.T, hv *protocol.Hover) string {
	t.Helper()
	if hv == nil {
		t.Fatal("hover is empty")
	}
	mc, ok := hv.Contents.(*protocol.MarkupContent)
	if !ok {
		t.Fatalf("hover contents are %T, want MarkupContent", hv.Contents)
	}
	if mc.Kind != protocol.MarkupKindMarkdown {
		t.Errorf("hover kind %q, want markdown", mc.Kind)
	}
	return mc.Value
}

func (h *harness) diagsOf(u uri.URI) ([]protocol.Diagnostic, int) {
	h.rec.mu.Lock()
	defer h.rec.mu.Unlock()
	return h.rec.diags[u], h.rec.diagCount[u]
}

// pySources lays out the Python files of the sglang fixture: path →
// 1-based line → text; lines in between are blank.
var pySources = map[string]map[int]string{
	"python/sglang/srt/layers/layernorm.py": {
		1:   "import torch",
		160: "class RMSNorm(CustomOp):",
		161: "    # The norm used by every decoder layer.",
		170: "    def forward_cuda(",
		171: "        self, x: torch.Tensor, residual: Optional[torch.Tensor] = None",
		172: "    ) -> torch.Tensor:",
		175: "        if residual is not None:",
		177: "            fused_add_rmsnorm(x, residual, self.weight.data, self.variance_epsilon)",
		178: "            return x, residual",
		190: "        out = rmsnorm(x, self.weight.data, self.variance_epsilon)",
		191: "        return out",
		200: "    def forward_native(self, x):",
		201: "        return x",
	},
	"python/sglang/srt/distributed/parallel_state.py": {
		510: "    def _all_reduce_out_place(self, input_: torch.Tensor) -> torch.Tensor:",
		520: "        return self.device_communicator.all_reduce(input_)",
	},
	"python/sglang/srt/layers/quantization/unquant.py": {
		130: "    def apply(self, layer, x, bias=None):",
		136: "        return F.linear(x, layer.weight, bias)",
	},
	"python/sglang/srt/layers/activation.py": {
		80: "    def forward_cuda(self, x):",
		83: "        silu_and_mul(x, out)",
		84: "        return out",
	},
	"python/sglang/srt/layers/rotary_embedding/base.py": {
		330: "    def forward_cuda(self, positions, query, key):",
		335: "        rotary_embedding(positions, query, key, self.head_size, self.cos_sin_cache, True)",
	},
}

// writeSources writes pySources under root, with the prefix of each path
// replaced: strip "python/" and add prefix, e.g. for a site-packages tree.
func writeSources(t testing.TB, root string, strip, prefix string) {
	t.Helper()
	keys := make([]string, 0, len(pySources))
	for k := range pySources {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, rel := range keys {
		lines := pySources[rel]
		last := 0
		for n := range lines {
			last = max(n, last)
		}
		var b strings.Builder
		for n := 1; n <= last+3; n++ {
			b.WriteString(lines[n])
			b.WriteString("\n")
		}
		p := filepath.Join(root, filepath.FromSlash(prefix+strings.TrimPrefix(rel, strip)))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// copyFixture copies testdata/name to dir and returns the new path.
func copyFixture(t testing.TB, name, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// sglangWorkspace is a checkout-shaped workspace with the sglang fixture's
// sources and the fixture analysis as the configured trace.
func sglangWorkspace(t *testing.T) (root, trace string) {
	t.Helper()
	root = t.TempDir()
	writeSources(t, root, "", "")
	trace = copyFixture(t, "sglang-decode.json", t.TempDir())
	return root, trace
}

// errorCode returns the JSON-RPC code of err, or 0.
func errorCode(err error) jsonrpc2.Code {
	var e *jsonrpc2.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

// layernormDiagnostics serves doc, saved as an analysis document, to a
// server whose workspace holds python/sglang/srt/layers/layernorm.py (the
// file mangledDoc's sites name, with add_rmsnorm on line 10), and returns
// that file's diagnostics once at least want of them are published.
func layernormDiagnostics(t *testing.T, doc *analyzer.Document, want int) []protocol.Diagnostic {
	t.Helper()
	root, dir := t.TempDir(), t.TempDir()
	src := filepath.Join(root, "python/sglang/srt/layers/layernorm.py")
	if err := os.MkdirAll(filepath.Dir(src), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(src, []byte(strings.Repeat("x = 1\n", 9)+"    add_rmsnorm(x)\n    y = 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	saved := filepath.Join(dir, "analysis.json")
	if err := os.WriteFile(saved, b, 0o644); err != nil {
		t.Fatal(err)
	}
	h := startWith(t, Options{}, root, map[string]any{"tracetriage": map[string]any{"trace": saved}})
	u := uri.File(src)
	var diags []protocol.Diagnostic
	h.waitFor("diagnostics of layernorm.py", func() bool {
		diags, _ = h.diagsOf(u)
		return len(diags) >= want
	})
	return diags
}

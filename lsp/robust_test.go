package lsp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"

	"github.com/tracetriage/tracetriage/analyzer"
	"github.com/tracetriage/tracetriage/internal/testutil"
)

// wire is a raw client: it writes frames as given and collects every frame
// the server sends.
type wire struct {
	t      *testing.T
	frames frameIO
	in     chan map[string]json.RawMessage
	done   chan error
}

func startWire(t *testing.T, opts Options) *wire {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	a, b := net.Pipe()
	w := &wire{t: t, in: make(chan map[string]json.RawMessage, 64), done: make(chan error, 1)}
	go func() { w.done <- New(opts).Serve(ctx, a) }()
	w.frames = jsonrpc2.NewHeaderStream(b).(frameIO)
	go func() {
		for {
			f, _, err := w.frames.ReadFrame(ctx)
			if err != nil {
				close(w.in)
				return
			}
			var m map[string]json.RawMessage
			if err := json.Unmarshal(f, &m); err != nil {
				t.Errorf("server wrote a frame that is not a JSON object: %q", f)
				continue
			}
			w.in <- m
		}
	}()
	t.Cleanup(func() {
		cancel()
		_ = a.Close()
		_ = b.Close()
	})
	return w
}

func (w *wire) send(frame string) {
	w.t.Helper()
	if _, err := w.frames.WriteFrame(context.Background(), []byte(frame)); err != nil {
		w.t.Fatalf("write %q: %v", frame, err)
	}
}

// expect waits for the response with the given raw id ("null" for the
// id-less parse error), skipping server notifications.
func (w *wire) expect(id string) map[string]json.RawMessage {
	w.t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case m, ok := <-w.in:
			if !ok {
				w.t.Fatalf("connection closed while waiting for response %s", id)
			}
			if _, isNote := m["method"]; isNote {
				continue
			}
			if string(m["id"]) == id {
				return m
			}
			w.t.Fatalf("response %s arrived before %s (messages are answered in order)", m["id"], id)
		case <-timeout:
			w.t.Fatalf("no response %s within 5s", id)
		}
	}
}

func errCodeOf(t *testing.T, m map[string]json.RawMessage) int {
	t.Helper()
	var e struct {
		Code int `json:"code"`
	}
	if err := json.Unmarshal(m["error"], &e); err != nil || len(m["error"]) == 0 {
		t.Fatalf("response has no error: %v", m)
	}
	return e.Code
}

func TestMalformedMessagesDoNotStopTheServer(t *testing.T) {
	root, trace := sglangWorkspace(t)
	w := startWire(t, Options{PollInterval: 20 * time.Millisecond})
	init := fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{},"rootUri":%q,"initializationOptions":{"trace":%q}}}`,
		uri.File(root), trace)
	w.send(init)
	if m := w.expect("1"); len(m["result"]) == 0 {
		t.Fatalf("initialize failed: %v", m)
	}
	w.send(`{"jsonrpc":"2.0","method":"initialized","params":{}}`)

	cases := []struct {
		name, frame, id string
		code            int // 0: no response expected
	}{
		{"not JSON", `{"jsonrpc":"2.0","id":`, "null", -32700},
		{"truncated array", `[1,2`, "null", -32700},
		{"a bare number", `42`, "null", -32700},
		{"not JSON-RPC", `{"hello":"world"}`, "null", -32700},
		{"params of the wrong type", `{"jsonrpc":"2.0","id":2,"method":"textDocument/hover","params":{"textDocument":5}}`, "2", -32700},
		{"unknown request", `{"jsonrpc":"2.0","id":3,"method":"tracetriage/nothing"}`, "3", -32601},
		{"notification with bad params", `{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{"textDocument":"x"}}`, "", 0},
		{"unknown notification", `{"jsonrpc":"2.0","method":"$/somethingNew","params":[1]}`, "", 0},
		{"cancel of nothing", `{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":999}}`, "", 0},
		{"change of an unopened file", `{"jsonrpc":"2.0","method":"textDocument/didChange","params":{"textDocument":{"uri":"file:///nowhere.py","version":2},"contentChanges":[{"text":"x"}]}}`, "", 0},
	}
	for _, c := range cases {
		w.send(c.frame)
		if c.code != 0 {
			if got := errCodeOf(t, w.expect(c.id)); got != c.code {
				t.Errorf("%s: error code %d, want %d", c.name, got, c.code)
			}
		}
	}

	// Still serving: a real hover after all that.
	ln := filepath.Join(root, "python/sglang/srt/layers/layernorm.py")
	var hv map[string]json.RawMessage
	for i := 10; ; i++ {
		w.send(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"textDocument/hover","params":{"textDocument":{"uri":%q},"position":{"line":176,"character":0}}}`, i, uri.File(ln)))
		hv = w.expect(fmt.Sprint(i))
		if string(hv["result"]) != "null" || i > 500 {
			break
		}
		time.Sleep(10 * time.Millisecond) // the analysis is still loading
	}
	if !strings.Contains(string(hv["result"]), "FusedAddRMSNormKernel") {
		t.Errorf("hover after malformed messages: %s", hv["result"])
	}

	w.send(`{"jsonrpc":"2.0","id":900,"method":"shutdown"}`)
	if m := w.expect("900"); string(m["result"]) != "null" {
		t.Errorf("shutdown answered %v", m)
	}
	w.send(`{"jsonrpc":"2.0","method":"exit"}`)
	select {
	case err := <-w.done:
		if err != nil {
			t.Errorf("Serve after shutdown+exit = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after exit")
	}
}

func TestLifecycleOutOfOrder(t *testing.T) {
	h := start(t, Options{})
	u := uri.File("/nowhere/x.py")
	_, err := h.server.Hover(h.ctx, &protocol.HoverParams{TextDocumentPositionParams: protocol.TextDocumentPositionParams{
		TextDocument: protocol.TextDocumentIdentifier{URI: u}}})
	if errorCode(err) != jsonrpc2.ServerNotInitialized {
		t.Errorf("hover before initialize: %v, want ServerNotInitialized", err)
	}
	// Notifications before initialize are dropped, not fatal.
	if err := h.server.DidOpen(h.ctx, &protocol.DidOpenTextDocumentParams{TextDocument: protocol.TextDocumentItem{URI: u, Text: "x"}}); err != nil {
		t.Fatal(err)
	}
	h.initialize(t.TempDir(), nil)
	if _, err := h.server.Initialize(h.ctx, &protocol.InitializeParams{}); errorCode(err) != jsonrpc2.InvalidRequest {
		t.Errorf("second initialize: %v, want InvalidRequest", err)
	}
	if err := h.server.DidChange(h.ctx, &protocol.DidChangeTextDocumentParams{
		TextDocument:   protocol.VersionedTextDocumentIdentifier{TextDocumentIdentifier: protocol.TextDocumentIdentifier{URI: u}, Version: 3},
		ContentChanges: []protocol.TextDocumentContentChangeEvent{&protocol.TextDocumentContentChangeWholeDocument{Text: "y"}},
	}); err != nil {
		t.Fatal(err)
	}
	if hv := h.hover(u, 0); hv != nil {
		t.Errorf("hover with no trace: %+v", hv)
	}
	if err := h.server.Shutdown(h.ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	_, err = h.server.Hover(h.ctx, &protocol.HoverParams{})
	if errorCode(err) != jsonrpc2.InvalidRequest {
		t.Errorf("hover after shutdown: %v, want InvalidRequest", err)
	}
	if err := h.server.Exit(h.ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-h.done:
		if h.err != nil {
			t.Errorf("Serve = %v, want nil after shutdown and exit", h.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after exit")
	}
}

func TestExitWithoutShutdown(t *testing.T) {
	h := start(t, Options{})
	h.initialize(t.TempDir(), nil)
	if err := h.server.Exit(h.ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-h.done:
		if !errors.Is(h.err, ErrExitWithoutShutdown) {
			t.Errorf("Serve = %v, want ErrExitWithoutShutdown", h.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after exit")
	}
}

func TestTraceThatFailsToLoadIsShownOnce(t *testing.T) {
	root, good := sglangWorkspace(t)
	bad := filepath.Join(t.TempDir(), "broken.json.gz")
	if err := os.WriteFile(bad, []byte("not gzip"), 0o644); err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	analyze := func(ctx context.Context, o analyzer.Options) (*analyzer.Document, error) {
		calls.Add(1)
		if o.Input == bad {
			return nil, fmt.Errorf("load %s: gzip: invalid header", o.Input)
		}
		return Analyze(ctx, o)
	}
	h := start(t, Options{Analyze: analyze})
	h.initialize(root, map[string]any{"tracetriage": map[string]any{"trace": bad}})
	h.waitFor("the error message", func() bool {
		h.rec.mu.Lock()
		defer h.rec.mu.Unlock()
		return len(h.rec.messages) > 0
	})
	// The same settings again: analysed again, not shown again.
	settings := protocol.LSPAny(fmt.Sprintf(`{"tracetriage":{"trace":%q}}`, bad))
	for i := 0; i < 3; i++ {
		before := calls.Load()
		if err := h.server.DidChangeConfiguration(h.ctx, &protocol.DidChangeConfigurationParams{Settings: settings}); err != nil {
			t.Fatal(err)
		}
		h.waitFor("the reload", func() bool { return calls.Load() > before })
	}
	u := h.open(filepath.Join(root, "python/sglang/srt/layers/layernorm.py"), "python")
	if hv := h.hover(u, 176); hv != nil {
		t.Errorf("hover without an analysis: %+v", hv)
	}
	h.rec.mu.Lock()
	msgs := append([]protocol.ShowMessageParams(nil), h.rec.messages...)
	h.rec.mu.Unlock()
	if len(msgs) != 1 {
		t.Fatalf("got %d messages, want 1: %+v", len(msgs), msgs)
	}
	if msgs[0].Type != protocol.MessageTypeError || !strings.Contains(msgs[0].Message, "broken.json.gz") ||
		!strings.Contains(msgs[0].Message, "gzip: invalid header") {
		t.Errorf("message %+v", msgs[0])
	}

	// Pointing at a good trace recovers.
	settings = protocol.LSPAny(fmt.Sprintf(`{"tracetriage":{"trace":%q}}`, good))
	if err := h.server.DidChangeConfiguration(h.ctx, &protocol.DidChangeConfigurationParams{Settings: settings}); err != nil {
		t.Fatal(err)
	}
	h.waitIndexed()
	if !strings.Contains(hoverText(t, h.hover(u, 176)), "FusedAddRMSNormKernel") {
		t.Error("hover after recovering lacks the kernel")
	}
}

func TestEnginePanicIsContained(t *testing.T) {
	root, trace := sglangWorkspace(t)
	h := start(t, Options{Analyze: func(context.Context, analyzer.Options) (*analyzer.Document, error) {
		panic("index out of range")
	}})
	h.initialize(root, map[string]any{"tracetriage": map[string]any{"trace": trace}})
	h.waitFor("the error message", func() bool {
		h.rec.mu.Lock()
		defer h.rec.mu.Unlock()
		return len(h.rec.messages) == 1 && strings.Contains(h.rec.messages[0].Message, "analysis panicked")
	})
	if hv := h.hover(uri.File(filepath.Join(root, "x.py")), 0); hv != nil {
		t.Errorf("hover: %+v", hv)
	}
}

func TestTraceChangeOnDiskRefreshesEditor(t *testing.T) {
	root, trace := sglangWorkspace(t)
	h := start(t, Options{PollInterval: 10 * time.Millisecond})
	h.initialize(root, map[string]any{"tracetriage": map[string]any{"trace": trace}})
	h.waitIndexed()
	h.waitFor("the first refresh", func() bool {
		h.rec.mu.Lock()
		defer h.rec.mu.Unlock()
		return h.rec.lensRefresh >= 1 && h.rec.hintRefresh >= 1
	})
	u := h.open(filepath.Join(root, "python/sglang/srt/layers/layernorm.py"), "python")
	ln := uri.File(filepath.Join(root, "python/sglang/srt/layers/layernorm.py"))
	h.waitFor("diagnostics", func() bool { d, _ := h.diagsOf(ln); return len(d) > 0 })

	// A new capture of the same workload: the norm got ten times slower.
	b, err := os.ReadFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	b = []byte(strings.Replace(string(b), `"gpu_time_us": 140.2`, `"gpu_time_us": 1402.0`, 1))
	b = []byte(strings.Replace(string(b), `"share_pct": 3.4,
          "launches": 24`, `"share_pct": 25.4,
          "launches": 24`, 1))
	if err := os.WriteFile(trace, b, 0o644); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(trace, later, later); err != nil {
		t.Fatal(err)
	}
	h.waitFor("the refresh after the change", func() bool {
		h.rec.mu.Lock()
		defer h.rec.mu.Unlock()
		return h.rec.lensRefresh >= 2 && h.rec.hintRefresh >= 2
	})
	if text := hoverText(t, h.hover(u, 176)); !strings.Contains(text, "| 1.40 ms | 25.4% | 24 | decode |") {
		t.Errorf("hover after the change:\n%s", text)
	}
	h.waitFor("new diagnostics", func() bool {
		d, _ := h.diagsOf(ln)
		for _, x := range d {
			if strings.Contains(string(x.Message.(protocol.String)), "GPU hot spot #1 in decode: 1.42 ms (25.9% of the stage)") {
				return true
			}
		}
		return false
	})
}

func TestNewestTraceUnderTraceDir(t *testing.T) {
	root := t.TempDir()
	writeSources(t, root, "", "")
	dir := filepath.Join(root, filepath.FromSlash(DefaultTraceDir))
	old := copyFixture(t, "vllm-eager.json", filepath.Join(dir, "run1"))
	newer := copyFixture(t, "sglang-decode.json", filepath.Join(dir, "run2"))
	past := time.Now().Add(-time.Hour)
	if err := os.Chtimes(old, past, past); err != nil {
		t.Fatal(err)
	}
	_ = newer
	h := start(t, Options{})
	h.initialize(root, nil) // no settings: the default folder
	ix := h.waitIndexed()
	if ix.Document().Framework != "sglang" {
		t.Errorf("loaded the %s analysis, want the newest (sglang)", ix.Document().Framework)
	}
}

func TestNoTraceIsOneInfoMessage(t *testing.T) {
	h := start(t, Options{})
	h.initialize(t.TempDir(), nil)
	h.waitFor("the message", func() bool {
		h.rec.mu.Lock()
		defer h.rec.mu.Unlock()
		return len(h.rec.messages) > 0
	})
	time.Sleep(100 * time.Millisecond) // several polls
	h.rec.mu.Lock()
	defer h.rec.mu.Unlock()
	if len(h.rec.messages) != 1 || h.rec.messages[0].Type != protocol.MessageTypeInfo ||
		!strings.Contains(h.rec.messages[0].Message, DefaultTraceDir) {
		t.Errorf("messages %+v, want one info naming %s", h.rec.messages, DefaultTraceDir)
	}
}

func TestConfigurationChangeSwitchesTrace(t *testing.T) {
	root, trace := sglangWorkspace(t)
	h := start(t, Options{})
	h.initialize(root, map[string]any{"tracetriage": map[string]any{"trace": trace}})
	h.waitIndexed()
	ln := uri.File(filepath.Join(root, "python/sglang/srt/layers/layernorm.py"))
	h.waitFor("diagnostics", func() bool { d, _ := h.diagsOf(ln); return len(d) > 0 })

	vllm := copyFixture(t, "vllm-eager.json", t.TempDir())
	settings := protocol.LSPAny(fmt.Sprintf(`{"tracetriage":{"trace":%q}}`, vllm))
	if err := h.server.DidChangeConfiguration(h.ctx, &protocol.DidChangeConfigurationParams{Settings: settings}); err != nil {
		t.Fatal(err)
	}
	h.waitFor("the vLLM analysis", func() bool {
		ix := h.srv.snapshot().index
		return ix != nil && ix.Document().Framework == "vllm"
	})
	// The old trace's diagnostics are cleared.
	h.waitFor("cleared diagnostics", func() bool { d, _ := h.diagsOf(ln); return len(d) == 0 })
}

func TestDidChangeStormStaysOrdered(t *testing.T) {
	root, trace := sglangWorkspace(t)
	h := start(t, Options{})
	h.initialize(root, map[string]any{"tracetriage": map[string]any{"trace": trace}})
	h.waitIndexed()
	path := filepath.Join(root, "python/sglang/srt/layers/layernorm.py")
	u := h.open(path, "python")
	first := pySources["python/sglang/srt/layers/layernorm.py"][1]

	const n = 2000
	var want strings.Builder
	want.WriteString(first)
	start := time.Now()
	for i := 0; i < n; i++ {
		d := byte('0' + i%10)
		want.WriteByte(d)
		col := uint32(len(first) + i)
		err := h.server.DidChange(h.ctx, &protocol.DidChangeTextDocumentParams{
			TextDocument: protocol.VersionedTextDocumentIdentifier{TextDocumentIdentifier: protocol.TextDocumentIdentifier{URI: u}, Version: int32(i + 2)},
			ContentChanges: []protocol.TextDocumentContentChangeEvent{&protocol.TextDocumentContentChangePartial{
				Range: protocol.Range{Start: protocol.Position{Line: 0, Character: col}, End: protocol.Position{Line: 0, Character: col}},
				Text:  string(d),
			}},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// Five new lines at the top, then at once a code lens: it must see them.
	err := h.server.DidChange(h.ctx, &protocol.DidChangeTextDocumentParams{
		TextDocument: protocol.VersionedTextDocumentIdentifier{TextDocumentIdentifier: protocol.TextDocumentIdentifier{URI: u}, Version: n + 2},
		ContentChanges: []protocol.TextDocumentContentChangeEvent{&protocol.TextDocumentContentChangePartial{
			Range: protocol.Range{}, Text: "#\n#\n#\n#\n#\n",
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	lenses, err := h.server.CodeLens(h.ctx, &protocol.CodeLensParams{TextDocument: protocol.TextDocumentIdentifier{URI: u}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d changes and a code lens in %v", n+1, time.Since(start))
	// The def moved from line 169 to 174 (0-based); the trace's lines stay
	// where they are and are still inside it.
	if len(lenses) != 1 || lenses[0].Range.Start.Line != 174 {
		t.Errorf("lenses after the storm = %+v, want one on line 174", lenses)
	}
	h.srv.mu.Lock()
	text := h.srv.docs[u].text
	h.srv.mu.Unlock()
	if got, _ := lineText(text, 5); got != want.String() {
		t.Errorf("line 6 after the storm = %.60q…, want %.60q…", got, want.String())
	}
}

func TestNewSettingsSupersedeARunningAnalysis(t *testing.T) {
	root, good := sglangWorkspace(t)
	slow := filepath.Join(t.TempDir(), "huge.json.gz")
	if err := os.WriteFile(slow, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{}, 1)
	analyze := func(ctx context.Context, o analyzer.Options) (*analyzer.Document, error) {
		if o.Input == slow {
			started <- struct{}{}
			<-ctx.Done() // a trace that would take minutes
			return nil, ctx.Err()
		}
		return Analyze(ctx, o)
	}
	h := start(t, Options{Analyze: analyze})
	h.initialize(root, map[string]any{"tracetriage": map[string]any{"trace": slow}})
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the slow analysis did not start")
	}
	settings := protocol.LSPAny(fmt.Sprintf(`{"tracetriage":{"trace":%q}}`, good))
	if err := h.server.DidChangeConfiguration(h.ctx, &protocol.DidChangeConfigurationParams{Settings: settings}); err != nil {
		t.Fatal(err)
	}
	ix := h.waitIndexed()
	if ix.Document().Framework != "sglang" {
		t.Errorf("loaded %q", ix.Document().Framework)
	}
	h.rec.mu.Lock()
	defer h.rec.mu.Unlock()
	if len(h.rec.messages) != 0 {
		t.Errorf("the superseded analysis was reported: %+v", h.rec.messages)
	}
}

func TestExitWhileClientStopsReading(t *testing.T) {
	root, trace := sglangWorkspace(t)
	a, b := net.Pipe()
	t.Cleanup(func() { _ = a.Close(); _ = b.Close() })
	done := make(chan error, 1)
	go func() { done <- New(Options{PollInterval: 10 * time.Millisecond}).Serve(context.Background(), a) }()
	frames := jsonrpc2.NewHeaderStream(b).(frameIO)
	ctx := context.Background()
	write := func(s string) {
		if _, err := frames.WriteFrame(ctx, []byte(s)); err != nil {
			t.Fatalf("write: %v", err)
		}
	}
	write(fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{},"rootUri":%q,"initializationOptions":{"trace":%q}}}`,
		uri.File(root), trace))
	if _, _, err := frames.ReadFrame(ctx); err != nil {
		t.Fatal(err)
	}
	write(`{"jsonrpc":"2.0","method":"initialized","params":{}}`)
	// From here on the client reads nothing: the diagnostics the server
	// publishes for the workspace's files block on the pipe.
	time.Sleep(200 * time.Millisecond)
	write(`{"jsonrpc":"2.0","method":"exit"}`)
	select {
	case err := <-done:
		if !errors.Is(err, ErrExitWithoutShutdown) {
			t.Errorf("Serve = %v, want ErrExitWithoutShutdown", err)
		}
	case <-time.After(stopTimeout + 5*time.Second):
		t.Fatal("Serve hung on a client that stopped reading")
	}
}

// A trace still being written (cut short) is an Info message, not an
// error, and is analysed once it is complete, with the real engine.
func TestTraceStillBeingWritten(t *testing.T) {
	full := testutil.TestdataJSON(t, "torch-eager.json.gz")
	path := filepath.Join(t.TempDir(), "eager.json")
	if err := os.WriteFile(path, full[:len(full)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	h := start(t, Options{PollInterval: 10 * time.Millisecond})
	h.initialize(t.TempDir(), map[string]any{"tracetriage": map[string]any{"trace": path}})
	var msgs []protocol.ShowMessageParams
	h.waitFor("the message", func() bool {
		h.rec.mu.Lock()
		defer h.rec.mu.Unlock()
		msgs = append(msgs[:0], h.rec.messages...)
		return len(msgs) > 0
	})
	if m := msgs[0]; m.Type != protocol.MessageTypeInfo || !strings.Contains(m.Message, "eager.json ends early (still being written, or cut short)") {
		t.Errorf("message %+v", m)
	}
	if h.srv.snapshot().index != nil {
		t.Fatal("an index from a trace cut short")
	}
	if err := os.WriteFile(path, full, 0o644); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
	if ix := h.waitIndexed(); len(ix.Files()) == 0 {
		t.Error("the completed trace indexed no source file")
	}
}

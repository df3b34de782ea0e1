package lsp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"

	"github.com/tracetriage/tracetriage/analyzer"
)

// AnalyzeFunc runs an analysis; the package's Analyze is the default. Tests pass
// one that reads a prepared analysis document.
type AnalyzeFunc func(ctx context.Context, opts analyzer.Options) (*analyzer.Document, error)

// Options configures a Server.
type Options struct {
	// Analyze runs the engine; nil means the package's Analyze (saved
	// analysis documents as they are, traces through analyzer.Analyze).
	Analyze AnalyzeFunc
	// Logger receives the server's logs; nil discards them. The command
	// logs to stderr: stdout belongs to the protocol.
	Logger *slog.Logger
	// PollInterval is how often the trace on disk is checked for changes;
	// zero means two seconds.
	PollInterval time.Duration
	// Version is reported in serverInfo.
	Version string
}

// ErrExitWithoutShutdown is returned by Serve when the client sent exit
// without shutdown first (the protocol asks for exit status 1 then).
var ErrExitWithoutShutdown = errors.New("exit notification received before shutdown")

// Server is the tracetriage language server. Create one per connection with
// New and run it with Serve.
type Server struct {
	protocol.UnimplementedServer

	analyze AnalyzeFunc
	log     *slog.Logger
	poll    time.Duration
	version string

	conn   jsonrpc2.Conn
	client protocol.Client
	bg     context.Context // lives as long as the connection
	stop   context.CancelFunc

	mu          sync.Mutex
	initialized bool // initialize answered
	running     bool // initialized notification seen: background work started
	shutdown    bool
	roots       []string
	cfg         Config
	caps        clientCaps
	docs        map[uri.URI]*document
	index       *Index
	published   map[uri.URI]bool // URIs that last got a non-empty diagnostics list
	shown       map[string]bool  // messages already shown to the user

	reconfig  chan struct{} // settings or folders changed: re-resolve the trace
	dirty     map[uri.URI]bool
	publishCh chan struct{}
	exited    chan struct{}
	exitOnce  sync.Once
	exitClean bool
	wg        sync.WaitGroup
}

// clientCaps is what the client said it supports, among what we use.
type clientCaps struct {
	codeLensRefresh  bool
	inlayHintRefresh bool
}

// New returns a server with the given options.
func New(opts Options) *Server {
	s := &Server{
		analyze:   opts.Analyze,
		log:       opts.Logger,
		poll:      opts.PollInterval,
		version:   opts.Version,
		docs:      make(map[uri.URI]*document),
		published: make(map[uri.URI]bool),
		shown:     make(map[string]bool),
		dirty:     make(map[uri.URI]bool),
		reconfig:  make(chan struct{}, 1),
		publishCh: make(chan struct{}, 1),
		exited:    make(chan struct{}),
	}
	if s.analyze == nil {
		s.analyze = Analyze
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.poll <= 0 {
		s.poll = 2 * time.Second
	}
	return s
}

// Serve speaks the protocol over rwc (LSP Content-Length framing) until the
// client sends exit, the stream ends or ctx is cancelled.
func (s *Server) Serve(ctx context.Context, rwc io.ReadWriteCloser) error {
	return s.ServeStream(ctx, jsonrpc2.NewHeaderStream(rwc))
}

// ServeStream is Serve over an already framed stream.
func (s *Server) ServeStream(ctx context.Context, stream jsonrpc2.Stream) error {
	// bg carries the background work (analysis, watching, publishing); it
	// ends at shutdown, while the connection lives on until exit.
	s.bg, s.stop = context.WithCancel(ctx)
	defer s.stop()
	s.conn = jsonrpc2.NewConn(newTolerantStream(stream, s.log), jsonrpc2.WithCodec(lspCodec{}))
	s.client = protocol.ClientDispatcher(s.conn)
	s.conn.Go(ctx, s.handler())
	s.wg.Add(1)
	go s.publisher()

	var err error
	select {
	case <-s.exited:
		s.mu.Lock()
		clean := s.exitClean
		s.mu.Unlock()
		if !clean {
			err = ErrExitWithoutShutdown
		}
		// Closing waits for the reader, which may sit in a blocking read of
		// stdin: do not wait for it.
		go s.conn.Close()
	case <-s.conn.Done():
		err = s.conn.Err()
	case <-ctx.Done():
		go s.conn.Close()
	}
	s.stop()
	// The background work stops with bg; a write to a client that no
	// longer reads could still hold the publisher, so do not wait forever.
	finished := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(finished)
	}()
	select {
	case <-finished:
	case <-time.After(stopTimeout):
		s.log.Warn("background work did not stop in time; leaving it", "timeout", stopTimeout)
	}
	return err
}

// stopTimeout bounds how long Serve waits for background work to stop.
const stopTimeout = 3 * time.Second

// handler is the message chain: one message at a time in wire order (each
// handler is quick; analyses run in the background), requests gated by the
// lifecycle, panics contained, and notification errors logged instead of
// failing the connection.
func (s *Server) handler() jsonrpc2.Handler {
	dispatch := protocol.ServerHandler(s, jsonrpc2.MethodNotFoundHandler)
	// No protocol.CancelHandler: every request is answered before the next
	// message is read, so there is nothing in flight to cancel (and its
	// context.WithCancel on the pooled request context outlives the request).
	chain := func(ctx context.Context, req *jsonrpc2.Request) (any, error) {
		if !served(req.Method()) {
			// Unknown to this server (including $/cancelRequest: nothing is
			// ever in flight). Decoding params of a method we do not serve
			// would only turn "not found" into a parse error.
			if req.IsCall() {
				return nil, jsonrpc2.Errorf(jsonrpc2.MethodNotFound, "method %q is not served by tracetriage", req.Method())
			}
			return nil, nil
		}
		if err := s.gate(req); err != nil {
			return nil, err
		}
		return dispatch(ctx, req)
	}
	return func(ctx context.Context, req *jsonrpc2.Request) (result any, err error) {
		method := req.Method()
		isCall := req.IsCall()
		start := time.Now()
		defer func() {
			if r := recover(); r != nil {
				s.log.Error("handler panicked", "method", method, "panic", r, "stack", string(debug.Stack()))
				result, err = nil, jsonrpc2.Errorf(jsonrpc2.InternalError, "tracetriage: internal error in %s", method)
			}
			if !isCall {
				if err != nil {
					s.log.Warn("notification dropped", "method", method, "err", err)
				}
				result, err = nil, nil
			}
			s.log.Debug("handled", "method", method, "took", time.Since(start))
		}()
		return chain(ctx, req)
	}
}

// served reports whether the server implements method; anything else is
// answered "method not found" (calls) or dropped (notifications).
func served(method string) bool {
	switch method {
	case protocol.MethodInitialize, protocol.MethodInitialized, protocol.MethodShutdown, protocol.MethodExit,
		protocol.MethodTextDocumentDidOpen, protocol.MethodTextDocumentDidChange, protocol.MethodTextDocumentDidClose,
		protocol.MethodTextDocumentHover, protocol.MethodTextDocumentInlayHint, protocol.MethodTextDocumentCodeLens,
		protocol.MethodWorkspaceDidChangeConfiguration, protocol.MethodWorkspaceDidChangeWorkspaceFolders:
		return true
	}
	return false
}

// gate applies the lifecycle: nothing but initialize before it, nothing
// after shutdown but exit.
func (s *Server) gate(req *jsonrpc2.Request) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := req.Method()
	switch {
	case m == protocol.MethodExit:
		return nil
	case s.shutdown:
		if req.IsCall() {
			return jsonrpc2.NewError(jsonrpc2.InvalidRequest, "server is shut down")
		}
		return errors.New("server is shut down")
	case !s.initialized && m != protocol.MethodInitialize:
		if req.IsCall() {
			return jsonrpc2.NewError(jsonrpc2.ServerNotInitialized, "server not initialized")
		}
		return errors.New("server not initialized")
	case s.initialized && m == protocol.MethodInitialize:
		return jsonrpc2.NewError(jsonrpc2.InvalidRequest, "initialize sent twice")
	}
	return nil
}

// Initialize reads the workspace folders, the client's capabilities and
// the initial settings.
func (s *Server) Initialize(_ context.Context, p *protocol.InitializeParams) (*protocol.InitializeResult, error) {
	roots := foldersOf(p)
	cfg, cfgErr := parseSettings(p.InitializationOptions, Config{})
	var caps clientCaps
	if w := p.Capabilities.Workspace; w != nil {
		if w.CodeLens != nil && w.CodeLens.RefreshSupport != nil {
			caps.codeLensRefresh = *w.CodeLens.RefreshSupport
		}
		if w.InlayHint != nil && w.InlayHint.RefreshSupport != nil {
			caps.inlayHintRefresh = *w.InlayHint.RefreshSupport
		}
	}
	s.mu.Lock()
	s.initialized = true
	s.roots = roots
	s.cfg = cfg
	s.caps = caps
	s.mu.Unlock()
	if cfgErr != nil {
		s.log.Warn("initializationOptions ignored", "err", cfgErr)
		s.notifyOnce("settings:"+cfgErr.Error(), protocol.MessageTypeWarning, "tracetriage: "+cfgErr.Error())
	}
	s.log.Info("initialize", "client", p.ClientInfo.Name, "roots", roots)

	yes := true
	change := protocol.TextDocumentSyncKindIncremental
	res := &protocol.InitializeResult{
		Capabilities: protocol.ServerCapabilities{
			TextDocumentSync: &protocol.TextDocumentSyncOptions{
				OpenClose: &yes,
				Change:    &change,
			},
			HoverProvider:     protocol.Boolean(true),
			InlayHintProvider: protocol.Boolean(true),
			CodeLensProvider:  &protocol.CodeLensOptions{},
			Workspace: &protocol.WorkspaceOptions{
				WorkspaceFolders: &protocol.WorkspaceFoldersServerCapabilities{
					Supported:           &yes,
					ChangeNotifications: protocol.Boolean(true),
				},
			},
		},
		ServerInfo: protocol.ServerInfo{Name: "tracetriage"},
	}
	if s.version != "" {
		res.ServerInfo.Version = protocol.NewOptional(s.version)
	}
	return res, nil
}

// foldersOf returns the workspace folders as local paths.
func foldersOf(p *protocol.InitializeParams) []string {
	var roots []string
	if fs, ok := p.WorkspaceFolders.Get(); ok {
		for _, f := range fs {
			if r := uriPath(f.URI); r != "" {
				roots = append(roots, r)
			}
		}
	}
	if len(roots) == 0 && p.RootURI != nil {
		if r := uriPath(*p.RootURI); r != "" {
			roots = append(roots, r)
		}
	}
	if len(roots) == 0 {
		if r, ok := p.RootPath.Get(); ok && r != "" {
			roots = append(roots, filepath.Clean(r))
		}
	}
	return roots
}

// uriPath returns the local path of a file URI, or "".
func uriPath(u uri.URI) string {
	if u == "" || !u.IsFile() {
		return ""
	}
	p := u.Path()
	if p == "" {
		return ""
	}
	return filepath.Clean(filepath.FromSlash(p))
}

// Initialized starts the background work: loading the trace and watching it.
func (s *Server) Initialized(context.Context, *protocol.InitializedParams) error {
	s.mu.Lock()
	start := !s.running
	s.running = true
	s.mu.Unlock()
	if start {
		s.wg.Add(1)
		go s.watch()
	}
	return nil
}

// Shutdown stops the background work; the connection stays up for exit.
func (s *Server) Shutdown(context.Context) error {
	s.mu.Lock()
	s.shutdown = true
	s.mu.Unlock()
	s.stop()
	return nil
}

// Exit ends Serve.
func (s *Server) Exit(context.Context) error {
	s.mu.Lock()
	s.exitClean = s.shutdown
	s.mu.Unlock()
	s.exitOnce.Do(func() { close(s.exited) })
	return nil
}

// DidChangeConfiguration re-reads the settings and reloads the trace.
func (s *Server) DidChangeConfiguration(_ context.Context, p *protocol.DidChangeConfigurationParams) error {
	s.mu.Lock()
	cfg, err := parseSettings(p.Settings, s.cfg)
	if err == nil {
		s.cfg = cfg
	}
	s.mu.Unlock()
	if err != nil {
		s.notifyOnce("settings:"+err.Error(), protocol.MessageTypeWarning, "tracetriage: "+err.Error())
		return fmt.Errorf("didChangeConfiguration: %w", err)
	}
	s.kick()
	return nil
}

// DidChangeWorkspaceFolders updates the roots paths are resolved against.
func (s *Server) DidChangeWorkspaceFolders(_ context.Context, p *protocol.DidChangeWorkspaceFoldersParams) error {
	s.mu.Lock()
	for _, f := range p.Event.Removed {
		if r := uriPath(f.URI); r != "" {
			s.roots = slices.DeleteFunc(s.roots, func(x string) bool { return x == r })
		}
	}
	for _, f := range p.Event.Added {
		if r := uriPath(f.URI); r != "" && !slices.Contains(s.roots, r) {
			s.roots = append(s.roots, r)
		}
	}
	s.mu.Unlock()
	s.kick()
	return nil
}

// kick asks the watcher to re-resolve the trace now.
func (s *Server) kick() {
	select {
	case s.reconfig <- struct{}{}:
	default:
	}
}

// DidOpen records the document and publishes its diagnostics.
func (s *Server) DidOpen(_ context.Context, p *protocol.DidOpenTextDocumentParams) error {
	td := p.TextDocument
	s.mu.Lock()
	s.docs[td.URI] = &document{
		text:    td.Text,
		version: td.Version,
		python:  isPython(string(td.LanguageID), string(td.URI)),
	}
	s.mu.Unlock()
	s.markDirty(td.URI)
	return nil
}

// DidChange applies the edits in order.
func (s *Server) DidChange(_ context.Context, p *protocol.DidChangeTextDocumentParams) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.docs[p.TextDocument.URI]
	if d == nil {
		return fmt.Errorf("didChange for %s, which is not open", p.TextDocument.URI)
	}
	text, err := applyChanges(d.text, p.ContentChanges)
	d.text = text
	d.version = p.TextDocument.Version
	return err
}

// DidClose forgets the document.
func (s *Server) DidClose(_ context.Context, p *protocol.DidCloseTextDocumentParams) error {
	s.mu.Lock()
	delete(s.docs, p.TextDocument.URI)
	s.mu.Unlock()
	return nil
}

// snapshot is what a request needs, read under the lock once.
type snapshot struct {
	index *Index
	roots []string
	cfg   Config
}

func (s *Server) snapshot() snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	return snapshot{index: s.index, roots: s.roots, cfg: s.cfg}
}

// indexedDocument returns the current analysis, the index key and the
// lines of an open document that the analysis knows; ok is false for a
// file the trace never mentions or a document that is not open.
func (s *Server) indexedDocument(u uri.URI) (snap snapshot, key string, lines []string, ok bool) {
	snap = s.snapshot()
	if key = snap.fileFor(u); key == "" {
		return snap, "", nil, false
	}
	text, ok := s.docText(u)
	if !ok {
		return snap, "", nil, false
	}
	return snap, key, splitLines(text), true
}

// docText returns the open document's text, or the file on disk.
func (s *Server) docText(u uri.URI) (string, bool) {
	s.mu.Lock()
	d := s.docs[u]
	var text string
	if d != nil {
		text = d.text // strings are immutable: the copy stays valid
	}
	s.mu.Unlock()
	if d != nil {
		return text, true
	}
	return readFileText(uriPath(u))
}

// fileFor resolves a document URI to the trace's repo-relative path, or "".
// Only Python files are looked up.
func (snap snapshot) fileFor(u uri.URI) string {
	if snap.index == nil {
		return ""
	}
	p := uriPath(u)
	if p == "" || !isPython("", p) {
		return ""
	}
	return snap.index.Resolve(filepath.ToSlash(p), slashAll(snap.roots))
}

func slashAll(ps []string) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = filepath.ToSlash(p)
	}
	return out
}

// notifyOnce shows a message to the user once per key.
func (s *Server) notifyOnce(key string, typ protocol.MessageType, msg string) {
	s.mu.Lock()
	seen := s.shown[key]
	s.shown[key] = true
	s.mu.Unlock()
	if seen || s.client == nil {
		return
	}
	ctx := s.bg
	if ctx == nil || ctx.Err() != nil {
		ctx = context.Background()
	}
	if err := s.client.ShowMessage(ctx, &protocol.ShowMessageParams{Type: typ, Message: msg}); err != nil {
		s.log.Warn("showMessage failed", "err", err)
	}
}

// lspCodec marshals payloads with the protocol package's union-aware
// encoder (the one protocol.NewServer installs, which it does not export).
type lspCodec struct{}

// Marshal encodes a payload; raw messages pass through.
func (lspCodec) Marshal(v any) ([]byte, error) {
	switch m := v.(type) {
	case jsonrpc2.RawMessage:
		if m == nil {
			return []byte("null"), nil
		}
		return m, nil
	case json.RawMessage:
		return m, nil
	}
	return protocol.Marshal(v)
}

// Unmarshal decodes a payload; raw messages are copied.
func (lspCodec) Unmarshal(data []byte, v any) error {
	if p, ok := v.(*jsonrpc2.RawMessage); ok {
		*p = append(jsonrpc2.RawMessage(nil), data...)
		return nil
	}
	return protocol.Unmarshal(data, v)
}

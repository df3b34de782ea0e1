package mcp

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/tracetriage/tracetriage/analyzer"
)

// safetyEnv lays out:
//
//	base/root/a.json.gz         a trace inside the root
//	base/root/inner.json.gz     -> a.json.gz (symlink inside the root)
//	base/root/escape.json.gz    -> ../secret.json.gz (symlink out)
//	base/root/outdir            -> .. (directory symlink out)
//	base/secret.json.gz         a file outside the root
func safetyEnv(t *testing.T) (*testEnv, string) {
	t.Helper()
	doc := makeDoc("a", []string{"decode"}, 2, 1, 1)
	docs := map[string]*analyzer.Document{"a.json.gz": doc, "secret.json.gz": doc, "inner.json.gz": doc}
	e := newTestEnv(t, map[string]*analyzer.Document{"a.json.gz": doc}, nil)
	e.engine.docs = docs
	base := filepath.Dir(e.root)
	outside := filepath.Join(base, "secret.json.gz")
	must(t, os.WriteFile(outside, []byte("{}"), 0o644))
	must(t, os.Symlink("a.json.gz", filepath.Join(e.root, "inner.json.gz")))
	must(t, os.Symlink(filepath.Join("..", "secret.json.gz"), filepath.Join(e.root, "escape.json.gz")))
	must(t, os.Symlink("..", filepath.Join(e.root, "outdir")))
	return e, outside
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestPathsOutsideRootsAreRefused(t *testing.T) {
	e, outside := safetyEnv(t)
	root := e.srv.roots.operator[0]
	cases := []struct {
		name, arg string
		want      []string
	}{
		{"absolute outside", outside, []string{"outside the allowed roots", root, "--root"}},
		{"system file", "/etc/passwd", []string{"outside the allowed roots", root}},
		{"dot-dot", "../secret.json.gz", []string{"outside the allowed roots", root}},
		{"dot-dot inside then out", "sub/../../secret.json.gz", []string{"outside the allowed roots"}},
		{"symlink file escape", "escape.json.gz", []string{"symbolic link", "outside the allowed roots", root}},
		{"symlink dir escape", "outdir/secret.json.gz", []string{"symbolic link", "outside the allowed roots"}},
		{"file URI outside", "file://" + outside, []string{"outside the allowed roots"}},
		{"missing outside", "/no/such/dir/x.json", []string{"outside the allowed roots"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, tool := range []struct {
				name string
				args map[string]any
			}{
				{"analyze_trace", map[string]any{"input": c.arg}},
				{"analyze_trace", map[string]any{"mapping_input": "a.json.gz", "formal_input": c.arg}},
				{"kernel_sites", map[string]any{"input": c.arg, "kernel": "k"}},
				{"compare_traces", map[string]any{"before": "a.json.gz", "after": c.arg}},
			} {
				wantError(t, e.call(t, tool.name, tool.args), c.want...)
			}
		})
	}
	if n := e.engine.calls.Load(); n != 0 {
		t.Fatalf("the engine was called %d times on refused paths", n)
	}
}

func TestPathsInsideRootsAreAccepted(t *testing.T) {
	e, _ := safetyEnv(t)
	for _, arg := range []string{
		"a.json.gz",
		"./a.json.gz",
		"sub/../a.json.gz",
		filepath.Join(e.root, "a.json.gz"),
		"file://" + filepath.Join(e.root, "a.json.gz"),
		"inner.json.gz", // symlink that stays inside
	} {
		res := e.call(t, "analyze_trace", map[string]any{"input": arg})
		if res.IsError {
			t.Errorf("%s: %s", arg, resultText(res))
		}
	}
	// The engine receives the resolved real path.
	if got, want := e.engine.lastOpts.Load().Input, filepath.Join(e.srv.roots.operator[0], "a.json.gz"); got != want {
		t.Errorf("engine got %q, want the resolved %q", got, want)
	}
}

// TestProfileDirectoryWithEscapingLink: a profile directory under a root
// that holds a link to a trace (or a directory) outside the roots is
// refused, since the engine would read it.
func TestProfileDirectoryWithEscapingLink(t *testing.T) {
	e, outside := safetyEnv(t)
	prof := filepath.Join(e.root, "profile")
	must(t, os.Mkdir(prof, 0o755))
	must(t, os.WriteFile(filepath.Join(prof, "server_args.json"), []byte("{}"), 0o644))
	// A link inside the roots is fine.
	must(t, os.Symlink(filepath.Join(e.root, "a.json.gz"), filepath.Join(prof, "ok-TP-0.trace.json.gz")))
	res := e.call(t, "analyze_trace", map[string]any{"input": "profile"})
	if res.IsError && strings.Contains(resultText(res), "symbolic link") {
		t.Fatalf("a link inside the roots was refused: %s", resultText(res))
	}
	must(t, os.Symlink(outside, filepath.Join(prof, "x-TP-1.trace.json.gz")))
	wantError(t, e.call(t, "analyze_trace", map[string]any{"input": "profile"}), "x-TP-1.trace.json.gz", "symbolic link", "outside the allowed roots")
	must(t, os.Remove(filepath.Join(prof, "x-TP-1.trace.json.gz")))
	must(t, os.Symlink(filepath.Dir(outside), filepath.Join(prof, "run2")))
	wantError(t, e.call(t, "analyze_trace", map[string]any{"input": "profile"}), "run2", "symbolic link")
}

func TestRootGivenThroughSymlink(t *testing.T) {
	base := t.TempDir()
	real := filepath.Join(base, "real")
	must(t, os.Mkdir(real, 0o755))
	must(t, os.WriteFile(filepath.Join(real, "a.json"), []byte("{}"), 0o644))
	link := filepath.Join(base, "link")
	must(t, os.Symlink(real, link))
	eng := &fakeEngine{docs: map[string]*analyzer.Document{"a.json": makeDoc("a", []string{"decode"}, 1, 1, 1)}}
	srv, err := New(Config{Roots: []string{link}, Deps: Deps{Analyze: eng.Analyze}})
	must(t, err)
	cl := startClient(t, srv)
	for _, arg := range []string{filepath.Join(link, "a.json"), filepath.Join(real, "a.json"), "a.json"} {
		if res := callTool(t, cl, "analyze_trace", map[string]any{"input": arg}); res.IsError {
			t.Errorf("%s: %s", arg, resultText(res))
		}
	}
}

func TestNewRejectsMissingRoot(t *testing.T) {
	if _, err := New(Config{Roots: []string{filepath.Join(t.TempDir(), "absent")}}); err == nil || !strings.Contains(err.Error(), "absent") {
		t.Fatalf("New with a missing root: %v", err)
	}
}

type staticRoots []string

func (r staticRoots) ListRoots(context.Context, mcp.ListRootsRequest) (*mcp.ListRootsResult, error) {
	res := &mcp.ListRootsResult{}
	for _, p := range r {
		res.Roots = append(res.Roots, mcp.Root{URI: "file://" + p, Name: filepath.Base(p)})
	}
	return res, nil
}

// TestClientRootsReplaceTheDefault: without --root, a client's own roots
// decide; with --root, the operator's roots do.
func TestClientRootsReplaceTheDefault(t *testing.T) {
	clientDir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(clientDir, "a.json"), []byte("{}"), 0o644))
	wd, _ := os.Getwd()
	eng := &fakeEngine{docs: map[string]*analyzer.Document{"a.json": makeDoc("a", []string{"decode"}, 1, 1, 1)}}

	srv, err := New(Config{Deps: Deps{Analyze: eng.Analyze}}) // default root: the working directory
	must(t, err)
	withRoots := startClient(t, srv, client.WithRootsHandler(staticRoots{clientDir}))
	if res := callTool(t, withRoots, "analyze_trace", map[string]any{"input": filepath.Join(clientDir, "a.json")}); res.IsError {
		t.Fatalf("file under the client's root refused: %s", resultText(res))
	}
	if res := callTool(t, withRoots, "analyze_trace", map[string]any{"input": "a.json"}); res.IsError {
		t.Fatalf("relative path should resolve under the client's root: %s", resultText(res))
	}
	res := callTool(t, withRoots, "analyze_trace", map[string]any{"input": filepath.Join(wd, "doc.go")})
	wantError(t, res, "outside the allowed roots", clientDir)

	// A client without the roots capability gets the working directory.
	plain := startClient(t, srv)
	wantError(t, callTool(t, plain, "analyze_trace", map[string]any{"input": filepath.Join(clientDir, "a.json")}), "outside the allowed roots", wd)

	// Explicit --root wins over the client's roots.
	srv2, err := New(Config{Roots: []string{wd}, Deps: Deps{Analyze: eng.Analyze}})
	must(t, err)
	c2 := startClient(t, srv2, client.WithRootsHandler(staticRoots{clientDir}))
	wantError(t, callTool(t, c2, "analyze_trace", map[string]any{"input": filepath.Join(clientDir, "a.json")}), "outside the allowed roots", wd)
}

type mutableRoots struct {
	mu    sync.Mutex
	roots []string
	asked int
}

func (m *mutableRoots) set(r ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.roots = r
}

func (m *mutableRoots) ListRoots(ctx context.Context, req mcp.ListRootsRequest) (*mcp.ListRootsResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.asked++
	return staticRoots(m.roots).ListRoots(ctx, req)
}

// TestClientRootsListChanged: after notifications/roots/list_changed the
// server asks the client again; until then it reuses what it was told.
func TestClientRootsListChanged(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	for _, d := range []string{a, b} {
		must(t, os.WriteFile(filepath.Join(d, "a.json"), []byte("{}"), 0o644))
	}
	eng := &fakeEngine{docs: map[string]*analyzer.Document{"a.json": makeDoc("a", []string{"decode"}, 1, 1, 1)}}
	srv, err := New(Config{Deps: Deps{Analyze: eng.Analyze}})
	must(t, err)
	roots := &mutableRoots{roots: []string{a}}
	cl := startClient(t, srv, client.WithRootsHandler(roots))
	if res := callTool(t, cl, "analyze_trace", map[string]any{"input": filepath.Join(a, "a.json")}); res.IsError {
		t.Fatal(resultText(res))
	}
	wantError(t, callTool(t, cl, "analyze_trace", map[string]any{"input": filepath.Join(b, "a.json")}), "outside the allowed roots")
	roots.set(b)
	must(t, cl.RootListChanges(context.Background()))
	deadline := time.Now().Add(5 * time.Second)
	for {
		res := callTool(t, cl, "analyze_trace", map[string]any{"input": filepath.Join(b, "a.json")})
		if !res.IsError {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("roots not refreshed after list_changed: %s", resultText(res))
		}
		time.Sleep(20 * time.Millisecond)
	}
	wantError(t, callTool(t, cl, "analyze_trace", map[string]any{"input": filepath.Join(a, "a.json")}), "outside the allowed roots")
	roots.mu.Lock()
	defer roots.mu.Unlock()
	if roots.asked != 2 {
		t.Errorf("the server asked for the roots %d times, want 2 (once, then after the change)", roots.asked)
	}
}

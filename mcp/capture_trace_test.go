package mcp

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/tracetriage/tracetriage/live"
	"github.com/tracetriage/tracetriage/tracegen"
)

// fakeSGLangProfiler is a loopback SGLang server whose profiler writes a
// synthetic EXTEND and DECODE trace (tracegen) into the output_dir that
// /start_profile names, once the first generation arrives.
func fakeSGLangProfiler(t *testing.T) *httptest.Server {
	t.Helper()
	var mu sync.Mutex
	var outDir string
	var wrote bool
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/server_info":
			io.WriteString(w, `{"model_path":"Qwen/Qwen3-8B","tp_size":1}`)
		case "/start_profile":
			var b map[string]any
			json.Unmarshal(body, &b)
			mu.Lock()
			outDir, _ = b["output_dir"].(string)
			mu.Unlock()
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, "Start profiling.\n")
		case "/generate":
			mu.Lock()
			dir, write := outDir, outDir != "" && !wrote
			wrote = wrote || write
			mu.Unlock()
			if write {
				for _, st := range []string{"EXTEND", "DECODE"} {
					writeGzTrace(t, filepath.Join(dir, fmt.Sprintf("triage-trace-1782843274.77-TP-0-%s.trace.json.gz", st)), strings.ToLower(st))
				}
			}
			io.WriteString(w, `{"text":" profiler profiler","meta_info":{}}`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(ts.Close)
	return ts
}

func writeGzTrace(t *testing.T, path, stage string) {
	f, err := os.Create(path + ".tmp")
	must(t, err)
	zw := gzip.NewWriter(f)
	_, err = tracegen.Write(zw, tracegen.Options{Framework: "sglang", Stage: stage, Seed: 1})
	must(t, err)
	must(t, zw.Close())
	must(t, f.Close())
	must(t, os.Rename(path+".tmp", path))
}

func TestCaptureTraceThenAnalyze(t *testing.T) {
	ts := fakeSGLangProfiler(t)
	e := newTestEnv(t, nil, func(c *Config) { c.Deps.Analyze = nil }) // the real engine

	var notes atomic.Int64
	e.cl.OnNotification(func(n mcp.JSONRPCNotification) {
		if n.Method == "notifications/progress" {
			notes.Add(1)
		}
	})
	req := mcp.CallToolRequest{}
	req.Params.Name = "capture_trace"
	req.Params.Arguments = map[string]any{"url": ts.URL, "framework": "sglang", "trace_timeout_s": 30}
	req.Params.Meta = &mcp.Meta{ProgressToken: "cap"}
	res, err := e.cl.CallTool(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	out := decode[CaptureTraceOutput](t, res)
	if out.Framework != "sglang" || out.Model != "Qwen/Qwen3-8B" || !strings.HasPrefix(out.TracePath, filepath.Join(e.srv.roots.operator[0], defaultCaptureDir)) {
		t.Fatalf("capture: %+v", out)
	}
	if notes.Load() == 0 {
		t.Error("no progress notification while capturing")
	}
	if !strings.Contains(resultText(res), "analyze_trace") {
		t.Errorf("text: %s", resultText(res))
	}
	doc := decode[AnalyzeTraceOutput](t, e.call(t, "analyze_trace", map[string]any{"input": out.TracePath}))
	if doc.Framework != "sglang" || len(doc.Stages) < 2 {
		t.Fatalf("analysis of the capture: framework %q, %d stages", doc.Framework, len(doc.Stages))
	}
}

func TestCaptureTraceRefusals(t *testing.T) {
	var captures atomic.Int64
	e := newTestEnv(t, nil, func(c *Config) {
		c.Deps.Capture = func(ctx context.Context, o live.CaptureOptions) (*live.CaptureResult, error) {
			captures.Add(1)
			return nil, fmt.Errorf("unexpected capture")
		}
	})
	outside := t.TempDir()
	for _, c := range []struct {
		args map[string]any
		want []string
	}{
		{map[string]any{"url": "http://10.0.0.9:30000"}, []string{"may not reach", "--allow-host"}},
		{map[string]any{"url": "http://127.0.0.1:30000", "output_dir": outside}, []string{"output_dir", "outside the allowed roots"}},
		{map[string]any{"url": "http://127.0.0.1:30000", "output_dir": "../escape"}, []string{"outside the allowed roots"}},
		{map[string]any{"url": "http://127.0.0.1:30000", "profile_by_stage": "maybe"}, []string{"profile_by_stage"}},
		{map[string]any{"url": "http://127.0.0.1:30000", "num_steps": 1000}, []string{"num_steps"}},
		{map[string]any{"url": "http://127.0.0.1:30000", "framework": "tgi"}, []string{"framework"}},
	} {
		wantError(t, e.call(t, "capture_trace", c.args), c.want...)
	}
	if n := captures.Load(); n != 0 {
		t.Fatalf("refused calls reached the capture: %d", n)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(e.root), "escape")); err == nil {
		t.Fatal("a directory was created outside the roots")
	}
	// A server that is down: a sentence saying what to check.
	down := httptest.NewServer(http.NotFoundHandler())
	url := down.URL
	down.Close()
	e2 := newTestEnv(t, nil, nil)
	wantError(t, e2.call(t, "capture_trace", map[string]any{"url": url, "framework": "sglang"}), "capture_trace failed")
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tracetriage/tracetriage/live"
)

// liveTestServer is a loopback server speaking the profiler and generation
// endpoints of one framework; it writes a small Kineto trace where the real
// server would.
type liveTestServer struct {
	*httptest.Server
	mu     sync.Mutex
	calls  []string
	starts []map[string]any
}

func newLiveTestServer(t *testing.T, framework, traceDir string) *liveTestServer {
	t.Helper()
	s := &liveTestServer{}
	trace := `{"traceEvents":[{"ph":"X","cat":"kernel","name":"k","pid":0,"tid":7,"ts":1,"dur":2,"args":{"correlation":1}}]}`
	owner := map[string]string{"sglang": "sglang", "vllm": "vllm", "trtllm": "tensorrt_llm"}[framework]
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		s.mu.Lock()
		s.calls = append(s.calls, r.Method+" "+r.URL.Path)
		if r.URL.Path == "/start_profile" {
			s.starts = append(s.starts, body)
		}
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v1/models":
			_ = json.NewEncoder(w).Encode(map[string]any{"data": []any{map[string]any{"id": "m", "owned_by": owner}}})
		case "/server_info":
			if framework != "sglang" {
				w.WriteHeader(404)
				return
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"model_path": "m", "internal_states": []any{}})
		case "/start_profile":
			if framework == "sglang" {
				dir, _ := body["output_dir"].(string)
				prefix, _ := body["profile_prefix"].(string)
				if err := os.WriteFile(filepath.Join(dir, prefix+"-1-TP-0-DECODE.trace.json"), []byte(trace), 0o644); err != nil {
					t.Errorf("fake server: %v", err)
				}
			}
		case "/stop_profile":
			if err := os.WriteFile(filepath.Join(traceDir, "w0.pt.trace.json"), []byte(trace), 0o644); err != nil {
				t.Errorf("fake server: %v", err)
			}
		case "/generate":
			_, _ = w.Write([]byte(`{"text":"ok ok"}`))
		case "/v1/chat/completions":
			_, _ = w.Write([]byte(`{"choices":[{"message":{"content":"ok"}}]}`))
		default:
			w.WriteHeader(404)
		}
	}))
	t.Cleanup(s.Server.Close)
	return s
}

func (s *liveTestServer) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...)
}

// liveAnalyzeFlagSet builds the flag set the analyze command would: its own
// --framework plus the capture flags.
func liveAnalyzeFlagSet(t *testing.T, args ...string) *captureFlags {
	t.Helper()
	fs := flag.NewFlagSet("tracetriage analyze", flag.ContinueOnError)
	fs.String("framework", "auto", "")
	c := addCaptureFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCaptureFlagsVLLM(t *testing.T) {
	dir := t.TempDir()
	srv := newLiveTestServer(t, "vllm", dir)
	c := liveAnalyzeFlagSet(t, "--framework", "vllm", "--url", srv.URL, "--output-dir", dir,
		"--profile-prefix", "mine", "--probe-delay", "0.001", "--trace-timeout", "5", "--request-timeout", "10s")
	var stderr, stdout bytes.Buffer
	path, err := c.capture(context.Background(), "", c.url, stdio{out: &stdout, err: &stderr})
	if err != nil {
		t.Fatalf("capture: %v", err)
	}
	if path != dir {
		t.Errorf("trace path %s, want %s", path, dir)
	}
	want := "POST /start_profile,GET /v1/models,POST /v1/chat/completions,POST /stop_profile"
	if got := strings.Join(srv.Calls(), ","); got != want {
		t.Errorf("requests %s, want %s (explicit --framework: no detection)", got, want)
	}
	for _, s := range []string{"tracetriage analyze: starting the vLLM profiler", "traces ready", "note: vLLM ignores --profile-prefix"} {
		if !strings.Contains(stderr.String(), s) {
			t.Errorf("stderr lacks %q:\n%s", s, stderr.String())
		}
	}
	if stdout.Len() != 0 {
		t.Errorf("capture wrote on stdout: %q", stdout.String())
	}
}

func TestCaptureFlagsSGLangMappingRole(t *testing.T) {
	root := t.TempDir()
	mapping := filepath.Join(root, "mapping")
	srv := newLiveTestServer(t, "sglang", "")
	c := liveAnalyzeFlagSet(t, "--mapping-url", srv.URL, "--formal-url", srv.URL, "--output-dir", root,
		"--mapping-output-dir", mapping, "--no-profile-by-stage", "--num-steps", "3", "--start-step", "0", "--probe-requests", "0")
	var stderr bytes.Buffer
	path, err := c.capture(context.Background(), "mapping", c.mappingURL, stdio{out: &bytes.Buffer{}, err: &stderr})
	if err != nil {
		t.Fatalf("capture: %v", err)
	}
	if filepath.Dir(path) != mapping {
		t.Errorf("trace path %s, want a new directory under %s", path, mapping)
	}
	if _, err := os.Stat(filepath.Join(path, "mapping-trace-1-TP-0-DECODE.trace.json")); err != nil {
		t.Errorf("trace not where expected: %v", err)
	}
	if _, err := os.Stat(filepath.Join(path, "server_args.json")); err != nil {
		t.Errorf("server args not saved beside the trace: %v", err)
	}
	start := srv.starts[0]
	if start["profile_by_stage"] != false || start["num_steps"] != "3" || start["start_step"] != "0" || start["profile_prefix"] != "mapping-trace" {
		t.Errorf("start_profile body %v", start)
	}
	if got := strings.Join(srv.Calls(), ","); got != "GET /v1/models,GET /server_info,POST /start_profile" {
		t.Errorf("requests %s (no probe with --probe-requests 0)", got)
	}
	if !strings.Contains(stderr.String(), "tracetriage analyze: [mapping] ") {
		t.Errorf("progress lines do not name the role:\n%s", stderr.String())
	}
}

func TestCaptureFlagsErrors(t *testing.T) {
	tests := []struct {
		args  []string
		usage bool
		want  string
	}{
		{[]string{"--framework", "vllm", "--profile-by-stage", "on", "--output-dir", "x"}, false, "--profile-by-stage is SGLang-only"},
		{[]string{"--profile-by-stage", "maybe"}, true, `--profile-by-stage "maybe"`},
		{[]string{"--profile-by-stage", "on", "--no-profile-by-stage"}, true, "contradict"},
		{[]string{"--num-steps", "0"}, true, "--num-steps 0"},
		{[]string{"--probe-delay", "-5"}, true, "--probe-delay"},
		{[]string{"--framework", "tgi"}, true, `--framework "tgi"`},
		{[]string{"--framework", "vllm"}, false, "torch_profiler_dir"},
	}
	for _, tc := range tests {
		c := liveAnalyzeFlagSet(t, tc.args...)
		_, err := c.capture(context.Background(), "", "http://127.0.0.1:1", stdio{out: &bytes.Buffer{}, err: &bytes.Buffer{}})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want %q", tc.args, err, tc.want)
			continue
		}
		var ue *usageError
		if errors.As(err, &ue) != tc.usage {
			t.Errorf("%v: usage error = %v, want %v", tc.args, !tc.usage, tc.usage)
		}
	}
	c := liveAnalyzeFlagSet(t)
	if _, err := c.capture(context.Background(), "", "http://127.0.0.1:1", stdio{out: &bytes.Buffer{}, err: &bytes.Buffer{}}); !errors.Is(err, live.ErrUnreachable) {
		t.Errorf("server down: got %v", err)
	}
}

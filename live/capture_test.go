package live

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// fastOptions returns capture options with short waits for tests.
func fastOptions(url string) CaptureOptions {
	return CaptureOptions{
		URL:            url,
		ProbeDelay:     time.Millisecond,
		RequestTimeout: 5 * time.Second,
		TraceTimeout:   5 * time.Second,
		PollInterval:   10 * time.Millisecond,
	}
}

// progressLog collects progress notes safely.
type progressLog struct {
	mu    sync.Mutex
	notes []string
}

func (p *progressLog) add(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.notes = append(p.notes, s)
}

func (p *progressLog) String() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.notes, "\n")
}

func TestCaptureSGLang(t *testing.T) {
	tests := []struct {
		name      string
		framework string
		byStage   Switch
		wantCalls []string
		wantFiles []string
	}{
		{
			name:      "auto detects from the model owner, then asks server_info once",
			wantCalls: []string{"GET /v1/models", "GET /server_info", "POST /start_profile", "POST /generate"},
			wantFiles: []string{"triage-trace-1782843274.77-TP-0-DECODE.trace.json.gz", "triage-trace-1782843274.77-TP-0-EXTEND.trace.json.gz"},
		},
		{
			name: "explicit framework sends no detection request", framework: "sgl", byStage: SwitchOff,
			wantCalls: []string{"GET /server_info", "POST /start_profile", "POST /generate"},
			wantFiles: []string{"triage-trace-1782843274.77-TP-0.trace.json.gz"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newFakeServer(t, fakeConfig{framework: "sglang", writeDelay: 30 * time.Millisecond})
			out := t.TempDir()
			var log progressLog
			opts := fastOptions(srv.URL)
			opts.Framework = tc.framework
			opts.OutputDir = out
			opts.ProfileByStage = tc.byStage
			opts.Progress = log.add
			res, err := Capture(context.Background(), opts)
			if err != nil {
				t.Fatalf("Capture: %v", err)
			}
			if got := srv.Calls(); !reflect.DeepEqual(got, tc.wantCalls) {
				t.Errorf("requests = %v, want %v", got, tc.wantCalls)
			}
			start := srv.body("/start_profile", 0)
			if start["output_dir"] != res.TracePath || filepath.Dir(res.TracePath) != out {
				t.Errorf("output_dir %v, trace path %s: want the same new directory under %s", start["output_dir"], res.TracePath, out)
			}
			want := map[string]any{
				"output_dir": res.TracePath, "num_steps": "5", "activities": []any{"CPU", "GPU"},
				"profile_by_stage": tc.byStage != SwitchOff, "merge_profiles": false, "profile_prefix": "triage-trace",
			}
			if !reflect.DeepEqual(start, want) {
				t.Errorf("start_profile body = %v, want %v", start, want)
			}
			gen := srv.body("/generate", 0)
			sp, _ := gen["sampling_params"].(map[string]any)
			if gen["text"] != DefaultProbePrompt || gen["stream"] != false || sp["max_new_tokens"] != 64.0 || sp["temperature"] != 0.0 {
				t.Errorf("generate body = %v", gen)
			}
			var names []string
			entries, _ := os.ReadDir(res.TracePath)
			for _, e := range entries {
				if strings.HasSuffix(e.Name(), ".trace.json.gz") {
					names = append(names, e.Name())
					if k := readTrace(t, filepath.Join(res.TracePath, e.Name())); len(k) != 1 {
						t.Errorf("%s: kernels %v", e.Name(), k)
					}
				}
			}
			if !reflect.DeepEqual(names, tc.wantFiles) {
				t.Errorf("trace files = %v, want %v", names, tc.wantFiles)
			}
			if res.ServerArgsPath != filepath.Join(res.TracePath, "server_args.json") {
				t.Errorf("server args path = %q", res.ServerArgsPath)
			}
			var args map[string]any
			data, err := os.ReadFile(res.ServerArgsPath)
			if err != nil || json.Unmarshal(data, &args) != nil || args["model_path"] != "Qwen/Qwen3-8B" {
				t.Errorf("server_args.json = %s (%v)", data, err)
			}
			if res.Framework != FrameworkSGLang || res.Model != "Qwen/Qwen3-8B" {
				t.Errorf("result = %+v", res)
			}
			if !strings.Contains(log.String(), "starting the SGLang profiler") || !strings.Contains(log.String(), "traces ready") {
				t.Errorf("progress notes:\n%s", log.String())
			}
		})
	}
}

func TestCaptureSGLangOptions(t *testing.T) {
	srv := newFakeServer(t, fakeConfig{framework: "sglang"})
	step := 3
	opts := fastOptions(srv.URL)
	opts.Framework = "sglang"
	opts.OutputDir = t.TempDir()
	opts.NumSteps = 12
	opts.MergeProfiles = true
	opts.StartStep = &step
	opts.ProfilePrefix = "mapping-trace"
	opts.ProbeRequests = 2
	res, err := Capture(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	start := srv.body("/start_profile", 0)
	if start["num_steps"] != "12" || start["start_step"] != "3" || start["merge_profiles"] != true || start["profile_prefix"] != "mapping-trace" {
		t.Errorf("start_profile body = %v", start)
	}
	for i := range 2 {
		sp := srv.body("/generate", i)["sampling_params"].(map[string]any)
		if sp["sampling_seed"] != float64(i) || sp["max_new_tokens"] != 96.0 {
			t.Errorf("probe %d sampling params = %v", i, sp)
		}
	}
	if _, err := os.Stat(filepath.Join(res.TracePath, "mapping-trace-1782843274.77-TP-0-DECODE.trace.json.gz")); err != nil {
		t.Error(err)
	}
}

func TestCaptureVLLM(t *testing.T) {
	dir := t.TempDir()
	// A trace left by an earlier run must not be taken for the new one.
	stale := filepath.Join(dir, "old", "worker0_1.1.pt.trace.json.gz")
	writeTraceFile(t, stale, "vllm")
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	srv := newFakeServer(t, fakeConfig{framework: "vllm", traceOut: dir, writeDelay: 50 * time.Millisecond})
	opts := fastOptions(srv.URL)
	opts.OutputDir = dir
	res, err := Capture(context.Background(), opts)
	if err != nil {
		t.Fatalf("Capture: %v", err)
	}
	want := []string{"GET /v1/models", "POST /start_profile", "POST /v1/chat/completions", "POST /stop_profile"}
	if got := srv.Calls(); !reflect.DeepEqual(got, want) {
		t.Errorf("requests = %v, want %v", got, want)
	}
	if res.Framework != FrameworkVLLM || res.TracePath != dir || res.Model != "Qwen/Qwen3-8B" || res.ServerArgsPath != "" {
		t.Errorf("result = %+v, want vllm, %s", res, dir)
	}
	chat := srv.body("/v1/chat/completions", 0)
	if chat["model"] != "Qwen/Qwen3-8B" || chat["max_tokens"] != 64.0 || chat["stream"] != false {
		t.Errorf("chat body = %v", chat)
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "*.pt.trace.json.gz"))
	if len(matches) != 1 || len(readTrace(t, matches[0])) != 1 {
		t.Errorf("new traces = %v", matches)
	}
}

func TestCaptureTRTLLM(t *testing.T) {
	tests := []struct {
		name    string
		perRank bool
		want    string
	}{
		{"one trace file", false, "trace.json"},
		{"per-rank trace files", true, "trace-rank-0.json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "trace.json")
			srv := newFakeServer(t, fakeConfig{framework: "trtllm", traceOut: out, chatMissing: true, perRankFiles: tc.perRank})
			var log progressLog
			opts := fastOptions(srv.URL)
			opts.OutputDir = out
			opts.ProfilePrefix = "ignored"
			opts.Progress = log.add
			res, err := Capture(context.Background(), opts)
			if err != nil {
				t.Fatalf("Capture: %v", err)
			}
			want := []string{"GET /v1/models", "POST /start_profile", "POST /v1/chat/completions", "POST /v1/completions", "POST /stop_profile"}
			if got := srv.Calls(); !reflect.DeepEqual(got, want) {
				t.Errorf("requests = %v, want %v", got, want)
			}
			if res.Framework != FrameworkTRTLLM {
				t.Errorf("framework = %q: a TensorRT-LLM server must not be taken for vLLM", res.Framework)
			}
			if res.TracePath != filepath.Join(dir, tc.want) {
				t.Errorf("trace path = %s, want %s", res.TracePath, tc.want)
			}
			if len(readTrace(t, res.TracePath)) != 1 {
				t.Error("trace has no kernel")
			}
			comp := srv.body("/v1/completions", 0)
			if comp["prompt"] != DefaultProbePrompt || comp["model"] != "Qwen/Qwen3-8B" {
				t.Errorf("completions body = %v", comp)
			}
			if !strings.Contains(log.String(), "stopping the TensorRT-LLM profiler") {
				t.Errorf("progress notes:\n%s", log.String())
			}
		})
	}
}

// downURL returns the URL of a loopback port nothing listens on.
func downURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

func TestCaptureFailures(t *testing.T) {
	tests := []struct {
		name      string
		cfg       fakeConfig
		down      bool
		edit      func(*CaptureOptions)
		sentinel  error
		contains  []string
		wantCalls []string // nil: not checked
	}{
		{
			name: "server down", down: true, sentinel: ErrUnreachable,
			contains: []string{"cannot connect to", "is the server running"},
		},
		{
			name: "vLLM without profiler config", cfg: fakeConfig{framework: "vllm", profilerDisabled: true},
			sentinel: ErrProfilerDisabled, contains: []string{"HTTP 404", "--profiler-config", "torch_profiler_dir"},
			wantCalls: []string{"GET /v1/models", "POST /start_profile"},
		},
		{
			name: "TensorRT-LLM without TLLM_PROFILE_START_STOP", cfg: fakeConfig{framework: "trtllm", profilerDisabled: true},
			sentinel: ErrProfilerDisabled, contains: []string{"TLLM_PROFILE_START_STOP=1", "TLLM_TORCH_PROFILE_TRACE"},
			wantCalls: []string{"GET /v1/models", "POST /start_profile"},
		},
		{
			name: "profile-by-stage on for vLLM fails before any request", cfg: fakeConfig{framework: "vllm"},
			edit:     func(o *CaptureOptions) { o.Framework = "vllm"; o.ProfileByStage = SwitchOn },
			sentinel: ErrBadOptions, contains: []string{"--profile-by-stage is SGLang-only"}, wantCalls: []string{},
		},
		{
			name: "start-step for TensorRT-LLM", cfg: fakeConfig{framework: "trtllm"},
			edit:     func(o *CaptureOptions) { s := 2; o.StartStep = &s },
			sentinel: ErrBadOptions, contains: []string{"--start-step is SGLang-only"}, wantCalls: []string{"GET /v1/models"},
		},
		{
			name: "vLLM without output dir", cfg: fakeConfig{framework: "vllm"},
			edit:     func(o *CaptureOptions) { o.Framework = "vllm"; o.OutputDir = "" },
			sentinel: ErrBadOptions, contains: []string{"torch_profiler_dir", "--output-dir"}, wantCalls: []string{},
		},
		{
			name: "slow probes time out, profiler still stopped", cfg: fakeConfig{framework: "vllm", hang: map[string]bool{"/v1/chat/completions": true, "/v1/completions": true}},
			edit:     func(o *CaptureOptions) { o.RequestTimeout = 100 * time.Millisecond },
			sentinel: ErrTimeout, contains: []string{"no answer within 100ms", "raise the request timeout"},
			wantCalls: []string{"GET /v1/models", "POST /start_profile", "POST /v1/chat/completions", "POST /v1/completions", "POST /stop_profile"},
		},
		{
			name: "slow SGLang start", cfg: fakeConfig{framework: "sglang", hang: map[string]bool{"/start_profile": true}},
			edit:     func(o *CaptureOptions) { o.Framework = "sglang"; o.RequestTimeout = 100 * time.Millisecond },
			sentinel: ErrTimeout, contains: []string{"POST", "/start_profile: no answer within 100ms"},
		},
		{
			name: "no trace appears (vLLM), an old one is not taken", cfg: fakeConfig{framework: "vllm", noTrace: true},
			edit: func(o *CaptureOptions) {
				o.TraceTimeout = 150 * time.Millisecond
				writeTraceFile(t, filepath.Join(o.OutputDir, "run1", "worker0_1.1.pt.trace.json.gz"), "vllm")
			},
			sentinel: ErrNoTrace, contains: []string{"no new trace file appeared", "within 150ms", "torch_profiler_dir"},
		},
		{
			name: "no trace appears (SGLang)", cfg: fakeConfig{framework: "sglang", noTrace: true},
			edit:     func(o *CaptureOptions) { o.TraceTimeout = 150 * time.Millisecond },
			sentinel: ErrNoTrace, contains: []string{"server's own disk", "--trace-timeout"},
		},
		{
			name: "non-JSON answers everywhere", cfg: fakeConfig{html: map[string]bool{"/v1/models": true, "/server_info": true}},
			sentinel: ErrNotJSON, contains: []string{"not JSON", "pass --framework", "proxy or web page"},
			wantCalls: []string{"GET /v1/models", "GET /server_info"},
		},
		{
			name: "non-JSON generate answer", cfg: fakeConfig{framework: "sglang", html: map[string]bool{"/generate": true}},
			edit:     func(o *CaptureOptions) { o.Framework = "sglang" },
			sentinel: ErrNotJSON, contains: []string{"/generate answered something that is not JSON", "text/html"},
		},
		{
			name: "unknown OpenAI server", cfg: fakeConfig{framework: "other"},
			sentinel: ErrUnknownFramework, contains: []string{`owner "organization-owner"`, "pass --framework sglang, vllm or trtllm"},
			wantCalls: []string{"GET /v1/models", "GET /server_info"},
		},
		{
			name: "stop refused after good probes", cfg: fakeConfig{framework: "vllm", status: map[string]int{"/stop_profile": 500}},
			sentinel: ErrHTTPStatus, contains: []string{"/stop_profile answered HTTP 500", "did not stop"},
		},
		{
			name: "unknown framework name", cfg: fakeConfig{framework: "vllm"},
			edit:     func(o *CaptureOptions) { o.Framework = "tgi" },
			sentinel: ErrBadOptions, contains: []string{`unknown framework "tgi"`}, wantCalls: []string{},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var srv *fakeServer
			url := ""
			if tc.down {
				url = downURL(t)
			} else {
				srv = newFakeServer(t, tc.cfg)
				url = srv.URL
			}
			opts := fastOptions(url)
			opts.OutputDir = t.TempDir()
			if tc.edit != nil {
				tc.edit(&opts)
			}
			start := time.Now()
			res, err := Capture(context.Background(), opts)
			if err == nil {
				t.Fatalf("Capture succeeded (%+v), want an error", res)
			}
			t.Logf("error: %v", err)
			if time.Since(start) > 4*time.Second {
				t.Errorf("took %s to fail", time.Since(start))
			}
			if !errors.Is(err, tc.sentinel) {
				t.Errorf("error %q does not wrap %v", err, tc.sentinel)
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error is not one line: %q", msg)
			}
			for _, s := range tc.contains {
				if !strings.Contains(msg, s) {
					t.Errorf("error %q does not say %q", msg, s)
				}
			}
			if srv != nil && tc.wantCalls != nil {
				if got := srv.Calls(); !reflect.DeepEqual(got, tc.wantCalls) && !(len(got) == 0 && len(tc.wantCalls) == 0) {
					t.Errorf("requests = %v, want %v", got, tc.wantCalls)
				}
			}
		})
	}
}

func TestCaptureRefusesRedirectToAnotherHost(t *testing.T) {
	other := newFakeServer(t, fakeConfig{framework: "vllm"})
	srv := newFakeServer(t, fakeConfig{framework: "vllm", extraHandlers: map[string]http.HandlerFunc{
		"/v1/models": func(w http.ResponseWriter, r *http.Request) {
			// localhost:<port> is another host than 127.0.0.1:<port>.
			_, port, _ := net.SplitHostPort(strings.TrimPrefix(other.URL, "http://"))
			http.Redirect(w, r, "http://localhost:"+port+"/v1/models", http.StatusFound)
		},
	}})
	opts := fastOptions(srv.URL)
	opts.OutputDir = t.TempDir()
	_, err := Capture(context.Background(), opts)
	if !errors.Is(err, ErrRedirect) {
		t.Fatalf("got %v, want a refused redirect", err)
	}
	for _, s := range []string{"redirected to http://localhost:", "another host", "--url"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not say %q", err, s)
		}
	}
	if calls := other.Calls(); len(calls) != 0 {
		t.Errorf("the other host received %v", calls)
	}
}

func TestCaptureFollowsSameHostRedirect(t *testing.T) {
	srv := newFakeServer(t, fakeConfig{framework: "vllm", extraHandlers: map[string]http.HandlerFunc{
		"/models": func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/v1/models", http.StatusMovedPermanently)
		},
	}})
	hc, err := NewClient(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	s, err := newServer(srv.URL, hc)
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.do(context.Background(), http.MethodGet, "/models", nil, time.Second)
	if err != nil || r.status != 200 {
		t.Fatalf("same-host redirect: %v", err)
	}
}

func TestCaptureCancelStopsProfiler(t *testing.T) {
	srv := newFakeServer(t, fakeConfig{framework: "vllm", noTrace: true})
	ctx, cancel := context.WithCancel(context.Background())
	opts := fastOptions(srv.URL)
	opts.OutputDir = t.TempDir()
	opts.TraceTimeout = time.Minute
	opts.Progress = func(msg string) {
		if strings.HasPrefix(msg, "waiting for trace files") {
			cancel()
		}
	}
	done := make(chan error, 1)
	go func() {
		_, err := Capture(ctx, opts)
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Capture did not return after cancellation")
	}
	if calls := srv.Calls(); calls[len(calls)-1] != "POST /stop_profile" {
		t.Errorf("requests = %v", calls)
	}
}

func TestCaptureCancelDuringProbeStillStops(t *testing.T) {
	srv := newFakeServer(t, fakeConfig{framework: "vllm", hang: map[string]bool{"/v1/chat/completions": true}})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	opts := fastOptions(srv.URL)
	opts.OutputDir = t.TempDir()
	_, err := Capture(ctx, opts)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want the context's error", err)
	}
	want := []string{"GET /v1/models", "POST /start_profile", "POST /v1/chat/completions", "POST /stop_profile"}
	if got := srv.Calls(); !reflect.DeepEqual(got, want) {
		t.Errorf("requests = %v, want %v (no completions fallback after cancel, stop sent)", got, want)
	}
}

func TestDetectFramework(t *testing.T) {
	tests := []struct {
		cfg       fakeConfig
		want      string
		wantCalls int
	}{
		{fakeConfig{framework: "sglang"}, FrameworkSGLang, 1},
		{fakeConfig{framework: "vllm"}, FrameworkVLLM, 1},
		{fakeConfig{framework: "trtllm"}, FrameworkTRTLLM, 1},
		// An SGLang without the OpenAI model list is still found by /server_info.
		{fakeConfig{framework: "sglang", status: map[string]int{"/v1/models": 404}}, FrameworkSGLang, 2},
	}
	for _, tc := range tests {
		srv := newFakeServer(t, tc.cfg)
		got, err := DetectFramework(context.Background(), srv.URL, nil)
		if err != nil || got != tc.want {
			t.Errorf("%+v: got %q, %v; want %q", tc.cfg, got, err, tc.want)
		}
		if n := len(srv.Calls()); n != tc.wantCalls {
			t.Errorf("%+v: %d requests (%v), want %d", tc.cfg, n, srv.Calls(), tc.wantCalls)
		}
	}
}

func TestCanonicalFramework(t *testing.T) {
	for in, want := range map[string]string{
		"": "auto", " Auto ": "auto", "SGL": "sglang", "vLLM": "vllm", "tensorrt_llm": "trtllm",
		"TensorRT-LLM": "trtllm", "tllm": "trtllm", "trt": "trtllm", "tgi": "",
	} {
		if got := CanonicalFramework(in); got != want {
			t.Errorf("CanonicalFramework(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseBaseURL(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:30000":      "http://127.0.0.1:30000",
		"http://h:1/":          "http://h:1",
		"https://h/prefix/":    "https://h/prefix",
		" http://user:pw@h:2 ": "http://h:2",
		"ftp://h":              "",
		"http://":              "",
		"http://h:1/?x=1":      "",
		"":                     "",
	} {
		u, err := parseBaseURL(in)
		switch {
		case want == "" && err == nil:
			t.Errorf("parseBaseURL(%q) = %s, want an error", in, u)
		case want == "" && !errors.Is(err, ErrBadOptions):
			t.Errorf("parseBaseURL(%q): %v does not wrap ErrBadOptions", in, err)
		case want != "" && (err != nil || u.String() != want):
			t.Errorf("parseBaseURL(%q) = %v, %v; want %s", in, u, err, want)
		}
	}
}

func TestProbeDelayAndTimeoutDefaults(t *testing.T) {
	for _, tc := range []struct {
		set, def, want time.Duration
	}{
		{0, DefaultServerProbeDelay, 5 * time.Second},
		{0, DefaultSGLangProbeDelay, 500 * time.Millisecond},
		{time.Second, DefaultServerProbeDelay, time.Second}, // an explicit value is not raised to 5 s
		{-1, DefaultServerProbeDelay, 0},
	} {
		c := &capture{opts: CaptureOptions{ProbeDelay: tc.set}}
		if got := c.probeDelay(tc.def); got != tc.want {
			t.Errorf("probeDelay(set %s, default %s) = %s, want %s", tc.set, tc.def, got, tc.want)
		}
	}
	c := &capture{}
	c.setDefaults()
	if c.opts.NumSteps != 5 || c.opts.ProbeRequests != 1 || c.opts.ProbeMaxNewTokens != 64 || c.opts.RequestTimeout != 300*time.Second {
		t.Errorf("defaults = %+v", c.opts)
	}
	c = &capture{opts: CaptureOptions{NumSteps: 20, ProbeRequests: -1}}
	c.setDefaults()
	if c.opts.ProbeMaxNewTokens != 160 || c.opts.ProbeRequests != 0 {
		t.Errorf("defaults = %+v", c.opts)
	}
}

func TestCallerClientStillRefusesOtherHosts(t *testing.T) {
	other := newFakeServer(t, fakeConfig{framework: "vllm"})
	srv := newFakeServer(t, fakeConfig{framework: "vllm", extraHandlers: map[string]http.HandlerFunc{
		"/v1/models": func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+"/v1/models", http.StatusTemporaryRedirect)
		},
	}})
	// A caller's client that follows every redirect.
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return nil }}
	// 127.0.0.1 on another port is another host too.
	_, err := DetectFramework(context.Background(), srv.URL, hc)
	if !errors.Is(err, ErrRedirect) {
		t.Fatalf("got %v, want a refused redirect", err)
	}
	if len(other.Calls()) != 0 {
		t.Errorf("the other server received %v", other.Calls())
	}
	if hc.CheckRedirect(nil, nil) != nil {
		t.Error("the caller's client was modified")
	}
}

func TestCaptureSGLangWaitsForBothStages(t *testing.T) {
	srv := newFakeServer(t, fakeConfig{framework: "sglang", stageGap: 300 * time.Millisecond})
	opts := fastOptions(srv.URL)
	opts.Framework = "sglang"
	opts.OutputDir = t.TempDir()
	res, err := Capture(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	// The EXTEND trace is stable long before the DECODE one is written;
	// the capture must not return in between.
	if _, err := os.Stat(filepath.Join(res.TracePath, "triage-trace-1782843274.77-TP-0-DECODE.trace.json.gz")); err != nil {
		t.Errorf("returned before the DECODE trace was written: %v", err)
	}
}

func TestCaptureSGLangOneStageAtTimeout(t *testing.T) {
	srv := newFakeServer(t, fakeConfig{framework: "sglang", stageGap: time.Second})
	var log progressLog
	opts := fastOptions(srv.URL)
	opts.Framework = "sglang"
	opts.OutputDir = t.TempDir()
	opts.TraceTimeout = 300 * time.Millisecond
	opts.Progress = log.add
	res, err := Capture(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(res.TracePath, "triage-trace-1782843274.77-TP-0-EXTEND.trace.json.gz")); err != nil {
		t.Error(err)
	}
	if !strings.Contains(log.String(), "only one stage's trace appeared") {
		t.Errorf("progress notes:\n%s", log.String())
	}
}

// A failed SGLang capture with no --output-dir leaves no empty temporary
// directory behind; one with traces in it would be kept.
func TestCaptureSGLangFailureRemovesEmptyTempDir(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	_, err := Capture(context.Background(), CaptureOptions{URL: "http://127.0.0.1:1", Framework: "sglang"})
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("err = %v, want ErrUnreachable", err)
	}
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Errorf("left behind in the temporary directory: %v", entries)
	}
}

// TestCaptureCancelDuringStartSendsStop cancels while a slow /start_profile
// is in flight and checks that a best-effort /stop_profile still reaches
// the server, and that the progress line says so.
func TestCaptureCancelDuringStartSendsStop(t *testing.T) {
	for _, fw := range []string{"vllm", "trtllm"} {
		t.Run(fw, func(t *testing.T) {
			started := make(chan struct{}, 1)
			srv := newFakeServer(t, fakeConfig{framework: fw, extraHandlers: map[string]http.HandlerFunc{
				"/start_profile": func(w http.ResponseWriter, r *http.Request) {
					started <- struct{}{}
					select { // a slow start: answer only once the client gives up
					case <-r.Context().Done():
					case <-time.After(10 * time.Second):
					}
				},
			}})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go func() {
				select {
				case <-started:
					cancel()
				case <-time.After(10 * time.Second):
				}
			}()
			opts := fastOptions(srv.URL)
			opts.Framework = fw
			opts.OutputDir = t.TempDir()
			var mu sync.Mutex
			var notes []string
			opts.Progress = func(msg string) {
				mu.Lock()
				notes = append(notes, msg)
				mu.Unlock()
			}
			_, err := Capture(ctx, opts)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("got %v, want context.Canceled", err)
			}
			if !strings.Contains(err.Error(), "cancelled during /start_profile") {
				t.Errorf("error %q does not say where it was cancelled", err)
			}
			calls := srv.Calls()
			if len(calls) < 2 || calls[len(calls)-2] != "POST /start_profile" || calls[len(calls)-1] != "POST /stop_profile" {
				t.Errorf("requests = %v, want /start_profile then /stop_profile last", calls)
			}
			mu.Lock()
			defer mu.Unlock()
			if !strings.Contains(strings.Join(notes, "\n"), "sending /stop_profile") {
				t.Errorf("progress %q does not mention the stop", notes)
			}
		})
	}
}

// recordingTransport records the requests a client attempts, for servers
// that cannot record them (nothing listens, the dial never completes).
type recordingTransport struct {
	next  http.RoundTripper
	mu    sync.Mutex
	calls []string
}

func (rt *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rt.mu.Lock()
	rt.calls = append(rt.calls, req.Method+" "+req.URL.Path)
	rt.mu.Unlock()
	return rt.next.RoundTrip(req)
}

func (rt *recordingTransport) Calls() []string {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return append([]string(nil), rt.calls...)
}

// clientConns counts the goroutines of client connections (one read loop
// per open connection of any http.Transport).
func clientConns() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Count(string(buf[:n]), "net/http.(*persistConn).readLoop(")
		}
		buf = make([]byte, 2*len(buf))
	}
}

// TestCaptureStartFailure checks what follows a /start_profile that does
// not succeed: a best-effort /stop_profile, with a progress note saying
// why, when the request may have reached the server (a timeout, a reset
// after the request was read, an HTTP 5xx); none after a clear refusal
// (HTTP 4xx) or when the request never left (connection refused, a dial
// that does not complete). The error is the start's own, on one line, and
// nothing of the call (request, connection) is left once it returns.
func TestCaptureStartFailure(t *testing.T) {
	tests := []struct {
		name      string
		fw        string
		cfg       fakeConfig
		client    string // "": Capture's own client; "down": nothing listens; "dial-hangs": the dial never completes
		timeout   time.Duration
		sentinel  error
		contains  []string
		wantCalls []string // as the server saw them, or as the client attempted them when client is set
		wantNotes []string
	}{
		{
			name: "timeout after the profiler started", fw: "vllm", cfg: fakeConfig{startLate: true}, timeout: 100 * time.Millisecond,
			sentinel: ErrTimeout, contains: []string{"/start_profile: no answer within 100ms", "raise the request timeout"},
			wantCalls: []string{"POST /start_profile", "POST /stop_profile"},
			wantNotes: []string{
				"starting the vLLM profiler",
				"/start_profile got no answer within 100ms: sending /stop_profile in case the vLLM profiler started",
				"the vLLM profiler is stopped",
			},
		},
		{
			name: "timeout, TensorRT-LLM", fw: "trtllm", cfg: fakeConfig{startLate: true}, timeout: 100 * time.Millisecond,
			sentinel: ErrTimeout, contains: []string{"/start_profile: no answer within 100ms"},
			wantCalls: []string{"POST /start_profile", "POST /stop_profile"},
			wantNotes: []string{
				"starting the TensorRT-LLM profiler",
				"/start_profile got no answer within 100ms: sending /stop_profile in case the TensorRT-LLM profiler started",
				"the TensorRT-LLM profiler is stopped",
			},
		},
		{
			name: "connection reset after the request was read", fw: "vllm", cfg: fakeConfig{startReset: true},
			sentinel: ErrUnreachable, contains: []string{"/start_profile failed", "the server dropped the connection"},
			wantCalls: []string{"POST /start_profile", "POST /stop_profile"},
			wantNotes: []string{
				"starting the vLLM profiler",
				"the connection dropped after /start_profile was sent: sending /stop_profile in case the vLLM profiler started",
				"the vLLM profiler is stopped",
			},
		},
		{
			name: "HTTP 500 after a partial start", fw: "vllm", cfg: fakeConfig{startStatus: 500},
			sentinel: ErrHTTPStatus, contains: []string{"/start_profile answered HTTP 500", "vLLM did not start its profiler; check the server log"},
			wantCalls: []string{"POST /start_profile", "POST /stop_profile"},
			wantNotes: []string{
				"starting the vLLM profiler",
				"/start_profile answered HTTP 500: sending /stop_profile in case the vLLM profiler started",
				"the vLLM profiler is stopped",
			},
		},
		{
			name: "HTTP 503 with nothing started: the stop is refused", fw: "trtllm", cfg: fakeConfig{status: map[string]int{"/start_profile": 503}},
			sentinel: ErrHTTPStatus, contains: []string{"/start_profile answered HTTP 503"},
			wantCalls: []string{"POST /start_profile", "POST /stop_profile"},
			wantNotes: []string{
				"starting the TensorRT-LLM profiler",
				"/start_profile answered HTTP 503: sending /stop_profile in case the TensorRT-LLM profiler started",
				"/stop_profile answered HTTP 400: the TensorRT-LLM profiler may not have started; if the server log shows it running, POST /stop_profile again",
			},
		},
		{
			name: "timeout, and the stop fails too", fw: "vllm", timeout: 100 * time.Millisecond,
			cfg:      fakeConfig{startLate: true, status: map[string]int{"/stop_profile": 500}},
			sentinel: ErrTimeout, contains: []string{"/start_profile: no answer within 100ms"},
			wantCalls: []string{"POST /start_profile", "POST /stop_profile"},
			wantNotes: []string{
				"starting the vLLM profiler",
				"/start_profile got no answer within 100ms: sending /stop_profile in case the vLLM profiler started",
				"/stop_profile answered HTTP 500: the vLLM profiler may not have started; if the server log shows it running, POST /stop_profile again",
			},
		},
		{
			name: "HTTP 404 profiler not enabled: no stop", fw: "vllm", cfg: fakeConfig{profilerDisabled: true},
			sentinel: ErrProfilerDisabled, contains: []string{"/start_profile answered HTTP 404", "--profiler-config"},
			wantCalls: []string{"POST /start_profile"},
			wantNotes: []string{"starting the vLLM profiler"},
		},
		{
			name: "HTTP 403 refusal: no stop", fw: "trtllm", cfg: fakeConfig{status: map[string]int{"/start_profile": 403}},
			sentinel: ErrHTTPStatus, contains: []string{"/start_profile answered HTTP 403", "TensorRT-LLM did not start its profiler"},
			wantCalls: []string{"POST /start_profile"},
			wantNotes: []string{"starting the TensorRT-LLM profiler"},
		},
		{
			name: "connection refused: no stop", fw: "vllm", client: "down",
			sentinel: ErrUnreachable, contains: []string{"cannot connect to http://127.0.0.1:", "is the server running"},
			wantCalls: []string{"POST /start_profile"},
			wantNotes: []string{"starting the vLLM profiler"},
		},
		{
			name: "timeout before a connection was made: no stop", fw: "vllm", client: "dial-hangs", timeout: 100 * time.Millisecond,
			sentinel: ErrTimeout, contains: []string{"/start_profile: no answer within 100ms"},
			wantCalls: []string{"POST /start_profile"},
			wantNotes: []string{"starting the vLLM profiler"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conns := clientConns()
			var srv *fakeServer
			var rec *recordingTransport
			opts := fastOptions("")
			switch tc.client {
			case "":
				cfg := tc.cfg
				cfg.framework = tc.fw
				srv = newFakeServer(t, cfg)
				opts.URL = srv.URL
			case "down":
				rec = &recordingTransport{next: http.DefaultTransport.(*http.Transport).Clone()}
				opts.URL = downURL(t)
			case "dial-hangs":
				tr := http.DefaultTransport.(*http.Transport).Clone()
				tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
					<-ctx.Done()
					return nil, ctx.Err()
				}
				rec = &recordingTransport{next: tr}
				opts.URL = "http://127.0.0.1:9"
			}
			if rec != nil {
				opts.HTTPClient = &http.Client{Transport: rec}
			}
			opts.Framework = tc.fw
			opts.OutputDir = t.TempDir()
			if tc.fw == "trtllm" {
				opts.OutputDir = filepath.Join(opts.OutputDir, "trace.json")
			}
			if tc.timeout > 0 {
				opts.RequestTimeout = tc.timeout
			}
			var log progressLog
			opts.Progress = log.add

			start := time.Now()
			res, err := Capture(context.Background(), opts)
			if err == nil {
				t.Fatalf("Capture succeeded (%+v), want an error", res)
			}
			t.Logf("error: %v", err)
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("took %s to fail", d)
			}
			if !errors.Is(err, tc.sentinel) {
				t.Errorf("error %q does not wrap %v", err, tc.sentinel)
			}
			if msg := err.Error(); strings.Contains(msg, "\n") {
				t.Errorf("error is not one line: %q", msg)
			}
			for _, s := range tc.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
			calls := []string(nil)
			if srv != nil {
				calls = srv.Calls()
			} else {
				calls = rec.Calls()
			}
			if !reflect.DeepEqual(calls, tc.wantCalls) {
				t.Errorf("requests = %q, want %q", calls, tc.wantCalls)
			}
			log.mu.Lock()
			notes := append([]string(nil), log.notes...)
			log.mu.Unlock()
			if !reflect.DeepEqual(notes, tc.wantNotes) {
				t.Errorf("progress notes:\n  %s\nwant:\n  %s", strings.Join(notes, "\n  "), strings.Join(tc.wantNotes, "\n  "))
			}
			if srv == nil {
				return
			}
			if srv.Profiling() && tc.cfg.status["/stop_profile"] == 0 {
				t.Error("the fake server is still profiling")
			}
			// Nothing of the call is left: the server's handlers have
			// returned (the client closed the connection of a request it
			// gave up on) and no client connection stays open.
			deadline := time.Now().Add(2 * time.Second)
			for srv.InFlight() > 0 || clientConns() > conns {
				if time.Now().After(deadline) {
					t.Fatalf("after Capture returned: %d requests in flight at the server, %d client connections open (%d before)",
						srv.InFlight(), clientConns(), conns)
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
}

// TestCaptureCancelBeforeStartSendsNothing cancels before /start_profile
// could be sent (already cancelled; cancelled while the dial hangs): no
// profiler was started, so no /stop_profile is sent either.
func TestCaptureCancelBeforeStartSendsNothing(t *testing.T) {
	for _, tc := range []struct {
		name      string
		dialHangs bool
		contains  string
		wantCalls []string
	}{
		{name: "cancelled before the capture", contains: "cancelled before the profiler was started", wantCalls: nil},
		{name: "cancelled while connecting", dialHangs: true, contains: "before the request was sent (no profiler stop needed)", wantCalls: []string{"POST /start_profile"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			tr := http.DefaultTransport.(*http.Transport).Clone()
			dialing := make(chan struct{}, 1)
			tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
				dialing <- struct{}{}
				<-ctx.Done()
				return nil, ctx.Err()
			}
			rec := &recordingTransport{next: tr}
			opts := fastOptions("http://127.0.0.1:9")
			opts.HTTPClient = &http.Client{Transport: rec}
			opts.Framework = "vllm"
			opts.OutputDir = t.TempDir()
			if tc.dialHangs {
				go func() {
					select {
					case <-dialing:
						cancel()
					case <-time.After(5 * time.Second):
					}
				}()
			} else {
				cancel()
			}
			_, err := Capture(ctx, opts)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("got %v, want context.Canceled", err)
			}
			if !strings.Contains(err.Error(), tc.contains) {
				t.Errorf("error %q does not say %q", err, tc.contains)
			}
			if got := rec.Calls(); !reflect.DeepEqual(got, tc.wantCalls) {
				t.Errorf("requests = %q, want %q", got, tc.wantCalls)
			}
		})
	}
}

// TestMayHaveReached covers the judgement on a failed request: exact with
// a transport that reports its steps, from the error with one that does
// not.
func TestMayHaveReached(t *testing.T) {
	refused := &url.Error{Op: "Post", URL: "http://h/start_profile", Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}
	reset := &url.Error{Op: "Post", URL: "http://h/start_profile", Err: &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}}
	wrap := func(sentinel, cause error) error { return newError(sentinel, cause, "x") }
	tests := []struct {
		name            string
		traced, written bool
		err             error
		want            bool
	}{
		{"headers written, then a timeout", true, true, wrap(ErrTimeout, context.DeadlineExceeded), true},
		{"headers written, then a reset", true, true, wrap(ErrUnreachable, reset), true},
		{"connection sought, nothing written", true, false, wrap(ErrTimeout, context.DeadlineExceeded), false},
		{"redirect refused", true, true, wrap(ErrRedirect, nil), false},
		{"untraced: refused dial", false, false, wrap(ErrUnreachable, refused), false},
		{"untraced: unknown host", false, false, wrap(ErrUnreachable, &net.DNSError{Name: "nohost", Err: "no such host"}), false},
		{"untraced: bad request", false, false, wrap(ErrBadOptions, nil), false},
		{"untraced: TLS handshake", false, false, wrap(ErrUnreachable, tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}), false},
		{"untraced: reset", false, false, wrap(ErrUnreachable, reset), true},
		{"untraced: EOF", false, false, wrap(ErrUnreachable, io.EOF), true},
		{"untraced: timeout", false, false, wrap(ErrTimeout, context.DeadlineExceeded), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s sendTrace
			s.traced.Store(tc.traced)
			s.written.Store(tc.written)
			if got := s.mayHaveReached(tc.err); got != tc.want {
				t.Errorf("mayHaveReached = %v, want %v", got, tc.want)
			}
		})
	}
}

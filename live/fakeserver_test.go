package live

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeConfig shapes a fake inference server.
type fakeConfig struct {
	framework        string          // sglang, vllm, trtllm, or "other" (an unknown OpenAI server)
	profilerDisabled bool            // vLLM without --profiler-config, TRT-LLM without TLLM_PROFILE_START_STOP
	chatMissing      bool            // /v1/chat/completions answers 404 (no chat template)
	hang             map[string]bool // paths whose handler waits until the client gives up (or the test ends)
	startLate        bool            // /start_profile starts the profiler, then answers only once the client gave up (or the test ends)
	startReset       bool            // /start_profile starts the profiler, then resets the connection without answering
	startStatus      int             // /start_profile starts the profiler, then answers this status (a partial start)
	html             map[string]bool // paths answered with an HTML page
	status           map[string]int  // paths answered with this status
	noTrace          bool            // the profiler never writes a trace
	traceOut         string          // vLLM torch_profiler_dir or TRT-LLM TLLM_TORCH_PROFILE_TRACE
	perRankFiles     bool            // TRT-LLM writes <stem>-rank-<N><ext> files
	writeDelay       time.Duration   // delay before a trace file is written
	stageGap         time.Duration   // SGLang: delay between the EXTEND and the DECODE file
	generateReply    map[string]any  // /generate answer (default {"text": ...})
	chatReply        func(int) any   // /v1/chat/completions answer for call n
	chatStatus       func(int) int   // status for call n (0: 200)
	chatDelay        time.Duration   // delay of each chat answer
	extraHandlers    map[string]http.HandlerFunc
}

// fakeServer is a loopback HTTP server that speaks the endpoints of one
// inference framework and writes Kineto trace files the way it would.
type fakeServer struct {
	t   *testing.T
	cfg fakeConfig
	*httptest.Server

	quit chan struct{} // closed when the test ends: waiting handlers return

	mu          sync.Mutex
	calls       []string
	bodies      map[string][]map[string]any
	profiling   bool
	wroteSGLang bool
	chatCalls   int
	inFlight    int
	maxInFlight int
	writers     sync.WaitGroup
}

func newFakeServer(t *testing.T, cfg fakeConfig) *fakeServer {
	t.Helper()
	f := &fakeServer{t: t, cfg: cfg, bodies: map[string][]map[string]any{}, quit: make(chan struct{})}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(func() {
		close(f.quit) // Close waits for the handlers
		f.Server.Close()
		f.writers.Wait()
	})
	return f
}

// Calls returns the requests received, as "METHOD /path".
func (f *fakeServer) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// InFlight returns the number of requests whose handler is running.
func (f *fakeServer) InFlight() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.inFlight
}

// Profiling reports whether the fake profiler is running.
func (f *fakeServer) Profiling() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.profiling
}

// waitForClient holds a handler until the client gives up on the request
// (it closes the connection) or the test ends.
func (f *fakeServer) waitForClient(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-f.quit:
	}
}

// resetConn drops the connection of w with a TCP reset, without an answer.
func (f *fakeServer) resetConn(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		f.t.Errorf("fake server: hijack: %v", err)
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // close sends RST, not FIN
	}
	_ = conn.Close()
}

func (f *fakeServer) body(path string, i int) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	if i >= len(f.bodies[path]) {
		f.t.Fatalf("no body %d for %s; calls %v", i, path, f.calls)
	}
	return f.bodies[path][i]
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeServer) serve(w http.ResponseWriter, r *http.Request) {
	data, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.calls = append(f.calls, r.Method+" "+r.URL.Path)
	if len(data) > 0 {
		var m map[string]any
		if json.Unmarshal(data, &m) == nil {
			f.bodies[r.URL.Path] = append(f.bodies[r.URL.Path], m)
		}
	}
	f.inFlight++
	f.maxInFlight = max(f.maxInFlight, f.inFlight)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inFlight--
		f.mu.Unlock()
	}()

	p := r.URL.Path
	if h := f.cfg.extraHandlers[p]; h != nil {
		h(w, r)
		return
	}
	if f.cfg.hang[p] {
		f.waitForClient(r)
		return
	}
	if f.cfg.html[p] {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<html><body>Welcome to the gateway</body></html>")
		return
	}
	if st := f.cfg.status[p]; st != 0 {
		writeJSON(w, st, map[string]any{"detail": http.StatusText(st)})
		return
	}
	fw := f.cfg.framework
	switch {
	case r.Method == http.MethodGet && p == "/v1/models":
		owner := map[string]string{"sglang": "sglang", "vllm": "vllm", "trtllm": "tensorrt_llm"}[fw]
		if owner == "" {
			owner = "organization-owner"
		}
		writeJSON(w, 200, map[string]any{"object": "list", "data": []any{
			map[string]any{"id": "Qwen/Qwen3-8B", "object": "model", "created": 1, "owned_by": owner},
		}})
	case r.Method == http.MethodGet && p == "/server_info" && fw == "sglang":
		writeJSON(w, 200, map[string]any{
			"model_path": "Qwen/Qwen3-8B", "tp_size": 1, "attention_backend": "fa3",
			"chunked_prefill_size": 8192, "internal_states": []any{map[string]any{"last_gen_throughput": 1.0}},
			"version": "0.5.0",
		})
	case r.Method == http.MethodPost && p == "/start_profile":
		if f.cfg.profilerDisabled {
			writeJSON(w, 404, map[string]any{"detail": "Not Found"})
			return
		}
		f.mu.Lock()
		f.profiling = true
		f.mu.Unlock()
		switch {
		case f.cfg.startLate:
			f.waitForClient(r)
			return
		case f.cfg.startReset:
			f.resetConn(w)
			return
		case f.cfg.startStatus != 0:
			writeJSON(w, f.cfg.startStatus, map[string]any{"detail": "profiler start failed on a worker"})
			return
		}
		if fw == "sglang" {
			w.Header().Set("Content-Type", "text/plain")
			fmt.Fprint(w, "Start profiling.\n")
			return
		}
		w.WriteHeader(200)
	case r.Method == http.MethodPost && p == "/stop_profile":
		f.mu.Lock()
		was := f.profiling
		f.profiling = false
		f.mu.Unlock()
		if !was {
			writeJSON(w, 400, map[string]any{"detail": "profiler not started"})
			return
		}
		if !f.cfg.noTrace {
			f.writeServerTrace()
		}
		w.WriteHeader(200)
	case r.Method == http.MethodPost && p == "/generate" && fw == "sglang":
		f.mu.Lock()
		start := f.profiling && !f.wroteSGLang
		f.wroteSGLang = f.wroteSGLang || start
		var sb map[string]any
		if n := len(f.bodies["/start_profile"]); n > 0 {
			sb = f.bodies["/start_profile"][n-1]
		}
		f.mu.Unlock()
		if start && !f.cfg.noTrace && sb != nil {
			f.writeSGLangTraces(sb)
		}
		reply := f.cfg.generateReply
		if reply == nil {
			reply = map[string]any{"text": " profiler profiler profiler", "meta_info": map[string]any{"completion_tokens": 3}}
		}
		writeJSON(w, 200, reply)
	case r.Method == http.MethodPost && p == "/v1/chat/completions" && fw != "sglang":
		f.mu.Lock()
		n := f.chatCalls
		f.chatCalls++
		f.mu.Unlock()
		if f.cfg.chatDelay > 0 {
			time.Sleep(f.cfg.chatDelay)
		}
		if f.cfg.chatMissing {
			writeJSON(w, 404, map[string]any{"detail": "Not Found"})
			return
		}
		st := 200
		if f.cfg.chatStatus != nil && f.cfg.chatStatus(n) != 0 {
			st = f.cfg.chatStatus(n)
		}
		var reply any = map[string]any{"choices": []any{map[string]any{
			"index": 0, "message": map[string]any{"role": "assistant", "content": "profiler profiler"},
		}}}
		if f.cfg.chatReply != nil {
			reply = f.cfg.chatReply(n)
		}
		writeJSON(w, st, reply)
	case r.Method == http.MethodPost && p == "/v1/completions" && fw != "sglang":
		writeJSON(w, 200, map[string]any{"choices": []any{map[string]any{"index": 0, "text": " profiler profiler"}}})
	default:
		writeJSON(w, 404, map[string]any{"detail": "Not Found"})
	}
}

// writeSGLangTraces writes what SGLang's profiler writes with
// profile_by_stage: one EXTEND and one DECODE trace per rank, named
// <prefix>-<time>-TP-<rank>-<STAGE>.trace.json.gz, into output_dir.
func (f *fakeServer) writeSGLangTraces(start map[string]any) {
	dir, _ := start["output_dir"].(string)
	prefix, _ := start["profile_prefix"].(string)
	byStage, _ := start["profile_by_stage"].(bool)
	names := []string{fmt.Sprintf("%s-1782843274.77-TP-0.trace.json.gz", prefix)}
	if byStage {
		names = []string{
			fmt.Sprintf("%s-1782843274.77-TP-0-EXTEND.trace.json.gz", prefix),
			fmt.Sprintf("%s-1782843274.77-TP-0-DECODE.trace.json.gz", prefix),
		}
	}
	f.later(func() {
		for i, n := range names {
			if i > 0 {
				time.Sleep(f.cfg.stageGap)
			}
			f.serverWriteTrace(filepath.Join(dir, n), "sglang")
		}
	})
}

// writeServerTrace writes vLLM's or TensorRT-LLM's trace when the
// profiler stops.
func (f *fakeServer) writeServerTrace() {
	out := f.cfg.traceOut
	if out == "" {
		return
	}
	fw := f.cfg.framework
	f.later(func() {
		switch {
		case fw == "vllm":
			f.serverWriteTrace(filepath.Join(out, fmt.Sprintf("worker0_%d.%d.pt.trace.json.gz", os.Getpid(), time.Now().UnixNano())), fw)
		case f.cfg.perRankFiles:
			stem, ext := splitTraceExt(out)
			for rank := 1; rank >= 0; rank-- {
				f.serverWriteTrace(fmt.Sprintf("%s-rank-%d%s", stem, rank, ext), fw)
			}
		default:
			f.serverWriteTrace(out, fw)
		}
	})
}

func (f *fakeServer) later(fn func()) {
	f.writers.Add(1)
	go func() {
		defer f.writers.Done()
		if f.cfg.writeDelay > 0 {
			time.Sleep(f.cfg.writeDelay)
		}
		fn()
	}()
}

// kinetoTrace builds a small but complete Kineto chrome trace: a Python
// frame, the CPU op under it, the runtime launch and the kernel it
// launched, linked by External id and correlation, with the flow events.
func kinetoTrace(framework string) []byte {
	pyFile := map[string]string{
		"sglang": "python/sglang/srt/layers/layernorm.py(177): forward_cuda",
		"vllm":   "vllm/model_executor/layers/layernorm.py(180): forward_cuda",
		"trtllm": "tensorrt_llm/_torch/modules/rms_norm.py(60): forward",
	}[framework]
	events := []any{
		map[string]any{"ph": "X", "cat": "python_function", "name": pyFile, "pid": 100, "tid": 100, "ts": 1000.0, "dur": 60.0,
			"args": map[string]any{"Python id": 2, "Python parent id": 1}},
		map[string]any{"ph": "X", "cat": "cpu_op", "name": "aten::rms_norm", "pid": 100, "tid": 100, "ts": 1010.0, "dur": 40.0,
			"args": map[string]any{"External id": 7, "Record function id": 0}},
		map[string]any{"ph": "X", "cat": "cuda_runtime", "name": "cudaLaunchKernel", "pid": 100, "tid": 100, "ts": 1020.0, "dur": 6.0,
			"args": map[string]any{"External id": 7, "correlation": 42}},
		map[string]any{"ph": "X", "cat": "kernel", "name": "void rms_norm_kernel<c10::BFloat16>(c10::BFloat16*, float, int)", "pid": 0, "tid": 7,
			"ts": 1030.0, "dur": 12.5, "args": map[string]any{"External id": 7, "correlation": 42, "device": 0, "stream": 7}},
		map[string]any{"ph": "s", "id": 42, "pid": 100, "tid": 100, "ts": 1020.0, "cat": "ac2g", "name": "ac2g"},
		map[string]any{"ph": "f", "id": 42, "pid": 0, "tid": 7, "ts": 1030.0, "cat": "ac2g", "name": "ac2g", "bp": "e"},
	}
	doc := map[string]any{
		"schemaVersion":    1,
		"deviceProperties": []any{map[string]any{"id": 0, "name": "NVIDIA H100 80GB HBM3", "computeMajor": 9, "computeMinor": 0}},
		"traceEvents":      events,
		"displayTimeUnit":  "ms",
	}
	data, _ := json.Marshal(doc)
	return data
}

// writeTraceFile writes a trace (gzipped when the name ends in .gz) the
// way a profiler does: into a temporary name, then renamed.
func writeTraceFile(t *testing.T, path, framework string) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Errorf("fake server: %v", err)
		return
	}
	if err := writeTrace(path, framework); err != nil {
		t.Errorf("fake server: %v", err)
	}
}

// serverWriteTrace is writeTraceFile for the fake server's background
// writers: like a real server it does not create the directory, and a
// directory already removed by the test's cleanup is not an error.
func (f *fakeServer) serverWriteTrace(path, framework string) {
	if err := writeTrace(path, framework); err != nil && !errors.Is(err, fs.ErrNotExist) {
		f.t.Errorf("fake server: %v", err)
	}
}

// writeTrace writes the trace file through a temporary name.
func writeTrace(path, framework string) error {
	data := kinetoTrace(framework)
	if strings.HasSuffix(path, ".gz") {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		_, _ = zw.Write(data)
		_ = zw.Close()
		data = b.Bytes()
	}
	tmp := path + ".partial"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// readTrace loads a trace file written by the fake server and returns its
// kernel names, proving the file is a complete Kineto trace.
func readTrace(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		r = zr
	}
	var doc struct {
		TraceEvents []struct {
			Cat  string `json:"cat"`
			Name string `json:"name"`
		} `json:"traceEvents"`
	}
	if err := json.NewDecoder(r).Decode(&doc); err != nil {
		t.Fatalf("%s is not a trace: %v", path, err)
	}
	var kernels []string
	for _, e := range doc.TraceEvents {
		if e.Cat == "kernel" {
			kernels = append(kernels, e.Name)
		}
	}
	return kernels
}

package mcp

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tracetriage/tracetriage/analyzer"
	"github.com/tracetriage/tracetriage/internal/testutil"
)

// The real traces the end-to-end test calls the tools on: a vLLM trace
// whose kernels all map to Python lines (analyze_trace, kernel_sites), and
// two SGLang decode traces of one workload on two GPUs (compare_traces).
const (
	e2eTrace  = "traces/llm-serving/vllm_b200_gptoss_tp8_rank0_eager.json.gz"
	e2eBefore = "traces/llm-serving/sglang_b300_deepseek-r1_1782843274.7730265-TP-0-DECODE.trace.json.gz"
	e2eAfter  = "traces/llm-serving/sglang_mi300x_deepseek-r1_1782841132.2905657-TP-0-DECODE.trace.json.gz"
)

// e2eReport is what mcp/e2e/client.mjs prints.
type e2eReport struct {
	Transport string   `json:"transport"`
	Tools     []string `json:"tools"`
	Calls     []struct {
		Name       string          `json:"name"`
		IsError    bool            `json:"isError"`
		Text       string          `json:"text"`
		Structured json.RawMessage `json:"structured"`
		MS         float64         `json:"ms"`
		Progress   int             `json:"progress"`
	} `json:"calls"`
	Errors       []string `json:"errors"`
	ServerStderr string   `json:"serverStderr"`
}

// requireNodeClient returns the node binary and the e2e folder, skipping
// (or failing under CI) when node or the installed SDK is missing.
func requireNodeClient(t *testing.T) (node, dir string) {
	t.Helper()
	dir = filepath.Join(testutil.ModuleRoot(), "mcp", "e2e")
	missing := func(what string) {
		msg := what + "; run .ci/setup.d/mcp.sh (npm ci in mcp/e2e) to install the MCP TypeScript SDK client"
		if testutil.RequireE2E() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is not installed")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@modelcontextprotocol", "sdk", "package.json")); err != nil {
		missing("@modelcontextprotocol/sdk is not installed in mcp/e2e")
	}
	return node, dir
}

// requireEngine skips the test while the engine of this build cannot
// analyse traces yet (analyzer.ErrNotImplemented); the calls are written
// against the document contract and run as soon as it can.
func requireEngine(t *testing.T, trace string) {
	t.Helper()
	if _, err := analyzer.Analyze(context.Background(), analyzer.Options{Input: trace}); errors.Is(err, analyzer.ErrNotImplemented) {
		t.Skip("the analysis engine of this build is not built yet (analyzer.ErrNotImplemented)")
	}
}

// buildBinary builds tracetriage into a temporary folder.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "tracetriage")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/tracetriage")
	cmd.Dir = testutil.ModuleRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func runNodeClient(t *testing.T, node, dir string, plan map[string]any) e2eReport {
	t.Helper()
	b, _ := json.Marshal(plan)
	planPath := filepath.Join(t.TempDir(), "plan.json")
	if err := os.WriteFile(planPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "client.mjs", planPath)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var rep e2eReport
	if jerr := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &rep); jerr != nil {
		t.Fatalf("client report: %v\nstdout: %s\nstderr: %s", jerr, stdout.String(), stderr.String())
	}
	if err != nil || len(rep.Errors) > 0 {
		t.Fatalf("%s client failed: %v\nerrors: %s\nserver stderr: %s\nnode stderr: %s", plan["transport"], err, strings.Join(rep.Errors, "\n"), rep.ServerStderr, stderr.String())
	}
	return rep
}

func checkE2EReport(t *testing.T, rep e2eReport) {
	t.Helper()
	for _, want := range wantTools {
		if !strings.Contains(strings.Join(rep.Tools, ","), want) {
			t.Errorf("%s: tool %s not listed", rep.Transport, want)
		}
	}
	if len(rep.Calls) < 5 {
		t.Fatalf("%s: only %d calls made", rep.Transport, len(rep.Calls))
	}
	var doc AnalyzeTraceOutput
	if err := json.Unmarshal(rep.Calls[0].Structured, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Framework != "vllm" || len(doc.Stages) == 0 || len(doc.Stages[0].Kernels) == 0 || doc.Stages[0].Kernels[0].Sites[0].Path == "" {
		t.Errorf("%s: analysis of %s: framework %q, %d stages", rep.Transport, e2eTrace, doc.Framework, len(doc.Stages))
	}
	calls := map[string]int{}
	for _, c := range rep.Calls {
		calls[c.Name]++
		if c.Name == "compare_traces" {
			var cmp CompareTracesOutput
			if err := json.Unmarshal(c.Structured, &cmp); err != nil || len(cmp.Stages) == 0 || cmp.Stages[0].Stage != "decode" || cmp.Stages[0].BeforeGPUTimeUS <= 0 {
				t.Errorf("%s: compare_traces: %v %s", rep.Transport, err, c.Structured)
			}
		}
	}
	if calls["kernel_sites"] != 2 || calls["compare_traces"] != 1 {
		t.Errorf("%s: calls made %v", rep.Transport, calls)
	}
	for _, c := range rep.Calls {
		t.Logf("%s %s: isError=%v %.1f ms progress=%d", rep.Transport, c.Name, c.IsError, c.MS, c.Progress)
	}
}

func TestE2EOfficialClientStdio(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test skipped in -short mode")
	}
	node, dir := requireNodeClient(t)
	trace, before, after := testutil.SharedFile(t, e2eTrace), testutil.SharedFile(t, e2eBefore), testutil.SharedFile(t, e2eAfter)
	requireEngine(t, trace)
	bin := buildBinary(t)
	work := t.TempDir()
	rep := runNodeClient(t, node, dir, map[string]any{
		"transport":   "stdio",
		"command":     bin,
		"args":        []string{"mcp", "--root", filepath.Dir(filepath.Dir(trace)), "--root", work},
		"cwd":         t.TempDir(),
		"expectTools": wantTools,
		"trace":       trace,
		"before":      before,
		"after":       after,
		"extraCalls":  extraE2ECalls(t, work),
	})
	checkE2EReport(t, rep)
}

func TestE2EOfficialClientHTTP(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test skipped in -short mode")
	}
	node, dir := requireNodeClient(t)
	trace, before, after := testutil.SharedFile(t, e2eTrace), testutil.SharedFile(t, e2eBefore), testutil.SharedFile(t, e2eAfter)
	requireEngine(t, trace)
	bin := buildBinary(t)
	work := t.TempDir()
	url, stop := startHTTPServer(t, bin, "--root", filepath.Dir(filepath.Dir(trace)), "--root", work)
	defer stop()
	rep := runNodeClient(t, node, dir, map[string]any{
		"transport":   "http",
		"url":         url,
		"expectTools": wantTools,
		"trace":       trace,
		"before":      before,
		"after":       after,
		"extraCalls":  extraE2ECalls(t, work),
	})
	checkE2EReport(t, rep)
}

// TestE2EClientRoots: without --root, the roots the official client offers
// (its workspace folders) decide which files the tools read, over both
// transports.
func TestE2EClientRoots(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test skipped in -short mode")
	}
	node, dir := requireNodeClient(t)
	trace, before, after := testutil.SharedFile(t, e2eTrace), testutil.SharedFile(t, e2eBefore), testutil.SharedFile(t, e2eAfter)
	requireEngine(t, trace)
	bin := buildBinary(t)
	cwd := t.TempDir() // the server's default root, which the client's replace
	local := filepath.Join(cwd, "local.json")
	if err := os.WriteFile(local, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	plan := map[string]any{
		"expectTools":        wantTools,
		"trace":              trace,
		"before":             before,
		"after":              after,
		"roots":              []string{filepath.Dir(filepath.Dir(trace))},
		"outsideClientRoots": local,
	}
	t.Run("stdio", func(t *testing.T) {
		plan["transport"], plan["command"], plan["args"], plan["cwd"] = "stdio", bin, []string{"mcp"}, cwd
		checkE2EReport(t, runNodeClient(t, node, dir, plan))
	})
	t.Run("http", func(t *testing.T) {
		url, stop := startHTTPServerIn(t, cwd, bin)
		defer stop()
		plan["transport"], plan["url"] = "http", url
		checkE2EReport(t, runNodeClient(t, node, dir, plan))
	})
}

// startHTTPServer runs `tracetriage mcp --http 127.0.0.1:0` and returns the
// endpoint URL it prints on stderr.
func startHTTPServer(t *testing.T, bin string, args ...string) (string, func()) {
	t.Helper()
	return startHTTPServerIn(t, t.TempDir(), bin, args...)
}

func startHTTPServerIn(t *testing.T, cwd, bin string, args ...string) (string, func()) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"mcp", "--http", "127.0.0.1:0"}, args...)...)
	cmd.Dir = cwd
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stop := func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if i := strings.Index(sc.Text(), "http://"); i >= 0 {
				lines <- sc.Text()[i:]
				break
			}
		}
		_, _ = bufio.NewReader(stderr).WriteTo(os.Stderr)
	}()
	select {
	case url := <-lines:
		return url, stop
	case <-time.After(20 * time.Second):
		stop()
		t.Fatal("tracetriage mcp --http did not print its address")
	}
	return "", stop
}

// TestE2EBinaryStdio starts the built binary over stdio without any SDK:
// every stdout line must be a JSON-RPC message, and responses (matched by
// id, since their order is not guaranteed) must answer each request.
func TestE2EBinaryStdio(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test skipped in -short mode")
	}
	trace := testutil.SharedFile(t, e2eTrace)
	requireEngine(t, trace)
	bin := buildBinary(t)
	cmd := exec.Command(bin, "mcp", "-v", "--root", filepath.Dir(trace))
	cmd.Dir = t.TempDir()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}()
	call := func(id int, name string, args map[string]any) string {
		b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": map[string]any{"name": name, "arguments": args}})
		return string(b)
	}
	msgs := []string{
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"go-e2e","version":"1"}}}`,
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
		`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`,
		call(3, "analyze_trace", map[string]any{"input": trace, "top_k": 3}),
		call(4, "kernel_sites", map[string]any{"input": filepath.Base(trace), "kernel": "moe"}),
		call(5, "analyze_trace", map[string]any{"input": "/etc/passwd"}),
		`{"jsonrpc":"2.0","id":6,"method":"no/such/method"}`,
	}
	go func() {
		for _, m := range msgs {
			io.WriteString(stdin, m+"\n")
		}
	}()
	byID := map[int]map[string]any{}
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 4<<20), 4<<20)
	timer := time.AfterFunc(2*time.Minute, func() { cmd.Process.Kill() })
	defer timer.Stop()
	for len(byID) < 6 && sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil || m["jsonrpc"] != "2.0" {
			t.Fatalf("stdout line is not JSON-RPC: %.200q", sc.Text())
		}
		if id, ok := m["id"].(float64); ok {
			byID[int(id)] = m
		}
	}
	if len(byID) < 6 {
		t.Fatalf("got %d of 6 responses; stderr: %s", len(byID), stderr.String())
	}
	result := func(id int) map[string]any {
		r, _ := byID[id]["result"].(map[string]any)
		return r
	}
	if tools, _ := result(2)["tools"].([]any); len(tools) != len(wantTools) {
		t.Errorf("tools/list: %d tools, want %d", len(tools), len(wantTools))
	}
	if r := result(3); r["isError"] == true || r["structuredContent"] == nil {
		t.Errorf("analyze_trace: %v", r)
	} else if sc, _ := r["structuredContent"].(map[string]any); sc["framework"] != "vllm" {
		t.Errorf("analyze_trace framework %v", sc["framework"])
	}
	if r := result(4); r["isError"] == true {
		t.Errorf("kernel_sites: %v", r)
	}
	if r := result(5); r["isError"] != true || !strings.Contains(fmt.Sprint(r["content"]), "outside the allowed roots") {
		t.Errorf("outside path: %v", r)
	}
	if _, ok := byID[6]["error"]; !ok {
		t.Errorf("unknown method: want a JSON-RPC error, got %v", byID[6])
	}
}

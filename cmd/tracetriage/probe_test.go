package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func liveRunCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, stdio{in: strings.NewReader(""), out: &out, err: &errb})
	return code, out.String(), errb.String()
}

func TestProbeCommand(t *testing.T) {
	srv := newLiveTestServer(t, "sglang", "")
	outFile := filepath.Join(t.TempDir(), "sub", "probe.json")
	code, stdout, stderr := liveRunCLI(t, "probe", "--framework", "sglang", "--url", srv.URL, "--requests", "3",
		"--prompt", "a", "--prompt", "b", "--timeout", "5", "--output", outFile)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rep map[string]any
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
	}
	if rep["success"] != 3.0 || rep["errors"] != 0.0 || rep["all_non_empty"] != true || rep["framework"] != "sglang" {
		t.Errorf("report %v", rep)
	}
	samples := rep["samples"].([]any)
	if samples[1].(map[string]any)["prompt"] != "b" || samples[0].(map[string]any)["source"] != "generate.text" {
		t.Errorf("samples %v", samples)
	}
	file, err := os.ReadFile(outFile)
	if err != nil || string(file) != stdout {
		t.Errorf("--output file differs from stdout (%v)", err)
	}
	if !strings.Contains(stderr, "tracetriage probe: 3 of 3 requests succeeded") {
		t.Errorf("stderr %q", stderr)
	}
}

func TestProbeCommandServerDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String()
	l.Close()
	code, stdout, stderr := liveRunCLI(t, "probe", "--framework", "sglang", "--url", url, "--requests", "2")
	if code != 0 {
		t.Fatalf("exit %d, want 0 (failures are in the report): %s", code, stderr)
	}
	if !strings.Contains(stdout, `"errors": 2`) {
		t.Errorf("report %s", stdout)
	}
	if !strings.Contains(stderr, "0 of 2 requests succeeded; first error: cannot connect") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("stderr %q", stderr)
	}
	// vLLM needs the model list first: that failure is the command's error.
	code, _, stderr = liveRunCLI(t, "probe", "--framework", "vllm", "--url", url)
	if code != 1 || !strings.Contains(stderr, "is the server running") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

func TestProbeCommandUsage(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"probe", "--url", "http://x"}, "--framework is required"},
		{[]string{"probe", "--framework", "tgi", "--url", "http://x"}, `--framework "tgi"`},
		{[]string{"probe", "--framework", "vllm"}, "--url is required"},
		{[]string{"probe", "--framework", "vllm", "--url", "http://x", "--requests", "0"}, "--requests 0"},
		{[]string{"probe", "--framework", "vllm", "--url", "http://x", "--concurrency", "0"}, "--concurrency 0"},
		{[]string{"probe", "--framework", "vllm", "--url", "http://x", "--timeout", "soon"}, "neither a duration"},
		{[]string{"probe", "--framework", "vllm", "--url", "http://x", "extra"}, `unexpected argument "extra"`},
		{[]string{"probe", "--framework", "sglang", "--url", "http://127.0.0.1:1", "--requests", "99999999999"}, "--requests 99999999999"},
		{[]string{"probe", "--framework", "vllm", "--url", "http://x", "--timeout", "1e300"}, `"1e300" is too long`},
		{[]string{"probe", "--framework", "vllm", "--url", "http://x", "--timeout", "NaN"}, `"NaN" is neither`},
	}
	for _, tc := range tests {
		code, _, stderr := liveRunCLI(t, tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
	code, stdout, _ := liveRunCLI(t, "probe", "-h")
	if code != 0 || !strings.Contains(stdout, "Usage: tracetriage probe") || !strings.Contains(stdout, "-concurrency") {
		t.Errorf("help: exit %d, %q", code, stdout)
	}
}

func TestProbeCommandCtrlC(t *testing.T) {
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // the server notices a closed connection only once the body is read
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}))
	defer hang.Close()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(150*time.Millisecond, cancel) // what Ctrl-C does through signal.NotifyContext
	var out, errb bytes.Buffer
	start := time.Now()
	code := run(ctx, []string{"probe", "--framework", "sglang", "--url", hang.URL, "--requests", "4"}, stdio{out: &out, err: &errb})
	if time.Since(start) > 3*time.Second {
		t.Errorf("probe took %s to stop after cancellation", time.Since(start))
	}
	if code != 1 || !strings.Contains(errb.String(), "cancelled after 0 of 4 requests") || out.Len() != 0 {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
}

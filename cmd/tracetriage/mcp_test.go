package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMCPStdioSpeaksOnlyJSONRPC drives `tracetriage mcp` over in-memory
// pipes: every stdout line must be a JSON-RPC message, logs go to stderr,
// and responses are matched by id (their order is not guaranteed).
func TestMCPStdioSpeaksOnlyJSONRPC(t *testing.T) {
	root := t.TempDir()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	var errBuf bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"mcp", "-v", "--root", root}, stdio{in: inR, out: outW, err: &errBuf})
		outW.Close()
	}()
	msgs := []string{
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`,
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
		`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`,
		fmt.Sprintf(`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"analyze_trace","arguments":{"input":%q}}}`, "/etc/passwd"),
		`{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"analyze_trace","arguments":{"input":"missing.json.gz"}}}`,
		`{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"no_such_tool","arguments":{}}}`,
	}
	go func() {
		for _, m := range msgs {
			io.WriteString(inW, m+"\n")
		}
	}()
	byID := map[float64]map[string]any{}
	sc := bufio.NewScanner(outR)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	deadline := time.AfterFunc(20*time.Second, func() { inW.Close(); cancel() })
	defer deadline.Stop()
	for len(byID) < 5 && sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil || m["jsonrpc"] != "2.0" {
			t.Fatalf("stdout line is not JSON-RPC: %q", sc.Text())
		}
		if id, ok := m["id"].(float64); ok {
			byID[id] = m
		}
	}
	inW.Close()
	if code := <-done; code != 0 {
		t.Errorf("exit status %d; stderr: %s", code, errBuf.String())
	}
	if len(byID) != 5 {
		t.Fatalf("got %d responses: %v", len(byID), byID)
	}
	tools := byID[2]["result"].(map[string]any)["tools"].([]any)
	if len(tools) < 3 {
		t.Errorf("tools/list: %d tools", len(tools))
	}
	for id, want := range map[float64]string{3: "outside the allowed roots", 4: "does not exist"} {
		res := byID[id]["result"].(map[string]any)
		if res["isError"] != true || !strings.Contains(fmt.Sprint(res["content"]), want) {
			t.Errorf("call %v: want an isError result with %q, got %v", id, want, byID[id])
		}
	}
	if _, ok := byID[5]["error"]; !ok {
		t.Errorf("unknown tool: want a JSON-RPC error, got %v", byID[5])
	}
	if !strings.Contains(errBuf.String(), "tool error") {
		t.Errorf("-v should log tool calls to stderr; stderr: %q", errBuf.String())
	}
}

func TestMCPFlags(t *testing.T) {
	var out, errBuf bytes.Buffer
	io := stdio{in: strings.NewReader(""), out: &out, err: &errBuf}
	if code := run(context.Background(), []string{"mcp", "-h"}, io); code != 0 || !strings.Contains(errBuf.String(), "--allow-host") {
		t.Errorf("-h: exit %d, help %q", code, errBuf.String())
	}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"mcp", "--cache-mb", "0"}, 2, "--cache-mb must be positive"},
		{[]string{"mcp", "--bogus"}, 2, "-bogus"},
		{[]string{"mcp", "extra"}, 2, `unexpected argument "extra"`},
		{[]string{"mcp", "--root", filepath.Join(t.TempDir(), "absent")}, 1, "absent"},
		{[]string{"mcp", "--http", "256.0.0.1:99999"}, 1, "--http 256.0.0.1:99999"},
	} {
		errBuf.Reset()
		if code := run(context.Background(), c.args, io); code != c.code || !strings.Contains(errBuf.String(), c.want) {
			t.Errorf("%v: exit %d (want %d), stderr %q (want %q)", c.args, code, c.code, errBuf.String(), c.want)
		}
	}
	if out.Len() != 0 {
		t.Errorf("nothing may reach stdout on errors, got %q", out.String())
	}
}

// TestMCPHTTPServes starts the HTTP transport on a loopback port chosen by
// the system, checks that it answers, and stops it by cancelling.
func TestMCPHTTPServes(t *testing.T) {
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"mcp", "--http", "127.0.0.1:0", "--root", t.TempDir()}, stdio{in: strings.NewReader(""), out: io.Discard, err: pw})
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, pr)
	i := strings.Index(line, "http://")
	if i < 0 {
		t.Fatalf("no address line: %q", line)
	}
	url := strings.TrimSpace(line[i:])
	body := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`
	resp, err := httpPost(url, body)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(resp, `"serverInfo"`) || !strings.Contains(resp, "tracetriage") {
		t.Errorf("initialize over HTTP: %s", resp)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d after cancel", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server did not stop on cancel")
	}
}

func httpPost(url, body string) (string, error) {
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

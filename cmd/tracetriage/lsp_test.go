package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// writeFrame writes one LSP message with its Content-Length header.
func writeFrame(t *testing.T, w io.Writer, msg string) {
	t.Helper()
	if _, err := fmt.Fprintf(w, "Content-Length: %d\r\n\r\n%s", len(msg), msg); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// readFrames parses stdout as LSP frames and fails on any byte outside one.
func readFrames(t *testing.T, out []byte) []map[string]json.RawMessage {
	t.Helper()
	r := bufio.NewReader(bytes.NewReader(out))
	var msgs []map[string]json.RawMessage
	for {
		line, err := r.ReadString('\n')
		if err == io.EOF && line == "" {
			return msgs
		}
		if err != nil || !strings.HasPrefix(line, "Content-Length: ") {
			t.Fatalf("stdout holds something that is not an LSP frame: %q", line)
		}
		n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "Content-Length: ")))
		if err != nil {
			t.Fatalf("bad header %q", line)
		}
		if blank, _ := r.ReadString('\n'); blank != "\r\n" {
			t.Fatalf("header not followed by a blank line: %q", blank)
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(r, body); err != nil {
			t.Fatalf("short frame: %v", err)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatalf("frame is not JSON: %q", body)
		}
		msgs = append(msgs, m)
	}
}

func TestLSPOverStdio(t *testing.T) {
	root := t.TempDir()
	inR, inW := io.Pipe()
	var stdout, stderr bytes.Buffer
	done := make(chan int, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	go func() { done <- run(ctx, []string{"lsp"}, stdio{in: inR, out: &stdout, err: &stderr}) }()

	trace := filepath.Join(root, "missing.json.gz")
	writeFrame(t, inW, fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{},"rootUri":"file://%s","initializationOptions":{"tracetriage":{"trace":%q}}}}`, root, trace))
	writeFrame(t, inW, `{"jsonrpc":"2.0","method":"initialized","params":{}}`)
	writeFrame(t, inW, `{"jsonrpc":"2.0","id":2,"method":"textDocument/hover","params":{"textDocument":{"uri":"file:///x.py"},"position":{"line":0,"character":0}}}`)
	time.Sleep(300 * time.Millisecond) // let the failed load be reported
	writeFrame(t, inW, `{"jsonrpc":"2.0","id":3,"method":"shutdown"}`)
	writeFrame(t, inW, `{"jsonrpc":"2.0","method":"exit"}`)
	var code int
	select {
	case code = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("tracetriage lsp did not exit after shutdown and exit")
	}
	_ = inW.Close()
	if code != 0 {
		t.Errorf("exit status %d, want 0; stderr:\n%s", code, stderr.String())
	}
	msgs := readFrames(t, stdout.Bytes())
	ids := map[string]bool{}
	var shown string
	for _, m := range msgs {
		ids[string(m["id"])] = true
		if string(m["method"]) == `"window/showMessage"` {
			shown = string(m["params"])
		}
	}
	for _, id := range []string{"1", "2", "3"} {
		if !ids[id] {
			t.Errorf("no response %s on stdout", id)
		}
	}
	if !strings.Contains(shown, "missing.json.gz") {
		t.Errorf("the failed load was not shown; showMessage params: %s", shown)
	}
	if !strings.Contains(stderr.String(), "level=") {
		t.Errorf("no logs on stderr: %q", stderr.String())
	}
}

func TestLSPExitWithoutShutdownIsStatus1(t *testing.T) {
	inR, inW := io.Pipe()
	var stdout, stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(context.Background(), []string{"lsp"}, stdio{in: inR, out: &stdout, err: &stderr})
	}()
	writeFrame(t, inW, `{"jsonrpc":"2.0","method":"exit"}`)
	select {
	case code := <-done:
		if code != 1 {
			t.Errorf("exit status %d, want 1", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no exit")
	}
}

func TestLSPFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"lsp", "-h"}, 0, "Usage: tracetriage lsp"},
		{[]string{"lsp", "extra"}, 2, `unexpected argument "extra"`},
		{[]string{"lsp", "-nope"}, 2, "flag provided but not defined"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), c.args, stdio{in: strings.NewReader(""), out: &stdout, err: &stderr})
		if code != c.code || !strings.Contains(stderr.String(), c.err) {
			t.Errorf("%v: status %d, stderr %q; want %d and %q", c.args, code, stderr.String(), c.code, c.err)
		}
		if stdout.Len() != 0 {
			t.Errorf("%v wrote to stdout: %q", c.args, stdout.String())
		}
	}
}

package mcp

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestHTTPTransportGuards: a request naming another host (DNS rebinding)
// is refused, and so is an oversized body.
func TestHTTPTransportGuards(t *testing.T) {
	e := newTestEnv(t, nil, nil)
	ts := httptest.NewServer(e.srv.HTTPHandler())
	defer ts.Close()
	init := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`
	post := func(host, body string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, ts.URL+"/mcp", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if host != "" {
			req.Host = host
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if r := post("", init); r.StatusCode != http.StatusOK {
		t.Fatalf("initialize: status %d", r.StatusCode)
	}
	if r := post("attacker.example:80", init); r.StatusCode != http.StatusForbidden {
		t.Errorf("foreign Host header: status %d, want 403", r.StatusCode)
	}
	big := `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"analyze_trace","arguments":{"input":"` + strings.Repeat("a", maxRequestBytes) + `"}}}`
	if r := post("", big); r.StatusCode == http.StatusOK {
		t.Errorf("oversized body accepted")
	}
}

package mcp

import (
	"strings"
	"testing"
)

func TestHostSet(t *testing.T) {
	loop := newHostSet(nil)
	for _, c := range []struct {
		url string
		ok  bool
	}{
		{"http://127.0.0.1:30000", true},
		{"http://localhost:8000/v1", true},
		{"http://[::1]:8000", true},
		{"http://127.1.2.3:8000", true},
		{"https://example.com", false},
		{"http://10.0.0.5:30000", false},
		{"http://169.254.169.254/latest/meta-data", false},
		{"http://localhost.evil.com", false},
		{"ftp://127.0.0.1", false},
		{"127.0.0.1:30000", false},
	} {
		_, err := loop.checkURL(c.url)
		if (err == nil) != c.ok {
			t.Errorf("%s: err %v, want ok=%v", c.url, err, c.ok)
		}
	}
	_, err := loop.checkURL("http://10.0.0.5:30000")
	if err == nil || !strings.Contains(err.Error(), "--allow-host 10.0.0.5") || !strings.Contains(err.Error(), "loopback only") {
		t.Errorf("refusal should name the allowed hosts and the flag: %v", err)
	}
	custom := newHostSet([]string{"GPU-Box", "10.0.0.5", "[fd00::1]"})
	for h, ok := range map[string]bool{"gpu-box": true, "10.0.0.5": true, "fd00::1": true, "127.0.0.1": false, "localhost": false, "gpu-box2": false} {
		if custom.allowed(h) != ok {
			t.Errorf("custom %s: want %v", h, ok)
		}
	}
}

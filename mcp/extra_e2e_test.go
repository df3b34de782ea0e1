package mcp

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// extraE2ECalls prepares, under dir (an allowed root of the server under
// test), what the end-to-end calls of capture_trace, probe_server,
// render_bundle and check_ci_runner_labels need: fake SGLang servers on
// loopback (one whose profiler writes synthetic traces), a saved analysis
// and a small repository with one documented-runner mismatch.
func extraE2ECalls(t *testing.T, dir string) []map[string]any {
	t.Helper()
	ts, _ := fakeSGLang(t)
	run := filepath.Join(dir, "run-a")
	must(t, os.MkdirAll(run, 0o755))
	b, err := json.Marshal(makeDoc("bundle", []string{"decode"}, 3, 1, 2))
	must(t, err)
	must(t, os.WriteFile(filepath.Join(run, "analysis.json"), b, 0o644))
	repo := ciRepo(t, dir)
	prof := fakeSGLangProfiler(t)
	return []map[string]any{
		{"name": "capture_trace", "args": map[string]any{"url": prof.URL, "framework": "sglang", "output_dir": filepath.Join(dir, "captures"), "trace_timeout_s": 60}, "expectText": "Next: analyze_trace"},
		{"name": "probe_server", "args": map[string]any{"url": ts.URL, "framework": "sglang", "requests": 2}, "expectText": "2/2 requests succeeded"},
		{"name": "probe_server", "args": map[string]any{"url": "http://10.1.2.3:30000"}, "expectError": true, "expectText": "--allow-host"},
		{"name": "render_bundle", "args": map[string]any{"analysis_roots": []string{run}, "title": "E2E bundle"}, "expectText": "# E2E bundle"},
		{"name": "check_ci_runner_labels", "args": map[string]any{"repo": repo, "docs": []string{"docs/ci.md"}}, "expectText": "missing-suffix"},
		{"name": "check_ci_runner_labels", "args": map[string]any{"repo": repo, "query": "lint-cpu"}, "expectText": "ubuntu-latest"},
		{"name": "render_bundle", "args": map[string]any{"analysis_files": []string{"/etc/passwd"}}, "expectError": true, "expectText": "outside the allowed roots"},
	}
}

package mcp

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tracetriage/tracetriage/cirunners"
	"github.com/tracetriage/tracetriage/live"
)

// fakeSGLang answers /generate like an SGLang server, on loopback.
func fakeSGLang(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/generate" {
			http.NotFound(w, r)
			return
		}
		n.Add(1)
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"text":"Shanghai is a large city.","meta_info":{}}`)
	}))
	t.Cleanup(ts.Close)
	return ts, &n
}

func TestProbeServer(t *testing.T) {
	ts, hits := fakeSGLang(t)
	var probes atomic.Int64
	e := newTestEnv(t, nil, func(c *Config) {
		c.Deps.Probe = func(ctx context.Context, o live.ProbeOptions) (*live.ProbeReport, error) {
			probes.Add(1)
			return live.Probe(ctx, o)
		}
	})
	res := e.call(t, "probe_server", map[string]any{"url": ts.URL, "framework": "sglang", "requests": 3, "max_tokens": 8})
	rep := decode[live.ProbeReport](t, res)
	if rep.Requests != 3 || rep.Success != 3 || !rep.AllNonEmpty || hits.Load() != 3 {
		t.Fatalf("report %+v (server saw %d requests)", rep, hits.Load())
	}
	if !strings.Contains(resultText(res), "3/3 requests succeeded") {
		t.Errorf("markdown: %s", resultText(res))
	}

	for _, c := range []struct {
		args map[string]any
		want []string
	}{
		{map[string]any{"url": "http://10.0.0.5:30000", "framework": "sglang"}, []string{"may not reach", "--allow-host 10.0.0.5", "loopback only"}},
		{map[string]any{"url": "http://169.254.169.254/latest", "framework": "sglang"}, []string{"may not reach"}},
		{map[string]any{"url": "file:///etc/passwd"}, []string{"not an http"}},
		{map[string]any{"url": ts.URL, "framework": "tgi"}, []string{"framework", "sglang"}},
		{map[string]any{"url": ts.URL, "framework": "sglang", "requests": 1000}, []string{"requests", "64"}},
		{map[string]any{"url": ts.URL, "framework": "sglang", "timeout_s": -1}, []string{"timeout_s"}},
	} {
		wantError(t, e.call(t, "probe_server", c.args), c.want...)
	}
	if n := probes.Load(); n != 1 {
		t.Fatalf("refused calls reached the prober: %d probes", n)
	}
	// A server that is down: a report of failed requests, not a crash.
	down := httptest.NewServer(http.NotFoundHandler())
	url := down.URL
	down.Close()
	res = e.call(t, "probe_server", map[string]any{"url": url, "framework": "sglang", "requests": 1})
	// Detecting the framework of a server that is down fails with a
	// sentence saying what to check.
	wantError(t, e.call(t, "probe_server", map[string]any{"url": url}), "probe_server failed", url)
	// A failed request is counted in the report, with its error.
	rep = decode[live.ProbeReport](t, res)
	if rep.Success != 0 || rep.Errors != 1 || len(rep.ErrorSamples) != 1 || !strings.Contains(resultText(res), "error:") {
		t.Fatalf("server down: %+v\n%s", rep, resultText(res))
	}
}

func TestProbeServerAllowHost(t *testing.T) {
	ts, _ := fakeSGLang(t)
	// With --allow-host naming another host, loopback is no longer allowed.
	e := newTestEnv(t, nil, func(c *Config) { c.AllowHosts = []string{"gpu-box"} })
	wantError(t, e.call(t, "probe_server", map[string]any{"url": ts.URL, "framework": "sglang"}), "may not reach", "gpu-box")
	// Naming the loopback address allows it again.
	e2 := newTestEnv(t, nil, func(c *Config) { c.AllowHosts = []string{"gpu-box", "127.0.0.1"} })
	if res := e2.call(t, "probe_server", map[string]any{"url": ts.URL, "framework": "sglang", "requests": 1}); res.IsError {
		t.Fatal(resultText(res))
	}
}

func TestRenderBundle(t *testing.T) {
	e := newTestEnv(t, nil, nil)
	run := filepath.Join(e.root, "qwen-run")
	must(t, os.Mkdir(run, 0o755))
	doc := makeDoc("b", []string{"decode"}, 3, 1, 2)
	b, _ := json.Marshal(doc)
	must(t, os.WriteFile(filepath.Join(run, "analysis.json"), b, 0o644))
	must(t, os.WriteFile(filepath.Join(e.root, "other.json"), b, 0o644))

	res := e.call(t, "render_bundle", map[string]any{"analysis_roots": []string{"qwen-run"}, "title": "Nightly"})
	out := decode[RenderBundleOutput](t, res)
	for _, want := range []string{"# Nightly", "Qwen/Qwen3-8B", "b_kernel_00"} {
		if !strings.Contains(out.Markdown, want) {
			t.Errorf("bundle lacks %q:\n%s", want, out.Markdown)
		}
	}
	if out.Bytes != len(out.Markdown) || resultText(res) != out.Markdown {
		t.Errorf("bytes %d of %d; the text content should be the bundle", out.Bytes, len(out.Markdown))
	}
	out = decode[RenderBundleOutput](t, e.call(t, "render_bundle", map[string]any{"analysis_files": []string{"mylabel=other.json", filepath.Join(run, "analysis.json")}, "no_toc": true}))
	if !strings.Contains(out.Markdown, "b_kernel_00") {
		t.Errorf("bundle of files:\n%s", out.Markdown)
	}

	wantError(t, e.call(t, "render_bundle", map[string]any{}), "analysis_roots")
	wantError(t, e.call(t, "render_bundle", map[string]any{"analysis_files": []string{"/etc/passwd"}}), "outside the allowed roots")
	wantError(t, e.call(t, "render_bundle", map[string]any{"analysis_roots": []string{"../"}}), "outside the allowed roots")
	// A planted link below an analysis root that leads out is refused.
	leak := filepath.Join(e.root, "leak")
	must(t, os.Mkdir(leak, 0o755))
	secret := filepath.Join(t.TempDir(), "analysis.json")
	must(t, os.WriteFile(secret, b, 0o644))
	must(t, os.Symlink(secret, filepath.Join(leak, "analysis-x.json")))
	wantError(t, e.call(t, "render_bundle", map[string]any{"analysis_roots": []string{"leak"}}), "analysis-x.json", "symbolic link", "outside the allowed roots")

	empty := filepath.Join(e.root, "empty")
	must(t, os.Mkdir(empty, 0o755))
	wantError(t, e.call(t, "render_bundle", map[string]any{"analysis_roots": []string{"empty"}}), "render_bundle failed")
}

// ciRepo writes a repository whose doc says the b200 suite runs on
// 4-gpu-b200 while its workflow asks for 4-gpu-b200-low-disk.
func ciRepo(t *testing.T, root string) string {
	repo := filepath.Join(root, "repo")
	files := map[string]string{
		"docs/ci.md": "| Suite | Runner |\n|---|---|\n| `stage-c-test-4-gpu-b200-small` | `4-gpu-b200` |\n| `lint-cpu` | `ubuntu-latest` |\n",
		".github/workflows/ci.yml": `on:
  push:
jobs:
  b200:
    runs-on: 4-gpu-b200-low-disk
    steps:
      - run: python run_suite.py --suite stage-c-test-4-gpu-b200-small
  lint:
    runs-on: ubuntu-latest
    steps:
      - run: python run_suite.py --suite lint-cpu
`,
	}
	for name, body := range files {
		p := filepath.Join(repo, filepath.FromSlash(name))
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must(t, os.WriteFile(p, []byte(body), 0o644))
	}
	return repo
}

func TestCheckCIRunnerLabels(t *testing.T) {
	e := newTestEnv(t, nil, nil)
	ciRepo(t, e.root)
	res := e.call(t, "check_ci_runner_labels", map[string]any{"repo": "repo", "docs": []string{"docs/ci.md"}})
	out := decode[CheckCIRunnerLabelsOutput](t, res)
	if out.Mode != "check" || out.Suites != 2 || len(out.Mismatches) != 1 {
		t.Fatalf("check: %+v", out)
	}
	m := out.Mismatches[0]
	if m.Kind != cirunners.KindMissingSuffix || m.Suite != "stage-c-test-4-gpu-b200-small" || m.DocFile != "docs/ci.md" || m.DocLine != 3 || m.WorkflowFile == "" || m.WorkflowLine != 5 {
		t.Errorf("mismatch %+v", m)
	}
	if txt := resultText(res); !strings.Contains(txt, "1 mismatch") || !strings.Contains(txt, "docs/ci.md:3") {
		t.Errorf("markdown: %s", txt)
	}

	q := decode[CheckCIRunnerLabelsOutput](t, e.call(t, "check_ci_runner_labels", map[string]any{"repo": "repo", "query": "lint-cpu"}))
	if q.Mode != "query" || q.Query == nil || q.Query.Kind != "suite" || len(q.Query.Suite.Jobs) != 1 || q.Query.Suite.Jobs[0].Labels[0] != "ubuntu-latest" {
		t.Errorf("query suite: %+v", q.Query)
	}
	q = decode[CheckCIRunnerLabelsOutput](t, e.call(t, "check_ci_runner_labels", map[string]any{"repo": "repo", "query": "4-gpu-b200-low-disk"}))
	if q.Query == nil || q.Query.Kind != "label" || len(q.Query.LabelSuites) != 1 {
		t.Errorf("query label: %+v", q.Query)
	}

	wantError(t, e.call(t, "check_ci_runner_labels", map[string]any{"repo": "/etc"}), "outside the allowed roots")
	wantError(t, e.call(t, "check_ci_runner_labels", map[string]any{"repo": "repo", "docs": []string{"../../x.md"}}), "outside the allowed roots")
	wantError(t, e.call(t, "check_ci_runner_labels", map[string]any{"repo": "repo"}), "no CI docs")
	// A planted workflow link that leads out is refused.
	outside := filepath.Join(t.TempDir(), "x.yml")
	must(t, os.WriteFile(outside, []byte("jobs: {}\n"), 0o644))
	link := filepath.Join(e.root, "repo", ".github", "workflows", "leak.yml")
	must(t, os.Symlink(outside, link))
	wantError(t, e.call(t, "check_ci_runner_labels", map[string]any{"repo": "repo", "docs": []string{"docs/ci.md"}}), "leak.yml", "symbolic link")
	must(t, os.Remove(link))
	must(t, os.WriteFile(filepath.Join(e.root, "repo", ".github", "workflows", "bad.yml"), []byte("jobs: [\n"), 0o644))
	wantError(t, e.call(t, "check_ci_runner_labels", map[string]any{"repo": "repo", "docs": []string{"docs/ci.md"}}), "bad.yml")
}

package render

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var bundleUpdate = flag.Bool("update", false, "rewrite the golden files under testdata/")

var bundleTestNow = time.Date(2026, 5, 2, 13, 4, 5, 0, time.FixedZone("CEST", 2*3600))

func TestBundleGolden(t *testing.T) {
	tests := []struct {
		name   string
		opts   BundleOptions
		golden string
	}{
		{"root", BundleOptions{Roots: []string{"testdata/bundle/runs"}, Now: bundleTestNow}, "bundle_root.golden.md"},
		{"files, labels, no toc", BundleOptions{
			Title: "Nightly | run",
			Files: []BundleFile{
				BundleParseFileArg("r1-nightly=testdata/bundle/runs/deepseek/analysis.json"),
				BundleParseFileArg("testdata/bundle/runs/qwen3/analysis_b.txt"),
			},
			NoTOC: true,
			Now:   bundleTestNow,
		}, "bundle_files.golden.md"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := Bundle(&b, tc.opts); err != nil {
				t.Fatalf("Bundle: %v", err)
			}
			golden := filepath.Join("testdata", "bundle", tc.golden)
			if *bundleUpdate {
				if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./render -run TestBundleGolden -update to create it)", err)
			}
			if b.String() != string(want) {
				t.Errorf("bundle differs from %s; got:\n%s", golden, b.String())
			}
		})
	}
}

// TestBundleContent checks the rules the golden files show, so that an
// -update cannot silently accept a regression.
func TestBundleContent(t *testing.T) {
	var b bytes.Buffer
	if err := Bundle(&b, BundleOptions{Roots: []string{"testdata/bundle/runs"}, Now: bundleTestNow}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	mustOrder := []string{
		"# Unified LLM Torch Profiler Triage Bundle\n\n_Generated on 2026-05-02 11:04:05 UTC_\n",
		"## Contents\n\n- [deepseek-ai/DeepSeek-R1](#deepseek-aideepseek-r1)\n- [misc](#misc)\n- [Qwen/Qwen3-8B-FP8](#qwenqwen3-8b-fp8)\n",
		"## deepseek-ai/DeepSeek-R1\n\nModel id: `deepseek`\n\n### SGLang\n\nSource: `testdata/bundle/runs/deepseek/analysis.json`\n\n#### Triage View\n",
		"- Mapping traces: mapping/r1-TP-0-DECODE.trace.json.gz\n- Formal traces: formal/r1-TP-0-DECODE.trace.json.gz\n",
		"- Warning: The mapping trace has no Python stacks for 3 kernels.\n",
		"#### Kernel Table\n##### extend/prefill\n| Kernel |",
		`| fmha\|prefill | attention | 6.00 ms | 60.0% | 61 | python/sglang/srt/layers/attention/flashinfer_backend.py:700 forward_extend | flashinfer::prefill |`,
		"##### decode\n",
		"| ncclDevKernel_AllReduce_Sum_bf16_RING_LL | communication | 1.20 ms | 30.0% | 122 | python/sglang/srt/distributed/parallel_state.py:520 _all_reduce_out_place (site share 75%)<br>python/sglang/srt/layers/communicator.py:88 prepare_mlp (site share 25%) | c10d::allreduce_ |",
		"| unresolved_kernel | memory | 0.10 ms | 2.5% | 4 | unresolved | - |",
		"#### Overlap Opportunity Table\n##### decode\n",
		"| P1 | headroom | ncclDevKernel_AllReduce_Sum_bf16_RING_LL | python/sglang/srt/distributed/parallel_state.py:520 _all_reduce_out_place | 1200.0 us, share 30.0%, excl 62.0% / hid 38.0% | low | try overlap |",
		"#### Fuse Opportunity Table\n##### decode\n",
		"| Fused all-reduce + RMSNorm | Candidate | 1.30 ms | 32.5% | ncclDevKernel_AllReduce_Sum_bf16_RING_LL (30.0%) | _all_reduce_out_place @ python/sglang/srt/distributed/parallel_state.py:520 | python/sglang/srt/layers/communicator.py<br>python/sglang/srt/distributed/communication_op.py | Split kernels in this family take 32.5% of GPU time.<br>This tree already has a matching path. |",
		"## misc\n\nModel id: `misc`\n\n### TensorRT-LLM\n\nSource: `testdata/bundle/runs/misc/analysis_trtllm.txt`\n\n_Empty analysis output._\n",
		"## Qwen/Qwen3-8B-FP8\n\nModel id: `qwen3`\n\n### SGLang\n\nSource: `testdata/bundle/runs/qwen3/analysis_sglang.txt`\n\n#### Triage View\n\n- Mode: single-trace\n- Framework: SGLang\n",
		"\n#### Kernel Table\n##### decode\n",
		"### vLLM\n\nSource: `testdata/bundle/runs/qwen3/analysis_b.txt`\n",
	}
	rest := out
	for _, s := range mustOrder {
		i := strings.Index(rest, s)
		if i < 0 {
			t.Fatalf("bundle lacks (in order) %q; output:\n%s", s, out)
		}
		rest = rest[i+len(s):]
	}
	for _, s := range []string{"tiny_kernel", "| cut |", "notes.txt", "(0.4%)", "other.py"} {
		if strings.Contains(out, s) {
			t.Errorf("bundle holds %q, which should be left out", s)
		}
	}
	if !strings.HasSuffix(out, "|\n") || strings.HasSuffix(out, "\n\n") {
		t.Errorf("bundle must end with exactly one newline")
	}
}

func TestBundleErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	noSchema := write("analysis_a.json", `{"mode":"single-trace"}`)
	newer := write("analysis_b.json", `{"schema_version": 99}`)
	broken := write("analysis_c.json", `{"schema_version": 1,`)
	huge := write("analysis_d.txt", "")
	if err := os.Truncate(huge, MaxBundleFileBytes+1); err != nil { // sparse: writes almost nothing
		t.Fatal(err)
	}
	empty := t.TempDir()
	tests := []struct {
		name string
		opts BundleOptions
		want []string
	}{
		{"nothing asked", BundleOptions{}, []string{"no analysis files found"}},
		{"empty root", BundleOptions{Roots: []string{empty}}, []string{"no analysis files found under " + empty, "analysis*.txt"}},
		{"missing files", BundleOptions{Files: []BundleFile{{Path: "nope/a.txt"}, {Path: "testdata/bundle/runs/qwen3/analysis_b.txt"}, {Path: "nope/b.txt"}}},
			[]string{"missing analysis files: nope/a.txt, nope/b.txt"}},
		{"root is a file", BundleOptions{Roots: []string{noSchema}}, []string{"is not a directory", "--analysis-file"}},
		{"root missing", BundleOptions{Roots: []string{filepath.Join(dir, "gone")}}, []string{"gone", "no such file"}},
		{"JSON without schema", BundleOptions{Files: []BundleFile{{Path: noSchema}}}, []string{"without schema_version"}},
		{"newer schema", BundleOptions{Files: []BundleFile{{Path: newer}}}, []string{"schema_version 99", "upgrade tracetriage"}},
		{"broken JSON", BundleOptions{Files: []BundleFile{{Path: broken}}}, []string{"does not parse"}},
		{"file over the size cap", BundleOptions{Files: []BundleFile{{Path: huge}}}, []string{"read analysis " + huge + ": larger than the 64 MiB limit"}},
		{"missing file advice", BundleOptions{Files: []BundleFile{{Path: "nope/a.txt"}}}, []string{"nope/a.txt", "check the paths"}},
		{"file is a directory", BundleOptions{Files: []BundleFile{{Path: empty}}}, []string{empty + " is a directory", "--analysis-root"}},
		{"file without a path", BundleOptions{Files: []BundleFile{{Label: "x"}}}, []string{`label "x" names no file`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			err := Bundle(&b, tc.opts)
			if err == nil {
				t.Fatalf("want an error; got:\n%s", b.String())
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error not on one line: %q", err)
			}
			for _, s := range tc.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
			if b.Len() != 0 {
				t.Errorf("wrote output despite the error")
			}
		})
	}
}

func TestBundleSlug(t *testing.T) {
	s := bundleSlugger{}
	for _, tc := range [][2]string{
		{"Contents", "contents"},
		{"Qwen/Qwen3-8B", "qwenqwen3-8b"},
		{"Qwen/Qwen3-8B", "qwenqwen3-8b-1"},
		{"Llama 3.1 (70B) — FP8", "llama-31-70b--fp8"},
		{"Qwen/Qwen3-8B", "qwenqwen3-8b-2"},
		{"ÉTÉ_model", "été_model"},
	} {
		if got := s.slug(tc[0]); got != tc[1] {
			t.Errorf("slug(%q) = %q, want %q", tc[0], got, tc[1])
		}
	}
}

func TestBundleParseFileArg(t *testing.T) {
	dir := t.TempDir()
	odd := filepath.Join(dir, "a=b.txt")
	if err := os.WriteFile(odd, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for arg, want := range map[string]BundleFile{
		"qwen=runs/x/analysis.txt": {Label: "qwen", Path: "runs/x/analysis.txt"},
		"runs/x/analysis.txt":      {Path: "runs/x/analysis.txt"},
		"runs/a=b/analysis.txt":    {Path: "runs/a=b/analysis.txt"},
		odd:                        {Path: odd},
		"=x.txt":                   {Path: "=x.txt"},
	} {
		if got := BundleParseFileArg(arg); got != want {
			t.Errorf("BundleParseFileArg(%q) = %+v, want %+v", arg, got, want)
		}
	}
}

func TestBundleDuplicateModelsGetDistinctAnchors(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"run1", "run2"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, d, "analysis.txt"), []byte("Triage View\nModel: m/x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var b bytes.Buffer
	if err := Bundle(&b, BundleOptions{Roots: []string{dir}, Now: bundleTestNow}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "- [m/x](#mx)\n- [m/x](#mx-1)\n") {
		t.Errorf("contents:\n%s", b.String())
	}
	if !strings.Contains(b.String(), "### Other\n") {
		t.Errorf("a report naming no framework goes under Other:\n%s", b.String())
	}
}

func TestReadBundleFileLimit(t *testing.T) {
	p := filepath.Join(t.TempDir(), "analysis.txt")
	if err := os.WriteFile(p, []byte("12345"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		limit   int64
		wantErr bool
	}{{5, false}, {4, true}} {
		data, err := readBundleFile(p, tc.limit)
		if (err != nil) != tc.wantErr || (!tc.wantErr && string(data) != "12345") {
			t.Errorf("limit %d: got %q, %v (want error %v)", tc.limit, data, err, tc.wantErr)
		}
	}
}

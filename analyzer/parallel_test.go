package analyzer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tracetriage/tracetriage/internal/testutil"
)

func TestSplitRanges(t *testing.T) {
	tests := []struct {
		n    int
		sp   split
		want int // ranges
	}{
		{0, split{workers: 4}, 1},
		{minRangeKernels - 1, split{workers: 4}, 1},
		{2*minRangeKernels + 5, split{workers: 4}, 2},
		{100 * minRangeKernels, split{workers: 4}, 4},
		{10, split{workers: 3, minKernels: 1}, 3},
		{2, split{workers: 7, minKernels: 1}, 2},
	}
	for _, tc := range tests {
		rs := tc.sp.ranges(tc.n)
		if len(rs) != tc.want {
			t.Errorf("ranges(%d, %+v): %d ranges, want %d", tc.n, tc.sp, len(rs), tc.want)
		}
		at := 0
		for _, r := range rs {
			if r[0] != at || r[1] < r[0] {
				t.Errorf("ranges(%d, %+v) = %v: not contiguous", tc.n, tc.sp, rs)
				break
			}
			at = r[1]
		}
		if at != tc.n {
			t.Errorf("ranges(%d, %+v) = %v: cover [0, %d)", tc.n, tc.sp, rs, at)
		}
	}
}

func TestForRangesWaitsAndReportsCancellation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var finished atomic.Int32
	ranges := split{workers: 4, minKernels: 1}.ranges(4 * cancelCheckEvery)
	err := forRanges(ctx, ranges, func(r, lo, hi int) error {
		defer finished.Add(1)
		if r == 0 {
			cancel()
		}
		for i := lo; i < hi; i++ {
			if err := cancelled(ctx, i-lo); err != nil {
				return err
			}
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if n := finished.Load(); n != int32(len(ranges)) {
		t.Errorf("forRanges returned with %d of %d ranges finished", n, len(ranges))
	}
	if err := forRanges(ctx, ranges, func(int, int, int) error { t.Error("ran after cancellation"); return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled before start: err = %v", err)
	}
}

// The document must not depend on how the kernels are shared out among
// goroutines: each input is analysed on one range and on many small ones
// (down to single kernels), and the JSON documents compared.
func TestDocumentIndependentOfSplit(t *testing.T) {
	root := testutil.ModuleRoot()
	cases := []Options{
		{Input: filepath.Join(root, "testdata", "sglang-decode-small.json.gz")},
		{Input: filepath.Join(root, "testdata", "vllm-extend-small.json.gz"), Timeline: true},
		{Input: filepath.Join("testdata", "sglang-mini-TP-0.trace.json")},
		{Input: filepath.Join("testdata", "sglang-mini-capture-and-replay.json")},
		{Input: filepath.Join("testdata", "two-gpu-processes.json"), PIDSubstring: "2"},
		{MappingInput: filepath.Join("testdata", "sglang-mini-capture.json"),
			FormalInput: filepath.Join("testdata", "sglang-mini-capture-and-replay.json")},
	}
	if !testing.Short() {
		files, _ := filepath.Glob(filepath.Join(testutil.SharedDir(t), "traces", "*", "*.json*"))
		if len(files) == 0 {
			t.Fatal("no shared traces")
		}
		for _, f := range files {
			cases = append(cases, Options{Input: f, Timeline: true})
		}
		llm := filepath.Join(testutil.SharedDir(t), "traces", "llm-serving")
		cases = append(cases, Options{
			MappingInput: filepath.Join(llm, "sglang_mi300x_qwen3-8b_decode_graph_capture_bs32_rank0.json.gz"),
			FormalInput:  filepath.Join(llm, "sglang_mi300x_qwen3-8b_decode_graph_replay.json.gz"),
		})
	}
	for _, opts := range cases {
		name := filepath.Base(opts.Input + opts.FormalInput)
		t.Run(name, func(t *testing.T) {
			var docs [][]byte
			for _, sp := range []split{{workers: 1}, {workers: 3, minKernels: 1}, {workers: 64, minKernels: 1}} {
				o := opts
				o.split = sp
				doc, err := Analyze(context.Background(), o)
				if err != nil {
					if errors.Is(err, ErrBadOptions) {
						t.Fatal(err)
					}
					t.Skipf("not analysable: %v", err)
				}
				b, err := json.Marshal(doc)
				if err != nil {
					t.Fatal(err)
				}
				docs = append(docs, b)
			}
			for i := 1; i < len(docs); i++ {
				if !bytes.Equal(docs[0], docs[i]) {
					t.Errorf("split %d gives another document than one range:\n%s\nvs\n%s", i, docs[0], docs[i])
				}
			}
		})
	}
}

// Two launches of one kernel from frames with the same names: the first
// from an outer and an inner frame of the same priority and the same
// span (the tie goes to the outer one), the second from an inner frame
// that is shorter (it wins). One pass caches the first chain's site for
// both; a range holding only the second would pick the inner frame, so
// the ranges must notice and give what one pass gives.
func TestChainTieAcrossRanges(t *testing.T) {
	outer, inner := "python/sglang/srt/a.py(1): outer", "python/sglang/srt/b.py(2): inner"
	var ev []string
	add := func(format string, args ...any) { ev = append(ev, fmt.Sprintf(format, args...)) }
	for i, spans := range [][4]int{{0, 100, 0, 100}, {200, 100, 210, 50}} {
		base, ext, corr := 200*i, i+1, 11+i
		add(`{"ph":"X","cat":"python_function","name":%q,"pid":100,"tid":1,"ts":%d,"dur":%d}`, outer, spans[0], spans[1])
		add(`{"ph":"X","cat":"python_function","name":%q,"pid":100,"tid":1,"ts":%d,"dur":%d}`, inner, spans[2], spans[3])
		add(`{"ph":"X","cat":"cpu_op","name":"aten::mm","pid":100,"tid":1,"ts":%d,"dur":10,"args":{"External id":%d}}`, base+20, ext)
		add(`{"ph":"X","cat":"cuda_runtime","name":"cudaLaunchKernel","pid":100,"tid":1,"ts":%d,"dur":2,"args":{"External id":%d,"correlation":%d}}`, base+22, ext, corr)
		add(`{"ph":"X","cat":"kernel","name":"gemm_a","pid":0,"tid":7,"ts":%d,"dur":10,"args":{"External id":%d,"correlation":%d,"stream":7}}`, 1000+100*i, ext, corr)
	}
	path := filepath.Join(t.TempDir(), "tie.json")
	if err := os.WriteFile(path, []byte(`{"traceEvents":[`+strings.Join(ev, ",")+`]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	var docs []*Document
	for _, sp := range []split{{workers: 1}, {workers: 2, minKernels: 1}} {
		doc, err := Analyze(context.Background(), Options{Input: path, split: sp})
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, doc)
	}
	one := docs[0].Stages[0].Kernels[0].Sites
	if len(one) != 1 || one[0].Path != "python/sglang/srt/a.py" || one[0].Launches != 2 {
		t.Fatalf("one pass: sites %+v, want both launches at a.py (the first chain's tie cached)", one)
	}
	a, _ := json.Marshal(docs[0])
	b, _ := json.Marshal(docs[1])
	if !bytes.Equal(a, b) {
		t.Errorf("two ranges give another document than one pass:\n%s\nvs\n%s", a, b)
	}
}

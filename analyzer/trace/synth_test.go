package trace

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// ev wraps event bodies in Kineto's layout.
func kineto(events ...string) string {
	var b strings.Builder
	b.WriteString("{\n  \"schemaVersion\": 1,\n  \"distributedInfo\": {\"rank\": 3, \"world_size\": 8},\n  \"traceEvents\": [")
	for i, e := range events {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("\n  ")
		b.WriteString(e)
	}
	b.WriteString("\n  ],\n  \"displayTimeUnit\": \"ns\",\n  \"deviceProperties\": [{\"name\": \"GPU \\u00e9\"}]\n}")
	return b.String()
}

const (
	kernelEv = `{"ph": "X", "cat": "kernel", "name": "NAME", "pid": 0, "tid": 7, "ts": 10.5, "dur": 2, "args": {"correlation": 5, "stream": 7, "External id": 9}}`
	launchEv = `{"ph": "X", "cat": "cuda_runtime", "name": "cudaLaunchKernel", "pid": 1, "tid": 1, "ts": 9, "dur": 1, "args": {"correlation": 5, "External id": 9}}`
)

func named(name string) string { return strings.Replace(kernelEv, `"NAME"`, name, 1) }

// synthCases are inputs for the fast-versus-general differential test.
// fast says whether the fast path must read the text itself (with the
// default block size) rather than give it to the general parser.
var synthCases = []struct {
	name string
	text string
	fast bool
}{
	{"escapes", kineto(named(`"a\"b\\c\/d\n\t\r\b\f e"`), launchEv), true},
	{"unicode-escapes", kineto(named(`"caf\u00e9 \u4e2d \ud83d\ude00 lone-hi \ud83d x lone-lo \ude00 hi-then-bmp \ud83d\u0041 nul \u0000"`)), true},
	{"surrogate-at-end", kineto(named(`"\ud83d"`), named(`"\ud83d\ude00"`), named(`"x\ud83d\ude00"`)), true},
	{"raw-utf8", kineto(named(`"café 中文 😀"`)), true},
	{"invalid-utf8", kineto(named("\"bad \xff\xfe utf8\"")), true},
	{"numbers-as-strings", kineto(`{"ph": "X", "cat": "kernel", "name": "k", "pid": "Traces", "tid": "4093687616", "ts": "12.5", "dur": "3", "args": {"correlation": "77", "stream": "7"}}`), true},
	{"inf-na", kineto(`{"ph": "X", "cat": "kernel", "name": "k", "pid": 0, "tid": 7, "ts": "inf", "dur": "N/A", "args": {"correlation": "N/A", "stream": 7}}`, named(`"ok"`)), true},
	{"big-ids", kineto(`{"ph": "X", "cat": "kernel", "name": "k", "pid": 0, "tid": 7, "ts": 1, "dur": 1, "args": {"correlation": 10159970886766084423, "External id": 18446744073709551616, "graph id": -3, "graph node id": 1.0, "stream": 1e0}}`), true},
	{"number-forms", kineto(`{"ph": "X", "cat": "kernel", "name": -0, "pid": 0, "tid": 7, "ts": 1.5E+2, "dur": 2e-1, "args": {"correlation": 0.5, "stream": 7}}`), true},
	{"literals", kineto(`{"ph": "X", "cat": "kernel", "name": true, "pid": false, "tid": null, "ts": 1, "dur": 1, "args": {"correlation": null, "stream": true}}`), true},
	{"missing-fields", kineto(`{"ph": "X", "cat": "kernel", "name": "k"}`, `{"ph": "X", "cat": "kernel", "ts": 1, "dur": 1}`, `{"ph": "X", "cat": "kernel", "name": "k", "ts": 1, "dur": 1, "args": {}}`, `{}`, `{"ph": "X"}`), true},
	{"empty-strings", kineto(`{"ph": "X", "cat": "", "name": "", "pid": "", "tid": "", "ts": 1, "dur": 1, "args": {"stream": "", "correlation": ""}}`), true},
	{"duplicate-keys", kineto(`{"ph": "X", "cat": "kernel", "name": "first", "name": "second", "pid": 0, "tid": 7, "ts": 1, "dur": 1, "args": {"stream": 1, "stream": 2}}`, `{"ph": "X", "cat": "cpu_op", "name": "op", "pid": 0, "tid": 1, "ts": 1, "dur": 1, "args": {"External id": 1}, "args": {"External id": 2}}`), true},
	{"escaped-keys", kineto(`{"ph": "X", "cat": "kernel", "n\u0061me": "esc", "pid": 0, "tid": 7, "ts": 1, "dur": 1, "args": {"str\u0065am": 3}}`), true},
	{"structured-values", kineto(`{"ph": "X", "cat": "kernel", "name": {"a": [1, {"b": 2}]}, "pid": [0], "tid": 7, "ts": 1, "dur": 1, "args": {"stream": {"x": 1}}}`), true},
	{"args-not-object", kineto(`{"ph": "X", "cat": "kernel", "name": "k", "pid": 0, "tid": 7, "ts": 1, "dur": 1, "args": null}`, `{"ph": "X", "cat": "kernel", "name": "k", "pid": 0, "tid": 7, "ts": 1, "dur": 1, "args": [1, 2]}`, `{"ph": "X", "cat": "kernel", "name": "k", "pid": 0, "tid": 7, "ts": 1, "dur": 1, "args": "s"}`), true},
	{"non-object-entries", kineto(`1`, `"x"`, `null`, `[1, {"ph": "X"}]`, named(`"k"`)), true},
	{"skipped-args", kineto(`{"ph": "X", "cat": "cpu_op", "name": "aten::mm", "pid": 1, "tid": 1, "ts": 1, "dur": 1, "args": {"Input Dims": [[1, 2], [3, [4, []]]], "Concrete Inputs": ["", "}, {\"ph\": \"X\""], "nested": {"name": "not me", "args": {"stream": 1}}, "External id": 4, "Ev Idx": 0}}`), true},
	{"metadata-events", kineto(`{"name": "thread_name", "ph": "M", "ts": 1, "pid": 4, "tid": 5, "args": {"name": "thread 5 (python)"}}`, `{"name": "process_name", "ph": "M", "pid": 4, "tid": 0, "args": {"name": "python"}}`, `{"name": "thread_name", "ph": "M", "pid": 4, "tid": 5, "args": {"name": "renamed"}}`, `{"name": "process_sort_index", "ph": "M", "pid": 4, "args": {"sort_index": 1}}`), true},
	{"legacy-and-hip", kineto(`{"ph": "X", "cat": "Kernel", "name": "Cijk_Ailk", "pid": 0, "tid": "stream 2", "ts": 1, "dur": 1, "args": {"correlation": 1, "stream": 2}}`, `{"ph": "X", "cat": "Runtime", "name": "hipLaunchKernel", "pid": 1, "tid": 1, "ts": 1, "dur": 1, "args": {"correlation": 1, "kernel": "Cijk_Ailk"}}`, `{"ph": "X", "cat": "cuda_driver", "name": "cuLaunchKernelEx", "pid": 1, "tid": 1, "ts": 1, "dur": 1, "args": {"correlation": 2}}`, `{"ph": "X", "cat": "Operator", "name": "aten::mm", "pid": 1, "tid": 1, "ts": 1, "dur": 1, "args": {"External id": 1}}`, `{"ph": "s", "cat": "async", "id": 1, "pid": 1, "tid": 1, "ts": 1}`, `{"ph": "X", "cat": "python_function", "name": "a.py(1): f", "pid": 1, "tid": 1, "ts": 1, "dur": 5, "args": {"Python id": 2, "Python parent id": 1}}`, `{"ph": "X", "cat": "gpu_user_annotation", "name": "step", "pid": 0, "tid": 7, "ts": 1, "dur": 5, "args": {"External id": 1}}`, `{"ph": "X", "cat": "weird", "name": "w", "pid": 0, "tid": 7, "ts": 1, "dur": 5, "args": {"cuda_stream": 3}}`), true},
	{"empty-events", "{\"traceEvents\": [\n  ]}", true},
	{"empty-events-compact", `{"traceEvents":[]}`, true},
	{"bare-array", "[\n  " + named(`"a"`) + ",\n  " + launchEv + "\n]\n", true},
	{"bare-array-empty", "[]", true},
	{"bom-and-space", "\xef\xbb\xbf \n" + kineto(named(`"k"`)), true},
	{"crlf", strings.ReplaceAll(kineto(named(`"a"`), launchEv, named(`"b"`)), "\n", "\r\n"), true},
	{"compact", `{"schemaVersion":1,"traceEvents":[` + named(`"a"`) + `,` + launchEv + `],"traceName":"x"}`, true},
	{"events-last-key", "{\"traceEvents\": [\n  " + named(`"a"`) + "\n  ]}", true},
	{"deep-args", kineto(`{"ph": "X", "cat": "kernel", "name": "deep", "pid": 0, "tid": 7, "ts": 1, "dur": 1, "args": {"stream": 1, "d": ` + strings.Repeat("[", 600) + strings.Repeat("]", 600) + `}}`), false},
	{"layout-mark-nested", "{\"traceEvents\": [\n  {\"ph\": \"X\", \"cat\": \"kernel\", \"name\": \"a\", \"ts\": 1, \"dur\": 1, \"args\": {\"stream\": 1, \"l\": [\n  {\"x\": 1},\n  {\"y\": 2}]}},\n  " + named(`"b"`) + "\n  ]}", true},
	{"duplicate-trace-events", "{\"traceEvents\": [\n  " + named(`"a"`) + "\n  ], \"traceEvents\": [\n  " + named(`"b"`) + "\n  ]}", false},
	// Invalid texts: both parsers must fail (the fast path by giving up).
	{"bad-trailing-comma", kineto(named(`"a"`) + ","), false},
	{"bad-missing-comma", "{\"traceEvents\": [\n  " + named(`"a"`) + "\n  " + named(`"b"`) + "\n  ]}", false},
	{"bad-control-char", kineto(named("\"a\tb\"")), false},
	{"bad-escape", kineto(named(`"a\x"`)), false},
	{"bad-number", kineto(strings.Replace(kernelEv, `"dur": 2`, `"dur": 01`, 1)), false},
	{"bad-literal", kineto(strings.Replace(kernelEv, `"dur": 2`, `"dur": nul`, 1)), false},
	// A trailing comma in an event the Builder only counts (its first key
	// says ph is not X or M) right after ph, whose rest is only validated.
	{"bad-trailing-comma-in-instant", kineto(named(`"a"`), `{"ph": "i",}`), false},
	{"bad-trailer", kineto(named(`"a"`)) + " x", false},
	{"bad-unterminated", kineto(named(`"a"`))[:80], false},
}

// bigKineto is a multi-block text in Kineto's layout with escapes and
// metadata, to put chunk boundaries inside and between events.
func bigKineto() string {
	evs := make([]string, 0, 3000)
	for i := range 3000 {
		switch i % 5 {
		case 0:
			evs = append(evs, named(`"k\u00e9\"`+strings.Repeat("x", i%13)+`"`))
		case 1:
			evs = append(evs, launchEv)
		case 2:
			evs = append(evs, "{\n    \"ph\": \"X\", \"cat\": \"python_function\", \"name\": \"m.py(3): f\", \"pid\": 1, \"tid\": 1,\n    \"ts\": 5.125, \"dur\": 1,\n    \"args\": {\n      \"Python id\": 3, \"Python parent id\": 2\n    }\n  }")
		case 3:
			evs = append(evs, `{"ph": "X", "cat": "cpu_op", "name": "aten::mm", "pid": 1, "tid": 1, "ts": 1, "dur": 1, "args": {"Input Dims": [[1, 2]], "External id": 4}}`)
		default:
			evs = append(evs, `{"name": "thread_name", "ph": "M", "pid": 4, "tid": 5, "args": {"name": "t"}}`)
		}
	}
	return kineto(evs...)
}

// loadBoth loads data from a file with the general parser alone and as
// Load does, fails t unless the results are the same, and returns the
// general parser's.
func loadBoth(t *testing.T, name string, data []byte) (*Trace, error) {
	t.Helper()
	path := writeTemp(t, name, data)
	want, werr := Load(context.Background(), path, Options{General: true})
	got, gerr := Load(context.Background(), path, Options{})
	sameResult(t, want, werr, got, gerr)
	return want, werr
}

// fastDirect runs the fast path with the given workers and block size.
func fastDirect(data []byte, workers, block int) (*Trace, error) {
	t, err := parseFast(context.Background(), bytes.NewReader(data), "p", workers, block, func() int64 { return int64(len(data)) })
	if t != nil {
		t.Bytes = int64(len(data))
	}
	return t, err
}

// fastThenGeneral is Load in memory: the fast path, then the general
// parser from where the fast path gave up inside the events array, or
// from the start. It reports whether the fast path read the whole text
// and whether the general parser resumed it part-way.
func fastThenGeneral(t *testing.T, data []byte, workers, block int) (tr *Trace, err error, whole, resumed bool) {
	t.Helper()
	got, ferr := fastDirect(data, workers, block)
	if ferr == nil {
		return got, nil, true, false
	}
	b := NewBuilder("p")
	rf, resumed := errors.AsType[*resumeFrom](ferr)
	switch {
	case resumed:
		if rf.why != errFallback {
			t.Fatalf("fast path error %v, want errFallback", rf.why) // a recovered scanner panic is a bug
		}
		if rf.at < 0 || rf.at > int64(len(data)) {
			t.Fatalf("resume offset %d outside the %d-byte text", rf.at, len(data))
		}
		b = &Builder{t: rf.t}
		err = resumeGeneral(context.Background(), bytes.NewReader(data[rf.at:]), b, rf.bare, rf.at)
	case ferr != errFallback:
		t.Fatalf("fast path error %v, want errFallback", ferr)
	default:
		err = parseGeneral(context.Background(), bytes.NewReader(data), b)
	}
	tr = b.Trace()
	tr.Bytes = int64(len(data))
	return tr, err, false, resumed
}

// sameResult fails t unless the two parses gave the same trace or the same
// error.
func sameResult(t *testing.T, want *Trace, werr error, got *Trace, gerr error) {
	t.Helper()
	switch {
	case (werr == nil) != (gerr == nil):
		t.Fatalf("general parser error %v, fast path then general parser error %v", werr, gerr)
	case werr != nil:
		if werr.Error() != gerr.Error() {
			t.Fatalf("errors differ:\n general             %v\n fast, then general  %v", werr, gerr)
		}
	case !reflect.DeepEqual(want, got):
		diffTraces(t, want, got)
		t.Fatal("traces differ")
	}
}

func TestFastMatchesGeneralOnSynthetic(t *testing.T) {
	cases := append(synthCases, struct {
		name string
		text string
		fast bool
	}{"big", bigKineto(), true})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data := []byte(tc.text)
			want, werr := loadBoth(t, tc.name+".json", data)
			if bad := strings.HasPrefix(tc.name, "bad-"); bad != (werr != nil) {
				t.Fatalf("general parser: err = %v; the case is meant to be %s", werr, map[bool]string{true: "invalid", false: "valid"}[bad])
			}
			loadBoth(t, tc.name+".json.gz", gzipBytes(t, data))
			if werr == nil {
				want.Path = "p"
			}
			gen := NewBuilder("p")
			gerr := parseGeneral(context.Background(), bytes.NewReader(data), gen)
			gen.t.Bytes = int64(len(data))
			for _, blk := range []int{fastBlock, 4096, 97, 1} {
				for _, workers := range []int{1, 2, 3} {
					got, err, whole, _ := fastThenGeneral(t, data, workers, blk)
					if !whole && tc.fast && werr == nil && blk == fastBlock {
						t.Errorf("the fast path gave up on a text it should read (workers %d)", workers)
					}
					if whole && werr != nil {
						t.Fatalf("fast path accepted a text the general parser rejects (%v)", werr)
					}
					sameResult(t, gen.t, gerr, got, err)
				}
			}
		})
	}
}

// TestSafeParseRecovers checks that a scanner panic becomes a failed chunk
// (here provoked with a nil Builder), not a crash.
func TestSafeParseRecovers(t *testing.T) {
	var sc eventScanner
	st, _, p := safeParse(&sc, &fastChunk{data: []byte(`{"ph": "X"}]`), first: true}, nil)
	if st != chunkBad || p == nil {
		t.Fatalf("status %d, panic %v; want chunkBad and the panic", st, p)
	}
}

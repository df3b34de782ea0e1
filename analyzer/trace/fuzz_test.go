package trace

import (
	"bytes"
	"context"
	"testing"
)

// FuzzLoad feeds arbitrary text to both parsers: neither may panic, the fast
// path may only accept text the general parser accepts, and the fast path
// followed by the general parser from where it gave up (as Load does) gives
// the general parser's trace or its very error. The block size varies with the input so
// that chunk boundaries fall everywhere.
func FuzzLoad(f *testing.F) {
	for _, tc := range synthCases {
		f.Add([]byte(tc.text), uint8(0))
	}
	f.Add(kinetoText(40), uint8(13))
	// Kineto's flow events, start and end, which are only validated.
	f.Add([]byte("{\"traceEvents\": [\n  {\n    \"ph\": \"s\", \"id\": 1, \"pid\": 4242, \"tid\": 4242, \"ts\": 1700000000000027.000,\n    \"cat\": \"ac2g\", \"name\": \"ac2g\"\n  },\n  {\n    \"ph\": \"f\", \"id\": 1, \"pid\": 0, \"tid\": 7, \"ts\": 1700000000000032.000,\n    \"cat\": \"ac2g\", \"name\": \"ac2g\", \"bp\": \"e\"\n  }\n]}"), uint8(0))
	// Kineto's head with an escaped name, a string pid and a duplicate ph:
	// each must leave the literal head path for the member loop.
	f.Add([]byte("{\"traceEvents\": [\n  {\n    \"ph\": \"X\", \"cat\": \"kernel\", \"name\": \"k\\u0031\", \"pid\": 0, \"tid\": 7,\n    \"ts\": 1.5, \"dur\": 2, \"ph\": \"i\",\n    \"args\": {\"stream\": 7}\n  },\n  {\n    \"ph\": \"X\", \"cat\": \"kernel\", \"name\": \"k\", \"pid\": \"0\", \"tid\": 7,\n    \"ts\": 2, \"dur\": 1\n  }\n]}"), uint8(0))
	f.Add([]byte("[\n  {\"ph\": \"X\"},\n  {\"ph\": \"M\"}\n]"), uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, blk uint8) {
		b := NewBuilder("p")
		gerr := parseGeneral(context.Background(), bytes.NewReader(data), b)
		want := b.Trace()
		want.Bytes = int64(len(data))
		block := fastBlock
		if blk != 0 {
			block = 8 + int(blk)
		}
		got, ferr, whole, _ := fastThenGeneral(t, data, 2, block)
		if whole && gerr != nil {
			t.Fatalf("fast path accepted text the general parser rejects: %v", gerr)
		}
		sameResult(t, want, gerr, got, ferr)
	})
}

package overlap

// TEST HELPER ONLY: a minimal Kineto reader so the tests can run the overlap
// analysis on real traces before the engine's loader is wired in. It keeps
// GPU activities (cat kernel, gpu_memcpy, gpu_memset) with their stream
// ("device:stream") and ts/dur converted from µs to ns. The engine's loader
// replaces it; nothing outside the tests uses it.

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
)

type testEvent struct {
	Ph   string          `json:"ph"`
	Cat  string          `json:"cat"`
	Name string          `json:"name"`
	Pid  json.RawMessage `json:"pid"`
	Ts   json.Number     `json:"ts"`
	Dur  json.Number     `json:"dur"`
	Args struct {
		Stream json.RawMessage `json:"stream"`
		Device json.RawMessage `json:"device"`
	} `json:"args"`
}

// loadTestKernels reads the GPU activities of a .json or .json.gz trace.
func loadTestKernels(t testing.TB, path string) []Kernel {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	var r io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			t.Fatalf("gunzip %s: %v", path, err)
		}
		defer zr.Close()
		r = zr
	}
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	var events []testEvent
	if trimmed := bytes.TrimSpace(data); len(trimmed) > 0 && trimmed[0] == '[' {
		err = json.Unmarshal(trimmed, &events)
	} else {
		var doc struct {
			TraceEvents []testEvent `json:"traceEvents"`
		}
		err = json.Unmarshal(data, &doc)
		events = doc.TraceEvents
	}
	if err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	var ks []Kernel
	for _, e := range events {
		cat := strings.ToLower(e.Cat)
		if e.Ph != "X" || (cat != "kernel" && cat != "gpu_memcpy" && cat != "gpu_memset") {
			continue
		}
		ts, dur := usToNS(t, e.Ts), usToNS(t, e.Dur)
		dev := rawText(e.Args.Device)
		if dev == "" {
			dev = rawText(e.Pid)
		}
		ks = append(ks, Kernel{Name: testCanonicalName(e.Name), Stream: dev + ":" + rawText(e.Args.Stream), Start: ts, End: ts + dur})
	}
	return ks
}

// rawText renders a JSON scalar without quotes.
func rawText(m json.RawMessage) string {
	s := string(bytes.TrimSpace(m))
	if u, err := strconv.Unquote(s); err == nil {
		return u
	}
	return s
}

// usToNS converts a decimal microsecond count to integer nanoseconds
// exactly (no float rounding for plain decimals).
func usToNS(t testing.TB, n json.Number) int64 {
	s := string(n)
	if s == "" {
		return 0
	}
	if !strings.ContainsAny(s, "eE") {
		neg := strings.HasPrefix(s, "-")
		s = strings.TrimPrefix(s, "-")
		whole, frac, _ := strings.Cut(s, ".")
		frac = (frac + "000")[:3]
		w, err1 := strconv.ParseInt(whole, 10, 64)
		f, err2 := strconv.ParseInt(frac, 10, 64)
		if err1 == nil && err2 == nil {
			v := w*1000 + f
			if neg {
				v = -v
			}
			return v
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("bad time %q: %v", s, err)
	}
	return int64(math.Round(v * 1000))
}

// testCanonicalName strips the parameter list of "void name<...>(...)"
// kernel names, as the engine's canonical names do (spec §5), so that
// families group the same way. (Whitespace and 0x-address rewriting are
// left to the engine.)
func testCanonicalName(name string) string {
	if !strings.HasPrefix(name, "void ") || !strings.HasSuffix(name, ")") {
		return name
	}
	depth := 0
	for i := len(name) - 1; i >= 0; i-- {
		switch name[i] {
		case ')':
			depth++
		case '(':
			if depth--; depth == 0 {
				return name[:i]
			}
		}
	}
	return name
}

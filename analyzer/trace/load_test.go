package trace

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracetriage/tracetriage/internal/testutil"
)

func TestLoadSharedTraces(t *testing.T) {
	dir := testutil.SharedDir(t)
	paths, _ := filepath.Glob(filepath.Join(dir, "traces", "*", "*.json*"))
	if len(paths) < 20 {
		t.Fatalf("expected the 22 shared traces, found %d", len(paths))
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			if st, err := os.Stat(p); err == nil && testing.Short() && st.Size() > 1<<20 {
				t.Skip("large trace skipped in -short mode (the race-detector run)")
			}
			tr, err := Load(context.Background(), p, Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("events=%d kernels=%d launches=%d ops=%d frames=%d ann=%d malformed=%d bytes=%d",
				tr.Events, len(tr.Kernels), len(tr.Launches), len(tr.CPUOps), len(tr.Frames), len(tr.Annotations), tr.Malformed, tr.Bytes)
			if tr.Events == 0 {
				t.Fatal("no events")
			}
			if !strings.Contains(p, "cpu_only") && len(tr.Kernels) == 0 {
				t.Fatal("no kernels")
			}
		})
	}
}

// The real CUDA capture trace in testdata: one stream capture, whose begin
// and end the Builder keeps, around 202 kernel launches that never ran;
// both parsers see the same.
func TestLoadCaptureMarks(t *testing.T) {
	path := filepath.Join("..", "..", "testdata", "torch-cudagraph-capture.json.gz")
	for _, general := range []bool{false, true} {
		tr, err := Load(context.Background(), path, Options{General: general})
		if err != nil {
			t.Fatal(err)
		}
		if len(tr.Captures) != 2 || !tr.Captures[0].Begin || tr.Captures[1].Begin || tr.Captures[0].TS >= tr.Captures[1].TS {
			t.Fatalf("general=%v: capture marks %+v, want a begin then an end", general, tr.Captures)
		}
		ran := map[int64]bool{}
		for _, k := range tr.Kernels {
			ran[k.Correlation] = true
		}
		inside := 0
		for _, ln := range tr.Launches {
			if ln.TS > tr.Captures[0].TS && ln.TS < tr.Captures[1].TS && !ran[ln.Correlation] {
				inside++
			}
		}
		if inside != 202 {
			t.Errorf("general=%v: %d launches inside the capture, want 202", general, inside)
		}
	}
}

func TestNearestModulo(t *testing.T) {
	const g4 = int64(1) << 32
	for _, c := range []struct {
		v    int64
		est  float64
		want int64
	}{
		{1000, 1100, 1000},                 // the trailer's size is right
		{205 << 20, 4.4e9, 205<<20 + g4},   // 4.5 GB of JSON: wrapped once
		{205 << 20, 9.0e9, 205<<20 + 2*g4}, // wrapped twice
		{3 << 30, 1.0e9, 3 << 30},          // a poor estimate never goes below the trailer's size
		{100 << 20, 2.1e9, 100<<20 + 0*g4}, // nearer to 100 MB than to 4.1 GB
		{100 << 20, 2.4e9, 100<<20 + 1*g4}, // nearer to 4.1 GB
	} {
		if got := nearestModulo(c.v, c.est, g4); got != c.want {
			t.Errorf("nearestModulo(%d, %.3g) = %d, want %d", c.v, c.est, got, c.want)
		}
	}
}

// TestJSONSizeEstimate checks the size the loader presizes its slices for:
// a plain file's size, and for gzip the size the trailer records.
func TestJSONSizeEstimate(t *testing.T) {
	data := kinetoText(3000)
	for _, gz := range []bool{false, true} {
		d, name := data, "p.json"
		if gz {
			d, name = gzipBytes(t, data), "p.json.gz"
		}
		src, err := Open(writeTemp(t, name, d), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		if _, err := io.CopyN(io.Discard, src, int64(len(data))/3); err != nil {
			t.Fatal(err)
		}
		want := int64(len(d))
		if gz {
			want = int64(len(data))
		}
		if got := src.jsonSizeEstimate(); got != want {
			t.Errorf("%s: estimate %d, want %d", name, got, want)
		}
	}
}

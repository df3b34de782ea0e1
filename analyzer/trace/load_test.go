package trace

import (
	"context"
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

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

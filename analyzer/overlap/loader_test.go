package overlap

import (
	"context"
	"strconv"
	"testing"

	"github.com/tracetriage/tracetriage/analyzer/trace"
)

// loadTestKernels reads the GPU activities of a trace with the engine's
// loader, keyed by stream as "device:stream" (the device is the GPU
// process id Kineto writes).
func loadTestKernels(t testing.TB, path string) []Kernel {
	t.Helper()
	tr, err := trace.Load(context.Background(), path, trace.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ks := make([]Kernel, 0, len(tr.Kernels))
	for _, k := range tr.Kernels {
		stream := ""
		if k.Stream != trace.NoID {
			stream = strconv.FormatInt(k.Stream, 10)
		}
		ks = append(ks, Kernel{
			Name:   trace.CanonicalKernelName(tr.S(k.Name)),
			Stream: tr.S(k.PID) + ":" + stream,
			Start:  k.TS,
			End:    k.End(),
		})
	}
	return ks
}

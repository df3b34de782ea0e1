package analyzer

import (
	"context"
	"errors"
)

// Options selects what Analyze reads and how.
type Options struct {
	// Input is a trace file or profile directory (single-trace mode).
	Input string
	// MappingInput and FormalInput select two-trace mode: the mapping trace
	// (graphs off, readable launch stacks) supplies Python locations for the
	// formal trace (real serving configuration), which supplies the timings.
	MappingInput, FormalInput string
	// Framework is "auto" (or ""), "sglang", "vllm" or "trtllm".
	Framework string
	// FuseCatalog is an optional YAML file of fusion patterns that extends
	// or overrides the embedded catalogue.
	FuseCatalog string
	// Progress, when set, is called now and then while traces load with the
	// bytes read so far and the total (0 when unknown).
	Progress func(done, total int64)
}

// ErrNotImplemented is returned by engine parts that are not built yet.
var ErrNotImplemented = errors.New("analysis engine not built yet")

// Analyze loads the traces that opts name and returns the analysis document.
// It stops early with ctx.Err() when ctx is cancelled.
func Analyze(ctx context.Context, opts Options) (*Document, error) {
	return nil, ErrNotImplemented
}

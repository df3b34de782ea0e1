package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/klauspost/compress/gzip"

	"github.com/tracetriage/tracetriage/tracegen"
)

// runGen writes a synthetic trace:
//
//	tracetriage gen --framework sglang|vllm|trtllm [--stage decode|extend]
//	    [--size 100MB | --steps N] [--layers N] [--seed N]
//	    [--gzip-level 1-9] --output FILE[.gz] [--truth FILE]
func runGen(ctx context.Context, args []string, io stdio) error {
	fs := newFlagSet("gen", io)
	framework := fs.String("framework", "sglang", "engine whose trace shape to write: sglang, vllm or trtllm")
	stage := fs.String("stage", "decode", "serving stage: decode or extend")
	size := fs.String("size", "", "approximate size of the JSON text, e.g. 100MB or 1GB (default: --steps steps)")
	steps := fs.Int("steps", 3, "number of steps when --size is not given")
	layers := fs.Int("layers", 4, "transformer layers per step")
	seed := fs.Uint64("seed", 1, "random seed for kernel durations")
	output := fs.String("output", "", "file to write; a name ending in .gz is gzipped (required)")
	truthPath := fs.String("truth", "", "also write the ground truth (kernel totals and launch sites) as JSON here")
	gzipLevel := fs.Int("gzip-level", 1, "gzip level for a .gz output: 1 writes fastest; 9 is what PyTorch's profiler writes, and gunzips fastest")
	if err := parseFlags(fs, args); err != nil {
		return liveHelp(fs, io, err, "tracetriage gen [--framework sglang|vllm|trtllm] [--stage decode|extend] [--size 100MB | --steps N] [--layers N] [--seed N] [--gzip-level 1-9] --output FILE[.gz] [--truth FILE]")
	}
	switch {
	case fs.NArg() > 0:
		return usagef("unexpected argument %q", fs.Arg(0))
	case *output == "":
		return usagef("--output is required (a .json or .json.gz file name)")
	case *steps < 1:
		return usagef("--steps %d: pass 1 or more", *steps)
	case *layers < 1:
		return usagef("--layers %d: pass 1 or more", *layers)
	case *gzipLevel < 1 || *gzipLevel > 9:
		return usagef("--gzip-level %d: pass 1 (fastest) to 9 (smallest)", *gzipLevel)
	}
	if st, err := os.Stat(*output); err == nil && st.IsDir() {
		return usagef("--output %s is a directory: name a file in it, such as %s", *output, filepath.Join(*output, "trace.json.gz"))
	}
	opts := tracegen.Options{Framework: *framework, Stage: *stage, Steps: *steps, Layers: *layers, Seed: *seed}
	if *size != "" {
		n, err := tracegen.ParseSize(*size)
		if err != nil {
			return usagef("--size: %v", err)
		}
		opts.TargetBytes = n
	}
	truth, err := writeTrace(ctx, *output, opts, *gzipLevel)
	if errors.Is(err, tracegen.ErrOptions) {
		return usagef("%v", err)
	}
	if err != nil {
		return err
	}
	if *truthPath != "" {
		data, _ := json.MarshalIndent(truth, "", "  ")
		if err := liveWriteFile(*truthPath, append(data, '\n'), 0o644); err != nil {
			return fmt.Errorf("--truth: %w", err)
		}
	}
	fmt.Fprintf(io.err, "wrote %s: %d events, %d steps, %.1f MB of JSON\n", *output, truth.Events, truth.Steps, float64(truth.Bytes)/1e6)
	return nil
}

// writeTrace writes to a temporary file beside path (gzipped at gzipLevel
// when path ends in .gz) and renames it into place, so an interrupted run never leaves a truncated trace behind. It
// stops at the first write after ctx is cancelled (Ctrl-C).
func writeTrace(ctx context.Context, path string, opts tracegen.Options, gzipLevel int) (*tracegen.Truth, error) {
	if err := os.MkdirAll(dirOf(path), 0o755); err != nil {
		return nil, fmt.Errorf("create the directory of %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(dirOf(path), ".tracegen-*")
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	var w io.Writer = tmp
	var gz *gzip.Writer
	if strings.HasSuffix(strings.ToLower(path), ".gz") {
		if gz, err = gzip.NewWriterLevel(tmp, gzipLevel); err != nil {
			return nil, fmt.Errorf("write %s: %w", path, err)
		}
		w = gz
	}
	w = ctxWriter{ctx, w}
	truth, err := tracegen.Write(w, opts)
	if err == nil && gz != nil {
		err = gz.Close()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("interrupted: %s not written", path)
	}
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	return truth, nil
}

func dirOf(path string) string {
	if i := strings.LastIndexAny(path, `/\`); i >= 0 {
		return path[:i+1]
	}
	return "."
}

// ctxWriter fails every write once its context is done, so a long
// generation stops on Ctrl-C instead of running to the end.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

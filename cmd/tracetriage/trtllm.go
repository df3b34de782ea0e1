package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"

	"github.com/tracetriage/tracetriage/live"
)

// runTRTLLMOverride writes a patched copy of TensorRT-LLM's py_executor.py
// (with_stack=True on the torch profiler, trace written by rank 0 only) and
// prints the output path.
func runTRTLLMOverride(_ context.Context, args []string, io stdio) error {
	fs := newFlagSet("trtllm-override", io)
	source := fs.String("source", "", "TensorRT-LLM's tensorrt_llm/_torch/pyexecutor/py_executor.py (required)")
	output := fs.String("output", "", "where to write the patched copy (required; may equal --source)")
	if err := parseFlags(fs, args); err != nil {
		return liveHelp(fs, io, err, "tracetriage trtllm-override --source py_executor.py --output FILE")
	}
	switch {
	case fs.NArg() > 0:
		return usagef("unexpected argument %q: trtllm-override takes flags only", fs.Arg(0))
	case *source == "":
		return usagef("--source is required: the py_executor.py of your TensorRT-LLM install")
	case *output == "":
		return usagef("--output is required: where to write the patched py_executor.py")
	}
	src, err := readSource(*source)
	if err != nil {
		return err
	}
	patched, err := live.PatchTRTLLMExecutor(src)
	if err != nil {
		return fmt.Errorf("%s: %w", *source, err)
	}
	perm := os.FileMode(0o644)
	if st, err := os.Stat(*source); err == nil {
		perm = st.Mode().Perm()
	}
	if err := liveWriteFile(*output, patched, perm); err != nil {
		return err
	}
	if bytes.Equal(patched, src) {
		fmt.Fprintf(io.err, "tracetriage trtllm-override: %s was already patched; written unchanged\n", *source)
	}
	fmt.Fprintln(io.out, *output)
	return nil
}

// maxSourceBytes bounds --source: py_executor.py is a few hundred KB, and
// reading an arbitrary path (/dev/zero, a model file) must not exhaust
// memory.
const maxSourceBytes = 64 << 20

// readSource reads --source, refusing directories and oversized files.
func readSource(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read --source %s: %w", path, err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return nil, fmt.Errorf("--source %s is a directory: pass the py_executor.py file in tensorrt_llm/_torch/pyexecutor/", path)
	}
	src, err := io.ReadAll(io.LimitReader(f, maxSourceBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read --source %s: %w", path, err)
	}
	if len(src) > maxSourceBytes {
		return nil, fmt.Errorf("--source %s is larger than %d MiB: it is not a py_executor.py; pass TensorRT-LLM's tensorrt_llm/_torch/pyexecutor/py_executor.py", path, maxSourceBytes>>20)
	}
	return src, nil
}

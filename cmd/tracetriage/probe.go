package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/tracetriage/tracetriage/live"
)

// runProbe sends a few generations to a live server and prints the §13.2
// report as JSON on stdout (and into --output). It exits 0 even when
// requests fail: the report counts them; a one-line summary goes to stderr.
func runProbe(ctx context.Context, args []string, io stdio) error {
	fs := newFlagSet("probe", io)
	framework := fs.String("framework", "", "server framework: sglang, vllm or trtllm (required; auto asks the server)")
	url := fs.String("url", "", "server base URL, e.g. http://127.0.0.1:30000 (required)")
	model := fs.String("model", "", "model name for vLLM/TensorRT-LLM (default: the first of GET /v1/models)")
	requests := fs.Int("requests", live.DefaultProbeRequests, "number of requests")
	maxTokens := fs.Int("max-tokens", live.DefaultProbeMaxTokens, "maximum tokens per answer")
	var prompts liveStrings
	fs.Var(&prompts, "prompt", "prompt to send, repeatable; requests cycle through them (default: three built-in prompts)")
	concurrency := fs.Int("concurrency", 1, "requests in flight at once")
	timeout := liveDuration(live.DefaultProbeTimeout)
	fs.Var(&timeout, "timeout", "per-request timeout: a duration (90s, 3m) or seconds")
	output := fs.String("output", "", "also write the JSON report to this file")
	if err := parseFlags(fs, args); err != nil {
		return liveHelp(fs, io, err, "tracetriage probe --framework F --url URL [--requests N] [--max-tokens N] [--prompt P]... [--concurrency N] [--timeout D] [--output FILE]")
	}
	switch {
	case fs.NArg() > 0:
		return usagef("unexpected argument %q: probe takes flags only", fs.Arg(0))
	case *framework == "":
		return usagef("--framework is required: sglang, vllm or trtllm")
	case live.CanonicalFramework(*framework) == "":
		return usagef("--framework %q: use sglang, vllm or trtllm", *framework)
	case *url == "":
		return usagef("--url is required: the server's base URL, e.g. http://127.0.0.1:30000")
	case *requests < 1:
		return usagef("--requests %d: pass 1 or more", *requests)
	case *requests > live.MaxProbeRequests:
		return usagef("--requests %d: pass at most %d", *requests, live.MaxProbeRequests)
	case *maxTokens < 1:
		return usagef("--max-tokens %d: pass 1 or more", *maxTokens)
	case *concurrency < 1:
		return usagef("--concurrency %d: pass 1 or more", *concurrency)
	case timeout <= 0:
		return usagef("--timeout %s: pass a positive duration", time.Duration(timeout))
	}
	rep, err := live.Probe(ctx, live.ProbeOptions{
		Framework:   *framework,
		URL:         *url,
		Model:       *model,
		Requests:    *requests,
		MaxTokens:   *maxTokens,
		Prompts:     prompts,
		Timeout:     time.Duration(timeout),
		Concurrency: *concurrency,
	})
	if err != nil {
		return err
	}
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("encode the probe report: %w", err)
	}
	data = append(data, '\n')
	if _, err := io.out.Write(data); err != nil {
		return err
	}
	if *output != "" {
		if err := liveWriteFile(*output, data, 0o644); err != nil {
			return err
		}
	}
	summary := fmt.Sprintf("tracetriage probe: %d of %d requests succeeded", rep.Success, rep.Requests)
	if rep.Success > 0 {
		summary += fmt.Sprintf(", avg %.3fs, p95 %.3fs", rep.AvgLatencyS, rep.P95LatencyS)
		if !rep.AllNonEmpty && rep.Errors == 0 {
			summary += ", some answers were empty"
		}
	}
	if len(rep.ErrorSamples) > 0 {
		summary += "; first error: " + rep.ErrorSamples[0].Error
	}
	fmt.Fprintln(io.err, oneLine(summary))
	return nil
}

// liveWriteFile writes a file, creating its parent directories. A regular
// file is written to a temporary file beside it and renamed into place, so
// a failed write never leaves a truncated file (with trtllm-override
// --output may be --source itself); an existing file keeps its mode, and a
// symbolic link is followed. Other files (a terminal, /dev/null) are
// written directly.
func liveWriteFile(path string, data []byte, perm os.FileMode) error {
	target := path
	if st, err := os.Stat(path); err == nil {
		switch {
		case st.IsDir():
			return fmt.Errorf("write %s: it is a directory: name a file", path)
		case !st.Mode().IsRegular():
			if err := os.WriteFile(path, data, perm); err != nil {
				return fmt.Errorf("write %s: %w", path, err)
			}
			return nil
		}
		perm = st.Mode().Perm()
		if resolved, err := filepath.EvalSymlinks(path); err == nil {
			target = resolved
		}
	}
	dir := filepath.Dir(target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create the directory of %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(target)+".tmp-*")
	if errors.Is(err, fs.ErrPermission) {
		// A writable file in a read-only directory (a package installed
		// by another user) can still be rewritten in place.
		if _, serr := os.Stat(target); serr == nil {
			if err := os.WriteFile(target, data, perm); err != nil {
				return fmt.Errorf("write %s: %w", path, err)
			}
			return nil
		}
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), perm)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), target)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// liveHelp prints a command's usage when -h was asked, and passes other
// parse errors through.
func liveHelp(fs *flag.FlagSet, io stdio, err error, synopsis string) error {
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(io.out)
		fmt.Fprintf(io.out, "Usage: %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return err
}

// liveStrings is a repeatable string flag.
type liveStrings []string

func (s *liveStrings) String() string { return strings.Join(*s, ", ") }

func (s *liveStrings) Set(v string) error {
	*s = append(*s, v)
	return nil
}

// liveDuration is a duration flag that also takes plain seconds ("180").
type liveDuration time.Duration

func (d *liveDuration) String() string { return time.Duration(*d).String() }

func (d *liveDuration) Set(v string) error {
	if secs, err := strconv.ParseFloat(v, 64); err == nil && !math.IsNaN(secs) {
		if math.Abs(secs) > float64(math.MaxInt64/int64(time.Second)) {
			return fmt.Errorf("%q is too long: pass at most a few days", v)
		}
		*d = liveDuration(secs * float64(time.Second))
		return nil
	}
	x, err := time.ParseDuration(v)
	if err != nil {
		return fmt.Errorf("%q is neither a duration (30s, 2m) nor seconds", v)
	}
	*d = liveDuration(x)
	return nil
}

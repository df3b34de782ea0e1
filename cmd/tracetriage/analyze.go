package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/pprof"
	"time"

	"github.com/tracetriage/tracetriage/analyzer"
	"github.com/tracetriage/tracetriage/analyzer/trace"
	"github.com/tracetriage/tracetriage/render"
)

// analyzeUsage is the help text of "tracetriage analyze".
const analyzeUsage = `Usage: tracetriage analyze --input PATH [flags]
       tracetriage analyze --mapping-input PATH --formal-input PATH [flags]
       tracetriage analyze --url URL [flags]

Triage a PyTorch profiler (Kineto) trace: which GPU kernels take the time and
which Python line launched each one. PATH is a trace file (.json or .json.gz)
or a profile directory (the newest trace directory, rank 0, the newest file
per stage, server_args.json beside it).

Flags:
  --input PATH              trace file or profile directory (single-trace mode)
  --mapping-input PATH      graph-off trace whose Python stacks locate kernels
  --formal-input PATH       real serving trace that supplies the timings
  --framework NAME          auto (default), sglang, vllm or trtllm
  --format FORMAT           text (default), markdown or json
  --kernel-table-limit N    keep the first N kernel rows per stage (0 = all)
  --overlap-table-limit N   keep the first N overlap rows per stage (0 = all)
  --fuse-catalog FILE       extra fusion patterns (YAML)
  --timeline                ASCII timeline around the top overlap candidate
  --pid-substring S         overlap analysis only: the busiest GPU process
                            whose pid contains S (the kernel table ignores it)
  --partial                 analyse a trace file that ends early (cut short
                            while written or copied): its complete events,
                            with a warning, instead of failing
  --cpuprofile FILE         write a Go CPU profile of the analysis to FILE
                            (for performance reports; scripts/pgo.sh uses it)

Live capture (profile a running server, then analyse its trace):
  --url URL                 single-trace mode: SGLang, vLLM or TensorRT-LLM server
  --mapping-url URL, --formal-url URL
                            two-trace mode from live servers
  --output-dir DIR          where the server writes traces (vLLM: its
                            torch_profiler_dir; TensorRT-LLM: TLLM_TORCH_PROFILE_TRACE)
  --num-steps N, --probe-requests N, --probe-prompt TEXT, --probe-max-new-tokens N,
  --probe-delay D, --profile-prefix P, --profile-by-stage auto|on|off,
  --merge-profiles, --start-step N, --request-timeout D, --trace-timeout D
                            see docs/live.md

Exit status: 0 success, 1 the analysis failed, 2 bad command line.`

// progressThreshold: traces at least this large report loading progress
// on stderr even when stderr is not a terminal.
const progressThreshold = 256 << 20

func runAnalyze(ctx context.Context, args []string, io stdio) error {
	fs := newFlagSet("analyze", io)
	var (
		input     = fs.String("input", "", "trace file or profile directory")
		mapping   = fs.String("mapping-input", "", "mapping trace (graphs off)")
		formal    = fs.String("formal-input", "", "formal trace (real serving)")
		framework = fs.String("framework", "auto", "auto, sglang, vllm or trtllm")
		format    = fs.String("format", "text", "text, markdown or json")
		kLimit    = fs.Int("kernel-table-limit", 0, "kernel rows per stage (0 = all)")
		oLimit    = fs.Int("overlap-table-limit", 0, "overlap rows per stage (0 = all)")
		fuseCat   = fs.String("fuse-catalog", "", "extra fusion patterns (YAML)")
		timeline  = fs.Bool("timeline", false, "ASCII timeline around the top overlap candidate")
		pidSub    = fs.String("pid-substring", "", "overlap analysis: the busiest GPU process whose id contains this")
		partial   = fs.Bool("partial", false, "analyse the complete events of a trace file that ends early")
		cpuProf   = fs.String("cpuprofile", "", "write a Go CPU profile of the analysis to this file")
	)
	capture := addCaptureFlags(fs)
	fs.Usage = func() {} // -h prints analyzeUsage to stdout; errors are one line
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(io.out, analyzeUsage)
		}
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q: pass the trace with --input", fs.Arg(0))
	}
	switch *format {
	case "text", "markdown", "json":
	default:
		return usagef("--format %q: use text, markdown or json", *format)
	}
	if *kLimit < 0 || *oLimit < 0 {
		return usagef("table limits must be 0 (all rows) or positive")
	}
	if _, err := analyzer.CanonicalFramework(*framework); err != nil {
		return usagef("--framework: %v", err)
	}
	single := *input != "" || capture.url != ""
	two := *mapping != "" || *formal != "" || capture.mappingURL != "" || capture.formalURL != ""
	switch {
	case single && two:
		return usagef("use either single-trace mode (--input or --url) or two-trace mode (--mapping-input/--mapping-url with --formal-input/--formal-url), not both")
	case *input != "" && capture.url != "":
		return usagef("use either --input or --url, not both")
	case !single && !two:
		return usagef("no trace given: pass --input PATH (a trace file or profile directory) or --url of a live server")
	case two && (*mapping != "") == (capture.mappingURL != ""):
		return usagef("two-trace mode needs exactly one of --mapping-input or --mapping-url")
	case two && (*formal != "") == (capture.formalURL != ""):
		return usagef("two-trace mode needs exactly one of --formal-input or --formal-url")
	}
	for _, c := range []struct {
		role, url string
		dst       *string
	}{{"", capture.url, input}, {"mapping", capture.mappingURL, mapping}, {"formal", capture.formalURL, formal}} {
		if c.url == "" {
			continue
		}
		path, err := capture.capture(ctx, c.role, c.url, io)
		if err != nil {
			return err
		}
		*c.dst = path
	}

	opts := analyzer.Options{
		Input: *input, MappingInput: *mapping, FormalInput: *formal,
		Framework: *framework, FuseCatalog: *fuseCat,
		OverlapTableLimit: *oLimit, Timeline: *timeline, PIDSubstring: *pidSub, Partial: *partial,
	}
	prog := newProgress(io.err, *input, *mapping, *formal)
	if prog != nil {
		opts.Progress = prog.report
	}
	stopProfile, err := startCPUProfile(*cpuProf)
	if err != nil {
		return err
	}
	doc, err := analyzer.Analyze(ctx, opts)
	if perr := stopProfile(); err == nil && perr != nil {
		err = perr
	}
	if prog != nil {
		prog.done()
	}
	if err != nil {
		if errors.Is(err, analyzer.ErrBadOptions) || errors.Is(err, analyzer.ErrBadFramework) {
			return usagef("%v", err)
		}
		if errors.Is(err, trace.ErrTruncated) {
			return fmt.Errorf("%w; pass --partial to analyse the events before the cut", err)
		}
		return err
	}
	if *format == "json" {
		enc := json.NewEncoder(io.out)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(doc)
	}
	f := render.TriageFormatText
	if *format == "markdown" {
		f = render.TriageFormatMarkdown
	}
	return render.Triage(io.out, doc, render.TriageOptions{Format: f, KernelTableLimit: *kLimit})
}

// startCPUProfile starts writing a CPU profile to path (nothing when path
// is empty) and returns the function that stops it and closes the file.
func startCPUProfile(path string) (stop func() error, err error) {
	if path == "" {
		return func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpuprofile %s: %w", path, err)
	}
	return func() error {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			return fmt.Errorf("--cpuprofile %s: %w", path, err)
		}
		return nil
	}, nil
}

// progress prints how much of a trace has been read, on one rewritten
// line for a terminal and as occasional plain lines otherwise.
type progress struct {
	w          io.Writer
	terminal   bool
	last       time.Time
	lastDecile int64
	printed    bool
}

// newProgress returns a progress reporter when stderr is a terminal or an
// input file is large; nil otherwise.
func newProgress(w io.Writer, paths ...string) *progress {
	terminal := false
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			terminal = true
		}
	}
	large := false
	for _, p := range paths {
		if p != "" && traceBytes(p) >= progressThreshold {
			large = true
		}
	}
	if !terminal && !large {
		return nil
	}
	return &progress{w: w, terminal: terminal, lastDecile: -1}
}

// traceBytes is the size of a trace file, or of the trace files under a
// profile directory.
func traceBytes(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	if !st.IsDir() {
		return st.Size()
	}
	var n int64
	filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && trace.NameLooksLikeTrace(d.Name()) {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

func (p *progress) report(done, total int64) {
	now := time.Now()
	pct := int64(-1)
	if total > 0 {
		pct = done * 100 / total
	}
	if p.terminal {
		if now.Sub(p.last) < 200*time.Millisecond && pct != 100 {
			return
		}
		p.last = now
		if pct >= 0 {
			fmt.Fprintf(p.w, "\rloading trace: %d of %d MB (%d%%)   ", done>>20, total>>20, pct)
		} else {
			fmt.Fprintf(p.w, "\rloading trace: %d MB   ", done>>20)
		}
		p.printed = true
		return
	}
	if pct < 0 || pct/10 == p.lastDecile {
		return
	}
	p.lastDecile = pct / 10
	fmt.Fprintf(p.w, "loading trace: %d of %d MB (%d%%)\n", done>>20, total>>20, pct)
}

func (p *progress) done() {
	if p.terminal && p.printed {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"

	"github.com/tracetriage/tracetriage/analyzer"
	"github.com/tracetriage/tracetriage/analyzer/trace"
	"github.com/tracetriage/tracetriage/render"
)

// compareUsage is the help text of "tracetriage compare".
const compareUsage = `Usage: tracetriage compare --before PATH --after PATH [flags]

Compare a trace captured before a change with one captured after it, per
stage: the total GPU time, the share of the span the GPU sat idle waiting
for the host to launch work (what CUDA graphs or an overlapping scheduler
change, which kernel times do not show), the kernels whose GPU time
changed most, and the kernels that are new (a fused kernel) or vanished
(the kernels it replaced). Kernels are matched by canonical name. PATH is a
trace file (.json or .json.gz) or a profile directory, as for analyze.

Flags:
  --before PATH      trace or profile directory captured before the change
  --after PATH       trace or profile directory captured after it
  --framework NAME   auto (default), sglang, vllm or trtllm
  --stage NAME       only this stage: extend, decode or all
  --top-k N          kernels listed per list and stage (default 15)
  --format FORMAT    text (default) or json
  --partial          analyse traces that end early (their complete events)

Exit status: 0 success, 1 an analysis failed, 2 bad command line.`

func runCompare(ctx context.Context, args []string, io stdio) error {
	fs := newFlagSet("compare", io)
	var (
		before    = fs.String("before", "", "trace or profile directory before the change")
		after     = fs.String("after", "", "trace or profile directory after the change")
		framework = fs.String("framework", "auto", "auto, sglang, vllm or trtllm")
		stage     = fs.String("stage", "", "extend, decode or all (default: every stage)")
		topK      = fs.Int("top-k", 15, "kernels per list and stage")
		format    = fs.String("format", "text", "text or json")
		partial   = fs.Bool("partial", false, "analyse traces that end early")
	)
	fs.Usage = func() {}
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(io.out, compareUsage)
		}
		return err
	}
	switch {
	case fs.NArg() > 0:
		return usagef("unexpected argument %q: pass the traces with --before and --after", fs.Arg(0))
	case *before == "" || *after == "":
		return usagef("give both --before and --after: the traces (or profile directories) to compare")
	case *format != "text" && *format != "json":
		return usagef("--format %q: use text or json", *format)
	case *topK <= 0:
		return usagef("--top-k must be positive")
	case *stage != "" && *stage != analyzer.StageExtend && *stage != analyzer.StageDecode && *stage != analyzer.StageAll:
		return usagef("--stage %q: use extend, decode or all", *stage)
	}
	if _, err := analyzer.CanonicalFramework(*framework); err != nil {
		return usagef("--framework: %v", err)
	}
	docs := make([]*analyzer.Document, 2)
	for i, path := range []string{*before, *after} {
		opts := analyzer.Options{Input: path, Framework: *framework, Partial: *partial}
		prog := newProgress(io.err, path)
		if prog != nil {
			opts.Progress = prog.report
		}
		doc, err := analyzer.Analyze(ctx, opts)
		if prog != nil {
			prog.done()
		}
		if errors.Is(err, trace.ErrTruncated) {
			return fmt.Errorf("%w; pass --partial to analyse the events before the cut", err)
		}
		if err != nil {
			return err
		}
		docs[i] = doc
	}
	c := analyzer.Compare(docs[0], docs[1], *stage, *topK)
	c.Before, c.After = *before, *after
	if len(c.Stages) == 0 && *stage != "" {
		return fmt.Errorf("compare: neither %s nor %s has the %s stage", *before, *after, *stage)
	}
	if *format == "json" {
		enc := json.NewEncoder(io.out)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(c)
	}
	return render.Comparison(io.out, c, 120)
}

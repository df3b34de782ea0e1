package main

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/tracetriage/tracetriage/render"
)

// runBundle merges saved analyses (text reports and JSON documents) into
// one Markdown document, on stdout or into --output.
func runBundle(_ context.Context, args []string, io stdio) error {
	return bundleMain(args, io, time.Now())
}

// bundleMain is runBundle with the clock passed in, for tests.
func bundleMain(args []string, io stdio, now time.Time) error {
	fs := newFlagSet("bundle", io)
	var roots, files liveStrings
	fs.Var(&roots, "analysis-root", "directory searched recursively for analysis*.txt and analysis*.json (repeatable)")
	fs.Var(&files, "analysis-file", "[LABEL=]PATH of one analysis (repeatable; the label defaults to its directory's name)")
	title := fs.String("title", render.BundleDefaultTitle, "document title")
	output := fs.String("output", "", "write the bundle to this file (default: stdout); prints its path")
	noTOC := fs.Bool("no-toc", false, "leave out the table of contents")
	fs.BoolVar(noTOC, "no-include-toc", false, "same as --no-toc")
	if err := parseFlags(fs, args); err != nil {
		return liveHelp(fs, io, err, "tracetriage bundle --analysis-root DIR | --analysis-file [LABEL=]PATH ... [--title T] [--output FILE] [--no-toc]")
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q: name analyses with --analysis-file or --analysis-root", fs.Arg(0))
	}
	if len(roots) == 0 && len(files) == 0 {
		return usagef("nothing to bundle: pass --analysis-root DIR or --analysis-file [LABEL=]PATH")
	}
	opts := render.BundleOptions{Title: *title, Roots: roots, NoTOC: *noTOC, Now: now}
	for _, f := range files {
		opts.Files = append(opts.Files, render.BundleParseFileArg(f))
	}
	var b bytes.Buffer
	if err := render.Bundle(&b, opts); err != nil {
		return err
	}
	if *output == "" {
		_, err := io.out.Write(b.Bytes())
		return err
	}
	if err := liveWriteFile(*output, b.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintln(io.out, *output)
	return nil
}

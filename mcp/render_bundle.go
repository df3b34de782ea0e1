package mcp

import (
	"bytes"
	"context"
	"path"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/tracetriage/tracetriage/render"
)

// RenderBundleInput is the input of render_bundle.
type RenderBundleInput struct {
	AnalysisRoots []string `json:"analysis_roots,omitempty" jsonschema:"directories searched recursively for analysis*.txt (saved text reports) and analysis*.json (tracetriage JSON documents); each analysis is labelled by its directory"`
	AnalysisFiles []string `json:"analysis_files,omitempty" jsonschema:"more analyses, each [LABEL=]PATH of a saved text report or a JSON analysis document"`
	Title         string   `json:"title,omitempty" jsonschema:"document title (default: Unified LLM Torch Profiler Triage Bundle)"`
	NoTOC         bool     `json:"no_toc,omitempty" jsonschema:"leave out the table of contents"`
}

// RenderBundleOutput is the bundle.
type RenderBundleOutput struct {
	Markdown string `json:"markdown" jsonschema:"the bundle: one Markdown document, a section per model and framework"`
	Bytes    int    `json:"bytes"`
}

// RenderBundle is the render_bundle tool: one Markdown document merging
// saved analyses (text reports or JSON documents).
func RenderBundle(s *Server) (mcp.Tool, server.ToolHandlerFunc) {
	tool := mcp.NewTool("render_bundle",
		mcp.WithToolTitle("Bundle analyses into one Markdown document"),
		mcp.WithDescription("Merge saved analyses - tracetriage JSON documents (tracetriage analyze --format json) or saved Triage View text reports - into one Markdown document with a section per model and framework, to compare runs or share them. Files must lie under the allowed roots."),
		mcp.WithInputSchema[RenderBundleInput](),
		mcp.WithOutputSchema[RenderBundleOutput](),
		readOnlyLocal("Bundle analyses into one Markdown document"),
	)
	return tool, handler(s, "render_bundle", func(ctx context.Context, _ mcp.CallToolRequest, in RenderBundleInput) (RenderBundleOutput, string, error) {
		var out RenderBundleOutput
		if len(in.AnalysisRoots)+len(in.AnalysisFiles) == 0 {
			return out, "", userErrorf("give analysis_roots (directories holding analysis*.json or analysis*.txt) or analysis_files ([LABEL=]PATH)")
		}
		opts := render.BundleOptions{Title: in.Title, NoTOC: in.NoTOC}
		for _, r := range in.AnalysisRoots {
			p, err := s.roots.resolve(ctx, r, "analysis_roots entry")
			if err != nil {
				return out, "", err
			}
			// The bundle reads every analysis*.txt and analysis*.json below.
			if err := s.roots.checkTree(ctx, p, "analysis_roots entry", func(rel string) bool {
				base := path.Base(rel)
				return strings.HasPrefix(base, "analysis") && (strings.HasSuffix(base, ".txt") || strings.HasSuffix(base, ".json"))
			}); err != nil {
				return out, "", err
			}
			opts.Roots = append(opts.Roots, p)
		}
		for _, arg := range in.AnalysisFiles {
			f, err := s.bundleFile(ctx, arg)
			if err != nil {
				return out, "", err
			}
			opts.Files = append(opts.Files, f)
		}
		var buf bytes.Buffer
		if err := s.deps.Bundle(&buf, opts); err != nil {
			return out, "", err
		}
		out.Markdown, out.Bytes = buf.String(), buf.Len()
		return out, out.Markdown, nil
	})
}

// bundleFile reads "[LABEL=]PATH" like the CLI and confines the path to
// the roots.
func (s *Server) bundleFile(ctx context.Context, arg string) (render.BundleFile, error) {
	// A path that resolves inside the roots as a whole wins over a label.
	if p, err := s.roots.resolve(ctx, arg, "analysis_files entry"); err == nil {
		return render.BundleFile{Path: p}, nil
	}
	label, path := "", arg
	if l, p, ok := strings.Cut(arg, "="); ok && l != "" && !strings.ContainsAny(l, `/\`) {
		label, path = l, p
	}
	p, err := s.roots.resolve(ctx, path, "analysis_files entry")
	if err != nil {
		return render.BundleFile{}, err
	}
	return render.BundleFile{Label: label, Path: p}, nil
}

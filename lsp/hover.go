package lsp

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"go.lsp.dev/protocol"
)

// maxHoverRows caps the kernel table of one hover.
const maxHoverRows = 12

// Hover shows, on a line that launched kernels, a Markdown table of them
// (name, category, GPU time, share of the stage, launches, stage), the CPU
// ops, the call stack, and the fusion and overlap findings on the line.
func (s *Server) Hover(_ context.Context, p *protocol.HoverParams) (*protocol.Hover, error) {
	snap := s.snapshot()
	key := snap.fileFor(p.TextDocument.URI)
	if key == "" {
		return nil, nil
	}
	li := snap.index.Line(key, int(p.Position.Line)+1)
	if li == nil {
		return nil, nil
	}
	md := hoverMarkdown(snap.index, li)
	line := p.Position.Line
	end := uint32(0)
	if text, ok := s.docText(p.TextDocument.URI); ok {
		if l, ok := lineText(text, int(line)); ok {
			end = utf16Len(l)
		}
	}
	return &protocol.Hover{
		Contents: &protocol.MarkupContent{Kind: protocol.MarkupKindMarkdown, Value: md},
		Range: &protocol.Range{
			Start: protocol.Position{Line: line},
			End:   protocol.Position{Line: line, Character: end},
		},
	}, nil
}

// hoverMarkdown renders what the index holds about one line.
func hoverMarkdown(ix *Index, li *LineInfo) string {
	var b strings.Builder
	gpu, share, kernels := li.Total()
	fmt.Fprintf(&b, "**tracetriage**: `%s:%d`", li.Path, li.Line)
	if li.Function != "" {
		fmt.Fprintf(&b, " in `%s`", li.Function)
	}
	b.WriteString("\n\n")
	if kernels > 0 {
		fmt.Fprintf(&b, "%s GPU time, %s of the %s stage, %d kernel%s.\n\n",
			formatTime(gpu), formatShare(share), ix.stage, kernels, plural(kernels))
	}
	if len(li.Launches) > 0 {
		b.WriteString("| Kernel | Category | GPU time | Share of stage | Launches | Stage |\n")
		b.WriteString("| --- | --- | ---: | ---: | ---: | --- |\n")
		for i, l := range li.Launches {
			if i == maxHoverRows {
				fmt.Fprintf(&b, "| … %d more | | | | | |\n", len(li.Launches)-maxHoverRows)
				break
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %d | %s |\n",
				cell(ix.kernelLabel(l.Kernel.Name, 90)), cell(l.Kernel.Category), formatTime(l.GPUTimeUS),
				formatShare(l.SharePct), l.Site.Launches, l.Stage)
		}
		b.WriteString("\n")
		var ops []string
		for _, l := range li.Launches {
			if op := l.Site.CPUOp; op != "" && !contains(ops, op) {
				ops = append(ops, op)
			}
		}
		if len(ops) > 0 {
			b.WriteString("**CPU op:** ")
			for i, op := range ops {
				if i > 0 {
					b.WriteString(", ")
				}
				fmt.Fprintf(&b, "`%s`", op)
			}
			b.WriteString("\n\n")
		}
		if stack := li.Launches[0].Site.Stack; len(stack) > 0 {
			b.WriteString("**Call stack** (outermost first):\n\n```text\n")
			for _, f := range stack {
				b.WriteString(strings.ReplaceAll(f, "```", "'''"))
				b.WriteString("\n")
			}
			b.WriteString("```\n\n")
		}
	}
	seen := map[string]bool{}
	for _, f := range li.Fuse {
		if seen[f.Row.Pattern] {
			continue
		}
		seen[f.Row.Pattern] = true
		label := "Fusion opportunity"
		if alreadyFused(f.Row) {
			label = "Fusion"
		}
		fmt.Fprintf(&b, "**%s:** %s (%s, %s of %s GPU time)", label, f.Row.Pattern,
			f.Row.Confidence, formatShare(f.Row.SharePct), f.Stage)
		if len(f.Row.CandidatePaths) > 0 {
			if alreadyFused(f.Row) {
				b.WriteString(". Fused path: ")
			} else {
				b.WriteString(". Candidate fused path: ")
			}
			for i, c := range f.Row.CandidatePaths {
				if i > 0 {
					b.WriteString(", ")
				}
				fmt.Fprintf(&b, "`%s`", c)
			}
		}
		b.WriteString(".")
		if f.Row.Rationale != "" {
			b.WriteString(" " + oneLine(f.Row.Rationale))
		}
		b.WriteString("\n\n")
	}
	for _, w := range li.HostWaits {
		fmt.Fprintf(&b, "**GPU waiting for the host:** before launches from this line the GPU sat idle %s in the %s stage (%s of its span, %d gap%s), waiting for the host to launch them.\n\n",
			formatTime(w.Site.IdleUS), w.Stage, formatShare(100*w.Site.IdleUS/max(w.SpanUS, 1e-9)), w.Site.Gaps, plural(w.Site.Gaps))
	}
	for _, o := range li.Overlap {
		fmt.Fprintf(&b, "**Overlap %s** (%s): `%s` takes %s of %s GPU time, %s exclusive, %s hidden; dependency risk %s: %s.\n\n",
			o.Row.Priority, o.Row.Verdict, ix.kernelLabel(o.Row.Kernel, 90), formatShare(o.Row.SharePct), o.Stage,
			formatShare(o.Row.ExclusivePct), formatShare(o.Row.HiddenPct), o.Row.DepRisk, o.Row.Recommendation)
	}
	if in := ix.doc.Inputs.Formal; len(in) > 0 {
		fmt.Fprintf(&b, "_Trace: %s_", filepath.Base(in[0]))
		if len(in) > 1 {
			fmt.Fprintf(&b, " _and %d more_", len(in)-1)
		}
		b.WriteString("\n")
	}
	return strings.TrimRight(b.String(), "\n") + "\n"
}

// cellEscaper escapes text for a Markdown table cell (a Replacer is safe
// for concurrent use and never changes).
var cellEscaper = strings.NewReplacer("|", "\\|", "\n", " ", "`", "'")

func cell(s string) string { return cellEscaper.Replace(s) }

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

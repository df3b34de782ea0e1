// The Triage View: the reference tool's report layout (header, Kernel,
// Overlap Opportunity and Fuse Opportunity tables), then the breakdown.

package render

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/tracetriage/tracetriage/analyzer"
	"github.com/tracetriage/tracetriage/analyzer/overlap"
)

// Triage View formats.
const (
	TriageFormatText     = "text"
	TriageFormatMarkdown = "markdown"
)

// TriageMinSharePct: Kernel Table rows under this share of their stage's
// GPU time are not printed (the JSON document keeps them).
const TriageMinSharePct = 1.0

// TriageOptions tunes the Triage View.
type TriageOptions struct {
	// Format is TriageFormatText (the reference tool's layout, the default) or
	// TriageFormatMarkdown (the same with Markdown headings).
	Format string
	// KernelTableLimit keeps the first N rows of each stage's Kernel Table
	// (by GPU time) before the 1 % cut; 0 keeps every row.
	KernelTableLimit int
}

// Triage writes the Triage View of doc (triage-behaviour.md §8.2, §11):
// header, Kernel Table, Overlap Opportunity Table, Fuse Opportunity Table.
func Triage(w io.Writer, doc *analyzer.Document, opts TriageOptions) error {
	if doc == nil {
		return fmt.Errorf("render: no document")
	}
	md := opts.Format == TriageFormatMarkdown
	if opts.Format != "" && opts.Format != TriageFormatText && !md {
		return fmt.Errorf("render: unknown format %q (text or markdown)", opts.Format)
	}
	var lines []string
	add := func(s ...string) { lines = append(lines, s...) }
	heading := func(level int, s string) string {
		if md {
			return strings.Repeat("#", level) + " " + s
		}
		return s
	}
	field := func(s string) string {
		if md {
			return "- " + s
		}
		return s
	}

	add(heading(1, "Triage View"))
	add(field("Mode: " + doc.Mode))
	if fw := doc.Frameworks; fw != nil {
		add(field("Mapping framework: " + analyzer.FrameworkDisplayName(fw.Mapping)))
		add(field("Formal framework: " + analyzer.FrameworkDisplayName(fw.Formal)))
	} else {
		add(field("Framework: " + analyzer.FrameworkDisplayName(doc.Framework)))
	}
	if doc.Mode == analyzer.ModeTwo {
		add(field("Mapping traces: " + strings.Join(doc.Inputs.Mapping, ", ")))
		add(field("Formal traces: " + strings.Join(doc.Inputs.Formal, ", ")))
	} else {
		add(field("Input traces: " + strings.Join(doc.Inputs.Formal, ", ")))
	}
	if doc.Model != "" {
		add(field("Model: " + doc.Model))
	}

	add("", heading(2, "Kernel Table"))
	add(triageSections(doc, md, func(st analyzer.Stage) []string { return triageKernelRows(st, opts.KernelTableLimit) },
		triageKernelHeader, triageKernelEmpty)...)

	add("", heading(2, "Overlap Opportunity Table"))
	if !analyzer.OverlapAnalysis {
		add("Not analysed: the overlap analysis is not part of this build yet, so no overlap rows are reported.")
	} else {
		add(triageSections(doc, md, triageOverlapRows, triageOverlapHeader, triageOverlapEmpty)...)
	}

	add("", heading(2, "Fuse Opportunity Table"))
	if !analyzer.FuseAnalysis {
		add("Not analysed: the fusion catalogue is not part of this build yet, so no fusion rows are reported.")
	} else {
		add(triageSections(doc, md, triageFuseRows, triageFuseHeader, triageFuseEmpty)...)
	}

	// Beyond the reference's three tables: where the GPU time goes over
	// time, and the timeline around the top overlap row when asked for.
	add(triageBreakdown(doc, md, heading)...)
	add(triageTimelines(doc, md, heading)...)

	if len(doc.Warnings) > 0 {
		add("")
		add(heading(2, "Warnings"))
		for _, w := range doc.Warnings {
			add("- " + triageOneLine(w))
		}
	}

	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	bw := bufio.NewWriter(w)
	for _, l := range lines {
		bw.WriteString(strings.TrimRight(l, " \t"))
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

var (
	triageKernelHeader = []string{
		"| Kernel | Category | GPU time | Share | Launches | Python location (site share) | CPU op |",
		"| --- | --- | ---: | ---: | ---: | --- | --- |",
	}
	triageKernelEmpty   = "| No kernel rows at or above 1.0% share. | - | - | - | - | - | - |"
	triageOverlapHeader = []string{
		"| Priority | Verdict | Kernel | Python scope | Formal signal | Dep risk | Recommendation |",
		"| --- | --- | --- | --- | --- | --- | --- |",
	}
	triageOverlapEmpty = "| - | - | No rows cleared the 1.0% reporting bar. | - | - | - | - |"
	triageFuseHeader   = []string{
		"| Pattern | Confidence | Related GPU time | Share | Evidence kernels | Current kernel Python location | Candidate fused Python path | Rationale |",
		"| --- | --- | ---: | ---: | --- | --- | --- | --- |",
	}
	triageFuseEmpty = "| No medium-confidence source-backed fusion opportunity matched this trace. | - | - | - | - | - | - | - |"
)

// triageSections renders one table per stage that has rows (one bare table
// when every such stage is "all"), or the placeholder table.
func triageSections(doc *analyzer.Document, md bool, rows func(analyzer.Stage) []string, header []string, empty string) []string {
	type section struct {
		stage string
		rows  []string
	}
	var secs []section
	allOnly := true
	for _, st := range doc.Stages {
		r := rows(st)
		if len(r) == 0 {
			continue
		}
		secs = append(secs, section{st.Stage, r})
		if st.Stage != analyzer.StageAll {
			allOnly = false
		}
	}
	var out []string
	if len(secs) == 0 {
		out = append(out, header...)
		return append(out, empty)
	}
	for i, s := range secs {
		if !allOnly {
			if i > 0 {
				out = append(out, "")
			}
			out = append(out, triageStageHeading(md, s.stage))
		}
		out = append(out, header...)
		out = append(out, s.rows...)
	}
	return out
}

// triageCell escapes a table cell: '|' becomes '\|', a newline becomes <br>.
func triageCell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	s = strings.ReplaceAll(s, "\r\n", "<br>")
	return strings.ReplaceAll(s, "\n", "<br>")
}

func triageOneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func triageRow(cells ...string) string {
	for i, c := range cells {
		cells[i] = triageCell(c)
	}
	return "| " + strings.Join(cells, " | ") + " |"
}

// triageKernelRows renders a stage's Kernel Table rows: the first limit rows
// (all when 0), then those at or above 1 % share.
func triageKernelRows(st analyzer.Stage, limit int) []string {
	ks := st.Kernels
	if limit > 0 && len(ks) > limit {
		ks = ks[:limit]
	}
	var out []string
	for _, k := range ks {
		if k.SharePct < TriageMinSharePct {
			continue
		}
		loc, ops := SiteSummary(k.Sites)
		out = append(out, triageRow(k.Name, k.Category, TriageMillis(k.GPUTimeUS),
			fmt.Sprintf("%.1f%%", k.SharePct), fmt.Sprint(k.Launches), loc, ops))
	}
	return out
}

// TriageMillis formats a GPU time cell: "%.2f ms" as the reference does,
// with a third decimal under 0.1 ms, where two decimals printed rows of up
// to 14 % share as "0.00 ms".
func TriageMillis(us float64) string {
	if us < 100 {
		return fmt.Sprintf("%.3f ms", us/1000)
	}
	return fmt.Sprintf("%.2f ms", us/1000)
}

// SiteSummary is the location and CPU-op cells of a kernel row
// (triage-behaviour.md §8.2): the first two sites in the document's order
// (most GPU time first) among those in framework code when there are any,
// else among all; each with its site share when there are several
// candidates; CPU ops of those sites without repeats. "unresolved" / "-"
// when there is no site.
func SiteSummary(sites []analyzer.Site) (location, cpuOps string) {
	var cands []analyzer.Site
	for _, s := range sites {
		if analyzer.PreferredPath(s.Path) {
			cands = append(cands, s)
		}
	}
	if len(cands) == 0 {
		cands = sites
	}
	if len(cands) == 0 {
		return "unresolved", "-"
	}
	shown := cands
	if len(shown) > 2 {
		shown = shown[:2]
	}
	var locs, ops []string
	for _, s := range shown {
		l := analyzer.SiteLocation(s)
		if len(cands) > 1 {
			l += fmt.Sprintf(" (site share %.0f%%)", s.SharePct)
		}
		locs = append(locs, l)
		if s.CPUOp != "" && (len(ops) == 0 || ops[len(ops)-1] != s.CPUOp) {
			ops = append(ops, s.CPUOp)
		}
	}
	if len(ops) == 0 {
		return strings.Join(locs, "<br>"), "-"
	}
	return strings.Join(locs, "<br>"), strings.Join(ops, "<br>")
}

// demangledNames maps the mangled names of a stage's kernel rows to their
// demangled names; nil when no row has one.
func demangledNames(st analyzer.Stage) map[string]string {
	var m map[string]string
	for _, k := range st.Kernels {
		if k.Demangled != "" {
			if m == nil {
				m = make(map[string]string)
			}
			m[k.Name] = k.Demangled
		}
	}
	return m
}

// readableKernel is a kernel's name as the Overlap and Fuse tables and the
// timeline heading print it: its row's demangled name when the trace names
// it by a mangled C++ symbol (docs/differences.md D14), else the name. The
// Kernel Table prints the raw name, as the reference does.
func readableKernel(demangled map[string]string, name string) string {
	if d := demangled[name]; d != "" {
		return d
	}
	return name
}

func triageOverlapRows(st analyzer.Stage) []string {
	var out []string
	dm := demangledNames(st)
	for _, o := range st.Overlap {
		if o.SharePct < TriageMinSharePct {
			continue
		}
		signal := fmt.Sprintf("%.1f us, share %.1f%%, excl %.1f%% / hid %.1f%%", o.GPUTimeUS, o.SharePct, o.ExclusivePct, o.HiddenPct)
		out = append(out, triageRow(o.Priority, o.Verdict, readableKernel(dm, o.Kernel), o.Scope, signal, o.DepRisk, o.Recommendation))
	}
	return out
}

// triageBreakdown renders each stage's temporal breakdown (busy, idle,
// compute, communication, memory, exposed communication).
func triageBreakdown(doc *analyzer.Document, md bool, heading func(int, string) string) []string {
	var out []string
	for _, st := range doc.Stages {
		if st.Breakdown == nil {
			continue
		}
		if len(out) == 0 {
			out = append(out, "", heading(2, "GPU Time Breakdown"))
		} else {
			out = append(out, "")
		}
		if len(doc.Stages) > 1 || st.Stage != analyzer.StageAll {
			out = append(out, triageStageHeading(md, st.Stage))
		}
		var b strings.Builder
		overlap.WriteBreakdownTable(&b, *st.Breakdown)
		out = append(out, strings.Split(strings.TrimRight(b.String(), "\n"), "\n")...)
	}
	return out
}

// triageTimelines renders the ASCII timeline of each stage that has one.
func triageTimelines(doc *analyzer.Document, md bool, heading func(int, string) string) []string {
	var out []string
	for _, st := range doc.Stages {
		if st.Timeline == nil {
			continue
		}
		if len(out) == 0 {
			out = append(out, "", heading(2, "Timeline"))
		} else {
			out = append(out, "")
		}
		dm := demangledNames(st)
		out = append(out, triageStageHeading(md, st.Stage)+" around "+readableKernel(dm, st.Timeline.CenterKernel))
		// The legend names mangled kernels by their demangled names, in
		// the short form of the editor hovers so that kernels differing in
		// their template arguments stay apart within its width; the
		// document keeps the names the trace records.
		v := *st.Timeline
		v.Legend = slices.Clone(v.Legend)
		for i := range v.Legend {
			if d := dm[v.Legend[i].Kernel]; d != "" {
				v.Legend[i].Kernel = analyzer.ShortKernelName(d)
			}
		}
		lines := strings.Split(strings.TrimRight(v.String(), "\n"), "\n")
		if md {
			out = append(out, "```")
			out = append(out, lines...)
			out = append(out, "```")
		} else {
			out = append(out, lines...)
		}
	}
	return out
}

func triageStageHeading(md bool, stage string) string {
	if md {
		return "### " + analyzer.StageLabel(stage)
	}
	return "##### " + analyzer.StageLabel(stage)
}

// triageFuseLocation writes a "path:line func" location the way the
// reference's fuse table does: "func @ path:line".
func triageFuseLocation(loc string) string {
	path, fn, ok := strings.Cut(loc, " ")
	if !ok || !strings.Contains(path, ":") {
		return loc
	}
	return fn + " @ " + path
}

func triageFuseRows(st analyzer.Stage) []string {
	var out []string
	dm := demangledNames(st)
	for _, f := range st.Fuse {
		var ev, locs []string
		for _, e := range f.Evidence {
			ev = append(ev, fmt.Sprintf("%s (%.1f%%)", readableKernel(dm, e.Kernel), e.SharePct))
		}
		for _, l := range f.CurrentLocations {
			locs = append(locs, triageFuseLocation(l))
		}
		out = append(out, triageRow(f.Pattern, f.Confidence, TriageMillis(f.GPUTimeUS),
			fmt.Sprintf("%.1f%%", f.SharePct), strings.Join(ev, "<br>"), strings.Join(locs, "<br>"),
			strings.Join(f.CandidatePaths, "<br>"), f.Rationale))
	}
	return out
}

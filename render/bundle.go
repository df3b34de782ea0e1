// Package render turns tracetriage analyses into text and Markdown for
// people to read.
package render

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/tracetriage/tracetriage/analyzer"
)

// BundleDefaultTitle is the bundle's title when none is given.
const BundleDefaultTitle = "Unified LLM Torch Profiler Triage Bundle"

// BundleOptions selects the analyses a bundle merges and how it looks.
type BundleOptions struct {
	// Title heads the document (BundleDefaultTitle when empty).
	Title string
	// Roots are searched recursively for analysis*.txt (saved text
	// reports) and analysis*.json (tracetriage JSON analysis documents);
	// each file's label is the name of the directory holding it.
	Roots []string
	// Files are more analyses, each with its label.
	Files []BundleFile
	// NoTOC leaves out the table of contents.
	NoTOC bool
	// Now is the generation time printed under the title (time.Now when
	// zero); tests fix it.
	Now time.Time
}

// BundleFile is one analysis to bundle: a saved Triage View text report or
// a tracetriage JSON analysis document, told apart by content.
type BundleFile struct {
	// Label groups analyses of the same model (typically the directory
	// name of a run); empty means the name of the directory holding Path.
	Label string
	// Path is the file.
	Path string
}

// BundleParseFileArg reads a "[LABEL=]PATH" command-line argument. An
// argument that names an existing file is a path even if it contains '=';
// otherwise text before the first '=' (without a path separator) is the
// label.
func BundleParseFileArg(arg string) BundleFile {
	if _, err := os.Stat(arg); err == nil {
		return BundleFile{Path: arg}
	}
	if label, path, ok := strings.Cut(arg, "="); ok && label != "" && !strings.ContainsAny(label, `/\`) {
		return BundleFile{Label: label, Path: path}
	}
	return BundleFile{Path: arg}
}

// bundleReport is one analysis ready to print.
type bundleReport struct {
	label     string
	path      string
	framework string // sglang, vllm, trtllm or other
	model     string
	markdown  string
}

// Bundle writes one Markdown document merging the analyses opts names: a
// title, the generation time, a table of contents, then per label (sorted
// by model name) a "## <model>" section holding each analysis under
// "### <framework>" (SGLang, vLLM, TensorRT-LLM, then others). Text reports
// keep their tables, with their section titles made Markdown headings;
// JSON analysis documents are rendered as the same tables. Missing files
// are listed in one error; so is the absence of any analysis.
func Bundle(w io.Writer, opts BundleOptions) error {
	files, err := bundleCollect(opts)
	if err != nil {
		return err
	}
	reports := make([]bundleReport, 0, len(files))
	for _, f := range files {
		r, err := bundleLoad(f)
		if err != nil {
			return err
		}
		reports = append(reports, r)
	}

	type group struct {
		label, display string
		reports        []bundleReport
	}
	byLabel := map[string]*group{}
	var groups []*group
	for _, r := range reports {
		g := byLabel[r.label]
		if g == nil {
			g = &group{label: r.label}
			byLabel[r.label] = g
			groups = append(groups, g)
		}
		g.reports = append(g.reports, r)
		if len(r.model) > len(g.display) {
			g.display = r.model
		}
	}
	for _, g := range groups {
		if g.display == "" {
			g.display = g.label
		}
		sort.SliceStable(g.reports, func(i, j int) bool {
			a, b := g.reports[i], g.reports[j]
			if oa, ob := bundleFrameworkOrder(a.framework), bundleFrameworkOrder(b.framework); oa != ob {
				return oa < ob
			}
			if na, nb := filepath.Base(a.path), filepath.Base(b.path); na != nb {
				return na < nb
			}
			return a.path < b.path
		})
	}
	sort.SliceStable(groups, func(i, j int) bool {
		a, b := groups[i], groups[j]
		if da, db := strings.ToLower(a.display), strings.ToLower(b.display); da != db {
			return da < db
		}
		return strings.ToLower(a.label) < strings.ToLower(b.label)
	})

	title := opts.Title
	if strings.TrimSpace(title) == "" {
		title = BundleDefaultTitle
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n_Generated on %s UTC_\n", bundleInline(title), now.UTC().Format("2006-01-02 15:04:05"))
	slugs := bundleSlugger{}
	slugs.slug(title)
	if !opts.NoTOC {
		slugs.slug("Contents")
	}
	anchors := make([]string, len(groups))
	for i, g := range groups {
		anchors[i] = slugs.slug(g.display)
	}
	if !opts.NoTOC {
		b.WriteString("\n## Contents\n\n")
		for i, g := range groups {
			fmt.Fprintf(&b, "- [%s](#%s)\n", bundleLinkText(g.display), anchors[i])
		}
	}
	for _, g := range groups {
		fmt.Fprintf(&b, "\n## %s\n\nModel id: %s\n", bundleInline(g.display), bundleCode(g.label))
		for _, r := range g.reports {
			fmt.Fprintf(&b, "\n### %s\n\nSource: %s\n\n%s\n", bundleFrameworkLabel(r.framework), bundleCode(r.path), r.markdown)
		}
	}
	_, err = io.WriteString(w, b.String())
	return err
}

// bundleCollect gathers the files of opts, reporting missing ones.
func bundleCollect(opts BundleOptions) ([]BundleFile, error) {
	var files, missing []string
	for _, root := range opts.Roots {
		st, err := os.Stat(root)
		if err != nil {
			return nil, fmt.Errorf("analysis root %s: %w (pass an existing directory to --analysis-root)", root, bundleShortErr(err))
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("analysis root %s is not a directory: pass a file with --analysis-file instead", root)
		}
		err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			name := d.Name()
			if !d.IsDir() && strings.HasPrefix(name, "analysis") &&
				(strings.HasSuffix(name, ".txt") || strings.HasSuffix(name, ".json")) {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("search %s for analyses: %w", root, err)
		}
	}
	sort.Strings(files)
	var out []BundleFile
	seen := map[string]bool{}
	for _, p := range files {
		if !seen[p] {
			seen[p] = true
			out = append(out, BundleFile{Path: p})
		}
	}
	for _, f := range opts.Files {
		if f.Path == "" {
			return nil, fmt.Errorf("analysis file with label %q names no file: write LABEL=PATH", f.Label)
		}
		st, err := os.Stat(f.Path)
		if err != nil {
			missing = append(missing, f.Path)
			continue
		}
		if st.IsDir() {
			return nil, fmt.Errorf("analysis file %s is a directory: pass it with --analysis-root to bundle the analyses under it", f.Path)
		}
		out = append(out, f)
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("missing analysis files: %s (check the paths)", strings.Join(missing, ", "))
	}
	if len(out) == 0 {
		where := ""
		if len(opts.Roots) > 0 {
			where = " under " + strings.Join(opts.Roots, ", ")
		}
		return nil, fmt.Errorf("no analysis files found%s: save reports as analysis*.txt or analysis*.json, or name them with --analysis-file", where)
	}
	for i := range out {
		if out[i].Label == "" {
			abs, err := filepath.Abs(out[i].Path)
			if err != nil {
				abs = out[i].Path
			}
			out[i].Label = filepath.Base(filepath.Dir(abs))
		}
	}
	return out, nil
}

// bundleShortErr drops the path an *fs.PathError repeats.
func bundleShortErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// MaxBundleFileBytes caps the size of each analysis file Bundle reads;
// larger files are refused rather than read into memory.
const MaxBundleFileBytes = 64 << 20

// readBundleFile reads path, refusing it when it holds more than limit
// bytes.
func readBundleFile(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tooLarge := fmt.Errorf("larger than the %d MiB limit: pass a report tracetriage wrote, not another file", limit>>20)
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() > limit {
		return nil, tooLarge
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, tooLarge
	}
	return data, nil
}

// bundleLoad reads one analysis and renders it as Markdown.
func bundleLoad(f BundleFile) (bundleReport, error) {
	data, err := readBundleFile(f.Path, MaxBundleFileBytes)
	if err != nil {
		return bundleReport{}, fmt.Errorf("read analysis %s: %w", f.Path, bundleShortErr(err))
	}
	r := bundleReport{label: f.Label, path: f.Path}
	if trimmed := bytes.TrimSpace(data); bytes.HasPrefix(trimmed, []byte("{")) {
		var doc analyzer.Document
		if err := json.Unmarshal(trimmed, &doc); err != nil {
			return r, fmt.Errorf("analysis %s looks like JSON but does not parse (%v): pass a tracetriage JSON document or a saved text report", f.Path, err)
		}
		switch {
		case doc.SchemaVersion == 0:
			return r, fmt.Errorf("analysis %s is JSON without schema_version: it is not a tracetriage analysis document", f.Path)
		case doc.SchemaVersion > analyzer.SchemaVersion:
			return r, fmt.Errorf("analysis %s has schema_version %d, newer than this tracetriage reads (%d): upgrade tracetriage",
				f.Path, doc.SchemaVersion, analyzer.SchemaVersion)
		}
		r.framework = bundleFrameworkKey(doc.Framework)
		if r.framework == "other" {
			r.framework = bundleFrameworkFromName(f.Path)
		}
		r.model = doc.Model
		r.markdown = bundleDocument(&doc)
		return r, nil
	}
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	r.model, r.framework = bundleTextFacts(text)
	if r.framework == "other" {
		r.framework = bundleFrameworkFromName(f.Path)
	}
	r.markdown = bundleText(text)
	return r, nil
}

// bundleSectionTitles are the section lines of a Triage View report.
var bundleSectionTitles = map[string]bool{
	"Triage View":               true,
	"Kernel Table":              true,
	"Overlap Opportunity Table": true,
	"Fuse Opportunity Table":    true,
}

// bundleText turns a saved text report into Markdown: section titles
// become "####" headings and the "Key: value" lines under "Triage View"
// become a list (as plain lines Markdown would run them together).
func bundleText(text string) string {
	text = strings.TrimRight(text, " \t\n")
	if strings.TrimSpace(text) == "" {
		return "_Empty analysis output._"
	}
	lines := strings.Split(text, "\n")
	inHeader := false
	for i, line := range lines {
		line = strings.TrimRight(line, " \t")
		lines[i] = line
		switch {
		case bundleSectionTitles[line]:
			lines[i] = "#### " + line
			inHeader = line == "Triage View"
			if i+1 < len(lines) && strings.TrimSpace(lines[i+1]) != "" && inHeader {
				lines[i] += "\n"
			}
		case inHeader && line != "" && !strings.HasPrefix(line, "|") && !strings.HasPrefix(line, "#"):
			lines[i] = "- " + line
		}
	}
	return strings.Join(lines, "\n")
}

// bundleTextFacts reads the model and framework a text report names.
func bundleTextFacts(text string) (model, framework string) {
	framework = "other"
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if v, ok := strings.CutPrefix(line, "Model: "); ok && len(strings.TrimSpace(v)) > len(model) {
			model = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(line, "Framework: "); ok && framework == "other" {
			framework = bundleFrameworkKey(v)
		}
		if v, ok := strings.CutPrefix(line, "Formal framework: "); ok && framework == "other" {
			framework = bundleFrameworkKey(v)
		}
	}
	return model, framework
}

// bundleFrameworkKey maps a framework name as reports print it.
func bundleFrameworkKey(s string) string {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "sglang":
		return "sglang"
	case "vllm":
		return "vllm"
	case "trtllm", "tensorrt-llm", "tensorrt_llm":
		return "trtllm"
	}
	return "other"
}

// bundleFrameworkFromName reads the framework from a file name the way the
// reference tool does: sglang, vllm, trtllm or tensorrt in the name.
func bundleFrameworkFromName(path string) string {
	name := strings.ToLower(filepath.Base(path))
	switch {
	case strings.Contains(name, "sglang"):
		return "sglang"
	case strings.Contains(name, "vllm"):
		return "vllm"
	case strings.Contains(name, "trtllm"), strings.Contains(name, "tensorrt"):
		return "trtllm"
	}
	return "other"
}

func bundleFrameworkOrder(k string) int {
	switch k {
	case "sglang":
		return 0
	case "vllm":
		return 1
	case "trtllm":
		return 2
	}
	return 3
}

func bundleFrameworkLabel(k string) string {
	switch k {
	case "sglang":
		return "SGLang"
	case "vllm":
		return "vLLM"
	case "trtllm":
		return "TensorRT-LLM"
	}
	return "Other"
}

// bundleSlugger makes heading anchors the way GitHub does: lower case,
// punctuation dropped, spaces to '-', and "-1", "-2", ... on repeats.
type bundleSlugger map[string]int

func (s bundleSlugger) slug(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	base := b.String()
	n, seen := s[base]
	s[base] = n + 1
	if !seen {
		return base
	}
	return fmt.Sprintf("%s-%d", base, n)
}

// bundleInline makes text safe on one Markdown line.
func bundleInline(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// bundleLinkText escapes the brackets of a link text.
func bundleLinkText(s string) string {
	return strings.NewReplacer("[", `\[`, "]", `\]`).Replace(bundleInline(s))
}

// bundleCode wraps s in a code span long enough for the backticks in it.
func bundleCode(s string) string {
	s = bundleInline(s)
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}

// bundleMinShare is the share (percent) under which rows are left out of
// the rendered tables, as in the text report.
const bundleMinShare = 1.0

// bundleDocument renders a JSON analysis document as the Markdown of a
// Triage View report: the facts as a list, then the kernel, overlap and fuse
// tables per stage.
func bundleDocument(doc *analyzer.Document) string {
	var b strings.Builder
	b.WriteString("#### Triage View\n\n")
	fmt.Fprintf(&b, "- Mode: %s\n", bundleInline(doc.Mode))
	fmt.Fprintf(&b, "- Framework: %s\n", bundleFrameworkDisplay(doc.Framework))
	if doc.Mode == "mapping-formal" {
		fmt.Fprintf(&b, "- Mapping traces: %s\n", bundleInline(strings.Join(doc.Inputs.Mapping, ", ")))
		fmt.Fprintf(&b, "- Formal traces: %s\n", bundleInline(strings.Join(doc.Inputs.Formal, ", ")))
	} else {
		fmt.Fprintf(&b, "- Input traces: %s\n", bundleInline(strings.Join(doc.Inputs.Formal, ", ")))
	}
	if doc.Model != "" {
		fmt.Fprintf(&b, "- Model: %s\n", bundleInline(doc.Model))
	}
	for _, w := range doc.Warnings {
		fmt.Fprintf(&b, "- Warning: %s\n", bundleInline(w))
	}

	b.WriteString("\n#### Kernel Table\n")
	bundleTables(&b, doc.Stages, bundleKernelSpec, func(st analyzer.Stage) [][]string {
		var rows [][]string
		for _, k := range st.Kernels {
			if k.SharePct < bundleMinShare {
				continue
			}
			loc, ops := bundleSites(k.Sites)
			rows = append(rows, []string{k.Name, k.Category, bundleMS(k.GPUTimeUS), bundlePct(k.SharePct),
				fmt.Sprint(k.Launches), loc, ops})
		}
		return rows
	})

	b.WriteString("\n#### Overlap Opportunity Table\n")
	overlap := bundleOverlapSpec
	if doc.Mode != "mapping-formal" {
		overlap.empty = bundleOverlapSingleEmpty
	}
	bundleTables(&b, doc.Stages, overlap, func(st analyzer.Stage) [][]string {
		var rows [][]string
		dm := demangledNames(st)
		for _, o := range st.Overlap {
			if o.SharePct < bundleMinShare {
				continue
			}
			signal := fmt.Sprintf("%.1f us, share %.1f%%, excl %.1f%% / hid %.1f%%", o.GPUTimeUS, o.SharePct, o.ExclusivePct, o.HiddenPct)
			rows = append(rows, []string{o.Priority, o.Verdict, readableKernel(dm, o.Kernel), bundleOr(o.Scope), signal, o.DepRisk, o.Recommendation})
		}
		return rows
	})

	b.WriteString("\n#### Fuse Opportunity Table\n")
	bundleTables(&b, doc.Stages, bundleFuseSpec, func(st analyzer.Stage) [][]string {
		var rows [][]string
		dm := demangledNames(st)
		for _, f := range st.Fuse {
			if f.SharePct < bundleMinShare {
				continue
			}
			var ev []string
			for _, e := range f.Evidence {
				if e.SharePct >= bundleMinShare && len(ev) < 3 {
					ev = append(ev, fmt.Sprintf("%s (%s)", readableKernel(dm, e.Kernel), bundlePct(e.SharePct)))
				}
			}
			locs := f.CurrentLocations
			if len(locs) > 4 {
				locs = locs[:4]
			}
			rows = append(rows, []string{f.Pattern, f.Confidence, bundleMS(f.GPUTimeUS), bundlePct(f.SharePct),
				bundleJoin(ev), bundleJoin(locs), bundleJoin(f.CandidatePaths), f.Rationale})
		}
		return rows
	})
	return strings.TrimRight(b.String(), "\n")
}

// bundleTableSpec is the header, alignment row and empty-table text of one
// of the three tables.
type bundleTableSpec struct {
	header, align []string
	empty         string
}

var (
	bundleKernelSpec = bundleTableSpec{
		header: []string{"Kernel", "Category", "GPU time", "Share", "Launches", "Python location (site share)", "CPU op"},
		align:  []string{"---", "---", "---:", "---:", "---:", "---", "---"},
		empty:  "No kernel rows at or above 1.0% share.",
	}
	bundleOverlapSpec = bundleTableSpec{
		header: []string{"Priority", "Verdict", "Kernel", "Python scope", "Formal signal", "Dep risk", "Recommendation"},
		align:  []string{"---", "---", "---", "---", "---", "---", "---"},
		empty:  "No rows cleared the 1.0% reporting bar.",
	}
	bundleFuseSpec = bundleTableSpec{
		header: []string{"Pattern", "Confidence", "Related GPU time", "Share", "Evidence kernels",
			"Current kernel Python location", "Candidate fused Python path", "Rationale"},
		align: []string{"---", "---", "---:", "---:", "---", "---", "---", "---"},
		empty: "No medium-confidence source-backed fusion opportunity matched this trace.",
	}
	// bundleOverlapSingleEmpty is the overlap table's row in single-trace
	// mode, where overlap is not analysed.
	bundleOverlapSingleEmpty = "No rows cleared the 1.0% reporting bar. Use mapping/formal mode for overlap attribution."
	bundleStageLabels        = map[string]string{"extend": "extend/prefill"}
)

// bundleTables writes one table per stage that has rows (under "#####
// <stage>" headings unless every such stage is "all"), or the empty table.
func bundleTables(b *strings.Builder, stages []analyzer.Stage, spec bundleTableSpec, rowsOf func(analyzer.Stage) [][]string) {
	type section struct {
		stage string
		rows  [][]string
	}
	var sections []section
	for _, st := range stages {
		if rows := rowsOf(st); len(rows) > 0 {
			sections = append(sections, section{st.Stage, rows})
		}
	}
	if len(sections) == 0 {
		row := make([]string, len(spec.header))
		row[0] = spec.empty
		for i := 1; i < len(row); i++ {
			row[i] = "-"
		}
		bundleTable(b, spec, [][]string{row})
		return
	}
	bare := true
	for _, s := range sections {
		bare = bare && s.stage == "all"
	}
	for i, s := range sections {
		if i > 0 {
			b.WriteString("\n")
		}
		if !bare {
			label := s.stage
			if l, ok := bundleStageLabels[label]; ok {
				label = l
			}
			fmt.Fprintf(b, "##### %s\n", label)
		}
		bundleTable(b, spec, s.rows)
	}
}

// bundleTable writes a Markdown table.
func bundleTable(b *strings.Builder, spec bundleTableSpec, rows [][]string) {
	fmt.Fprintf(b, "| %s |\n| %s |\n", strings.Join(spec.header, " | "), strings.Join(spec.align, " | "))
	for _, row := range rows {
		cells := make([]string, len(row))
		for i, c := range row {
			cells[i] = bundleCell(c)
		}
		fmt.Fprintf(b, "| %s |\n", strings.Join(cells, " | "))
	}
}

// bundleCell escapes a table cell: '|' and line breaks.
func bundleCell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	s = strings.ReplaceAll(s, "\r\n", "<br>")
	s = strings.ReplaceAll(s, "\n", "<br>")
	if s == "" {
		return "-"
	}
	return s
}

// bundleSites renders the first two launch sites of a kernel and their CPU
// ops, with each site's share when there is more than one.
func bundleSites(sites []analyzer.Site) (loc, ops string) {
	if len(sites) == 0 {
		return "unresolved", "-"
	}
	top := sites
	if len(top) > 2 {
		top = top[:2]
	}
	var locs, cpu []string
	for _, s := range top {
		l := "unresolved"
		if s.Path != "" {
			l = fmt.Sprintf("%s:%d", s.Path, s.Line)
			if s.Function != "" {
				l += " " + s.Function
			}
		}
		if len(sites) > 1 {
			l += fmt.Sprintf(" (site share %.0f%%)", s.SharePct)
		}
		locs = append(locs, l)
		if s.CPUOp != "" {
			cpu = append(cpu, s.CPUOp)
		}
	}
	return strings.Join(locs, "<br>"), bundleJoin(cpu)
}

func bundleJoin(items []string) string {
	if len(items) == 0 {
		return "-"
	}
	return strings.Join(items, "<br>")
}

func bundleOr(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}

func bundleMS(us float64) string { return fmt.Sprintf("%.2f ms", us/1000) }

func bundlePct(p float64) string { return fmt.Sprintf("%.1f%%", p) }

// bundleFrameworkDisplay prints a document's framework as reports do.
func bundleFrameworkDisplay(fw string) string {
	switch k := bundleFrameworkKey(fw); k {
	case "other":
		if fw == "" {
			return "unknown"
		}
		return fw
	default:
		return bundleFrameworkLabel(k)
	}
}

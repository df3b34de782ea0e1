package cirunners

import (
	"bytes"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/yuin/goldmark"
	gast "github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	east "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/text"
)

// DocClaim is one row of a suite→runner table in a Markdown doc.
type DocClaim struct {
	// File is the doc's path relative to the repository when it lies inside it.
	File string `json:"file"`
	// Line is the 1-based line of the table row.
	Line int `json:"line"`
	// Suite is the suite name the row documents.
	Suite string `json:"suite"`
	// Labels are the runner labels the row states (none for "—").
	Labels []string `json:"labels"`
	// Partitions is the raw text of a Partitions column, if the table has one.
	Partitions string `json:"partitions,omitempty"`
	// MaxParallel is the raw text of a max_parallel column, if any.
	MaxParallel string `json:"max_parallel,omitempty"`
	// Note is parenthesised or quoted text of the row, such as
	// "registered but not yet wired".
	Note string `json:"note,omitempty"`
	// NotWired is true when the row says the suite is registered only, not
	// wired, or disabled: no workflow is expected to run it.
	NotWired bool `json:"not_wired,omitempty"`
}

var (
	suiteNameRE = regexp.MustCompile(`^[A-Za-z0-9*][A-Za-z0-9._{},*-]*$`)
	labelRE     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]*$`)
	notWiredRE  = regexp.MustCompile(`(?i)registered only|not (yet )?wired|disabled|commented[ -]out`)
)

// parseDoc reads the suite→runner tables of one Markdown doc: every table
// whose header has a column containing "Suite" and a column containing
// "Runner". Rows whose suite is a pattern (stage-a-*, nightly-{1,2}-gpu)
// are skipped. It reports ErrNoTable when there is none.
func parseDoc(file string, src []byte) ([]DocClaim, error) {
	if !utf8.Valid(src) {
		return nil, &ParseError{File: file, Line: firstInvalidLine(src), Msg: "doc is not valid UTF-8 text"}
	}
	md := goldmark.New(goldmark.WithExtensions(extension.Table))
	root := md.Parser().Parse(text.NewReader(src))
	lines := newLineIndex(src)
	var claims []DocClaim
	tables := 0
	err := gast.Walk(root, func(n gast.Node, entering bool) (gast.WalkStatus, error) {
		if !entering {
			return gast.WalkContinue, nil
		}
		t, ok := n.(*east.Table)
		if !ok {
			return gast.WalkContinue, nil
		}
		cs, found, err := parseTable(file, src, lines, t)
		if err != nil {
			return gast.WalkStop, err
		}
		if found {
			tables++
			claims = append(claims, cs...)
		}
		return gast.WalkSkipChildren, nil
	})
	if err != nil {
		return nil, err
	}
	if tables == 0 {
		return nil, fmt.Errorf("%s: %w (need a Markdown table whose header has a Suite column and a Runner column)", file, ErrNoTable)
	}
	return claims, nil
}

type columns struct{ suite, runner, parts, maxPar int }

func parseTable(file string, src []byte, lines lineIndex, t *east.Table) ([]DocClaim, bool, error) {
	cols := columns{-1, -1, -1, -1}
	var header *east.TableHeader
	for c := t.FirstChild(); c != nil; c = c.NextSibling() {
		if h, ok := c.(*east.TableHeader); ok {
			header = h
		}
	}
	if header == nil {
		return nil, false, nil
	}
	i := 0
	for c := header.FirstChild(); c != nil; c, i = c.NextSibling(), i+1 {
		h := strings.ToLower(strings.TrimSpace(cellText(c, src)))
		switch {
		case cols.suite < 0 && strings.Contains(h, "suite") && !strings.Contains(h, "runner"):
			cols.suite = i
		case cols.runner < 0 && strings.Contains(h, "runner"):
			cols.runner = i
		case cols.parts < 0 && strings.HasPrefix(h, "partition"):
			cols.parts = i
		case cols.maxPar < 0 && strings.Contains(strings.NewReplacer("_", " ", "-", " ").Replace(h), "max parallel"):
			cols.maxPar = i
		}
	}
	if cols.suite < 0 || cols.runner < 0 {
		return nil, false, nil
	}
	ncols := header.ChildCount()
	var claims []DocClaim
	for r := header.NextSibling(); r != nil; r = r.NextSibling() {
		row, ok := r.(*east.TableRow)
		if !ok {
			continue
		}
		line := lines.lineOf(row.Pos())
		cells := make([]gast.Node, 0, ncols)
		for c := row.FirstChild(); c != nil; c = c.NextSibling() {
			if c.Lines().Len() == 0 {
				return nil, true, &ParseError{File: file, Line: line, Msg: fmt.Sprintf("table row has fewer cells than its header (%d columns)", ncols)}
			}
			cells = append(cells, c)
		}
		if extraCells(src, row, cells) {
			return nil, true, &ParseError{File: file, Line: line, Msg: fmt.Sprintf("table row has more cells than its header (%d columns)", ncols)}
		}
		cs, err := rowClaims(file, line, src, cells, cols)
		if err != nil {
			return nil, true, err
		}
		claims = append(claims, cs...)
	}
	return claims, true, nil
}

// extraCells reports whether the row's source line goes on past its last
// cell with more '|'-separated cells, which the GFM table parser drops.
func extraCells(src []byte, row *east.TableRow, cells []gast.Node) bool {
	if len(cells) == 0 {
		return false
	}
	last := cells[len(cells)-1].Lines()
	stop := last.At(last.Len() - 1).Stop
	end := bytes.IndexByte(src[stop:], '\n')
	if end < 0 {
		end = len(src) - stop
	}
	rest := strings.TrimSpace(string(src[stop : stop+end]))
	rest = strings.TrimPrefix(rest, "|")
	rest = strings.TrimSuffix(rest, "|")
	return strings.TrimSpace(rest) != ""
}

// rowClaims reads one table row: one claim per suite named in its Suite cell.
func rowClaims(file string, line int, src []byte, cells []gast.Node, cols columns) ([]DocClaim, error) {
	get := func(i int) string {
		if i < 0 || i >= len(cells) {
			return ""
		}
		return strings.TrimSpace(cellText(cells[i], src))
	}
	suiteCell := get(cols.suite)
	suiteMain, suiteNote := splitNotes(suiteCell)
	suites := splitOutsideBraces(suiteMain)
	if len(suites) == 0 {
		return nil, &ParseError{File: file, Line: line, Msg: "table row has an empty Suite cell"}
	}
	for _, s := range suites {
		if !suiteNameRE.MatchString(s) {
			return nil, &ParseError{File: file, Line: line, Msg: fmt.Sprintf("Suite cell %q holds %q, which is not a suite name", suiteCell, s)}
		}
	}
	runnerMain, runnerNote := splitNotes(get(cols.runner))
	c := DocClaim{
		File:        file,
		Line:        line,
		Labels:      labelsIn(runnerMain),
		Partitions:  get(cols.parts),
		MaxParallel: get(cols.maxPar),
	}
	var notes []string
	for _, n := range []string{suiteNote, runnerNote} {
		if n != "" {
			notes = append(notes, n)
		}
	}
	c.Note = strings.Join(notes, "; ")
	var all []string
	for i := range cells {
		all = append(all, get(i))
	}
	c.NotWired = notWiredRE.MatchString(strings.Join(all, " "))
	var out []DocClaim
	for _, s := range suites {
		if strings.ContainsAny(s, "*{") {
			continue // a pattern such as nightly-{1,2}-npu-a3 names no one suite
		}
		c.Suite = s
		out = append(out, c)
	}
	return out, nil
}

// splitOutsideBraces splits a Suite cell on spaces, commas and slashes
// that are not inside {...}, so nightly-{1,2}-gpu stays one word.
func splitOutsideBraces(s string) []string {
	var out []string
	var b strings.Builder
	depth := 0
	for _, r := range s {
		switch {
		case r == '{':
			depth++
		case r == '}' && depth > 0:
			depth--
		case depth == 0 && (r == ' ' || r == ',' || r == '/' || r == '\t'):
			if b.Len() > 0 {
				out = append(out, b.String())
			}
			b.Reset()
			continue
		}
		b.WriteRune(r)
	}
	if b.Len() > 0 {
		out = append(out, b.String())
	}
	return out
}

// labelsIn extracts runner labels from a Runner cell with notes removed:
// tokens separated by spaces, commas, slashes, "or" and "and" that contain
// a digit or a hyphen ("1-gpu-h100", "ubuntu-latest").
func labelsIn(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool {
		return r == ' ' || r == ',' || r == '/' || r == ';' || r == '\t' || r == '+' || r == '|'
	}) {
		f = strings.Trim(f, ".:*`")
		if !labelRE.MatchString(f) || !strings.ContainsAny(f, "-0123456789") {
			continue
		}
		out = appendUniq(out, f)
	}
	return out
}

// splitNotes separates the parenthesised and double-quoted parts of a cell
// from the rest: "4-gpu-b200 (\"split onto low-disk\")" gives
// "4-gpu-b200" and "split onto low-disk".
func splitNotes(s string) (main, notes string) {
	var m, n strings.Builder
	depth := 0
	inQuote := false
	for _, r := range s {
		switch {
		case r == '"' || r == '“' || r == '”':
			if depth == 0 {
				inQuote = !inQuote
				continue
			}
			n.WriteRune(r)
		case r == '(' && !inQuote:
			if depth > 0 {
				n.WriteRune(r)
			}
			depth++
		case r == ')' && !inQuote && depth > 0:
			depth--
			if depth > 0 {
				n.WriteRune(r)
			} else {
				n.WriteRune(' ')
			}
		case depth > 0 || inQuote:
			n.WriteRune(r)
		default:
			m.WriteRune(r)
		}
	}
	return strings.TrimSpace(m.String()), oneLine(strings.Trim(n.String(), " \"“”"))
}

// cellText flattens a table cell's inline content to plain text: code
// spans, emphasis and links keep their text, markup is dropped.
func cellText(n gast.Node, src []byte) string {
	var b strings.Builder
	_ = gast.Walk(n, func(c gast.Node, entering bool) (gast.WalkStatus, error) {
		if !entering {
			return gast.WalkContinue, nil
		}
		switch t := c.(type) {
		case *gast.Text:
			b.Write(t.Segment.Value(src))
			if t.SoftLineBreak() || t.HardLineBreak() {
				b.WriteByte(' ')
			}
		case *gast.String:
			b.Write(t.Value)
		case *gast.RawHTML:
			return gast.WalkSkipChildren, nil
		}
		return gast.WalkContinue, nil
	})
	return b.String()
}

// lineIndex maps byte offsets to 1-based line numbers.
type lineIndex []int

func newLineIndex(src []byte) lineIndex {
	idx := lineIndex{0}
	for i, c := range src {
		if c == '\n' {
			idx = append(idx, i+1)
		}
	}
	return idx
}

func (l lineIndex) lineOf(off int) int {
	return sort.Search(len(l), func(i int) bool { return l[i] > off })
}

func firstInvalidLine(src []byte) int {
	line := 1
	for len(src) > 0 {
		r, size := utf8.DecodeRune(src)
		if r == utf8.RuneError && size <= 1 {
			return line
		}
		if r == '\n' {
			line++
		}
		src = src[size:]
	}
	return line
}

func appendUniq(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

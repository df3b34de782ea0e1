package lsp

import (
	"strings"
)

// pyFunc is a Python function (or method) found by scanning indentation:
// the def line and the last line of its body, 0-based.
type pyFunc struct {
	name       string
	defLine    int
	nameStart  int // byte column of the name on the def line
	first, end int // body lines: defLine..end inclusive
	indent     int
}

// indentOf returns the indentation width of a line (tabs count 8) and
// whether the line holds code (not blank, not only a comment).
func indentOf(line string) (int, bool) {
	w := 0
	for i := 0; i < len(line); i++ {
		switch line[i] {
		case ' ':
			w++
		case '\t':
			w += 8 - w%8
		case '#', '\r':
			return w, false
		default:
			return w, true
		}
	}
	return w, false
}

// pyFunctions finds every def in the source by an indentation scan: a
// function's body runs until the next code line indented no deeper than the
// def. Good enough for editor decorations; it does not parse Python.
func pyFunctions(lines []string) []pyFunc {
	var out []pyFunc
	for i, l := range lines {
		ind, code := indentOf(l)
		if !code {
			continue
		}
		rest := strings.TrimLeft(l, " \t")
		after, ok := strings.CutPrefix(rest, "async ")
		if ok {
			rest = strings.TrimLeft(after, " \t")
		}
		name, ok := strings.CutPrefix(rest, "def ")
		if !ok {
			continue
		}
		name = strings.TrimLeft(name, " \t")
		end := strings.IndexAny(name, "( :")
		if end <= 0 {
			continue
		}
		name = name[:end]
		f := pyFunc{name: name, defLine: i, first: i, end: i, indent: ind}
		f.nameStart = strings.Index(l, name)
		// The body: every following line until code at indent <= ind. A
		// multi-line signature is indented deeper or bracketed, so it stays in.
		depth := bracketDelta(l)
		for j := i + 1; j < len(lines); j++ {
			jind, jcode := indentOf(lines[j])
			if jcode && depth <= 0 && jind <= ind {
				break
			}
			depth += bracketDelta(lines[j])
			if jcode {
				f.end = j
			}
		}
		out = append(out, f)
	}
	return out
}

// bracketDelta counts opening minus closing brackets on a line, ignoring
// strings and comments roughly (enough for a def signature).
func bracketDelta(l string) int {
	d := 0
	var quote byte
	for i := 0; i < len(l); i++ {
		c := l[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '#':
			return d
		case c == '(' || c == '[' || c == '{':
			d++
		case c == ')' || c == ']' || c == '}':
			d--
		}
	}
	return d
}

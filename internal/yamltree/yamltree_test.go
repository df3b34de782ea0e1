package yamltree

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
)

// dump renders a tree one node per line: kind, tag, value, line:column, with
// mapping keys and their positions; Block scalars are marked "|".
func dump(n *Node) string {
	var b strings.Builder
	var walk func(n *Node, indent string)
	walk = func(n *Node, indent string) {
		block := ""
		if n.Block {
			block = " |"
		}
		fmt.Fprintf(&b, "%s%v %s %q %d:%d%s\n", indent, n.Kind, n.Tag, n.Value, n.Line, n.Column, block)
		for _, p := range n.Pairs {
			fmt.Fprintf(&b, "%s  %q@%d:%d:\n", indent, p.Key, p.KeyNode.Line, p.KeyNode.Column)
			walk(p.Value, indent+"    ")
		}
		for _, it := range n.Items {
			walk(it, indent+"  - ")
		}
	}
	walk(n, "")
	return b.String()
}

func TestParseTree(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"empty", "", `null !!null "" 1:0` + "\n"},
		{"scalars and tags", "s: text\ni: 0x1F\nf: 1.5\nb: True\nn: ~\nq: !!str 5\nbig: 1e400\nyes: no\n", `
mapping !!map "" 1:1
  "s"@1:1:
    scalar !!str "text" 1:4
  "i"@2:1:
    scalar !!int "0x1F" 2:4
  "f"@3:1:
    scalar !!float "1.5" 3:4
  "b"@4:1:
    scalar !!bool "True" 4:4
  "n"@5:1:
    null !!null "" 5:4
  "q"@6:1:
    scalar !!str "5" 6:9
  "big"@7:1:
    scalar !!str "1e400" 7:6
  "yes"@8:1:
    scalar !!str "no" 8:6
`},
		{"block scalar and sequence", "run: |\n  a\n  b\nlist:\n  - x\n  - [y, z]\n", `
mapping !!map "" 1:1
  "run"@1:1:
    scalar !!str "a\nb\n" 1:6 |
  "list"@4:1:
    sequence !!seq "" 5:3
      - scalar !!str "x" 5:5
      - sequence !!seq "" 6:5
      -   - scalar !!str "y" 6:6
      -   - scalar !!str "z" 6:9
`},
		{"anchors and aliases", "a: &x {k: 1}\nb: *x\n", `
mapping !!map "" 1:1
  "a"@1:1:
    mapping !!map "" 1:8
      "k"@1:8:
        scalar !!int "1" 1:11
  "b"@2:1:
    mapping !!map "" 1:8
      "k"@1:8:
        scalar !!int "1" 1:11
`},
		// Explicit keys win over merged ones wherever they appear; among
		// merged mappings the first wins.
		{"merge keys", "base: &b {x: 1, y: 2}\nother: &o {y: 3, z: 4}\nm:\n  <<: [*b, *o]\n  x: 9\n", `
mapping !!map "" 1:1
  "base"@1:1:
    mapping !!map "" 1:11
      "x"@1:11:
        scalar !!int "1" 1:14
      "y"@1:17:
        scalar !!int "2" 1:20
  "other"@2:1:
    mapping !!map "" 2:12
      "y"@2:12:
        scalar !!int "3" 2:15
      "z"@2:18:
        scalar !!int "4" 2:21
  "m"@3:1:
    mapping !!map "" 4:3
      "x"@5:3:
        scalar !!int "9" 5:6
      "y"@1:17:
        scalar !!int "2" 1:20
      "z"@2:18:
        scalar !!int "4" 2:21
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := Parse("f.yaml", []byte(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := dump(n), strings.TrimPrefix(tt.want, "\n"); got != want {
				t.Errorf("tree:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestAccessors(t *testing.T) {
	n, err := Parse("f.yaml", []byte("i: 42\nh: 0x10\nu: 18446744073709551615\nf: 2.5\ninf: -.inf\nnan: .nan\nb: false\ns: '42'\nm: {k: v}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := n.Get("i").Int(); !ok || v != 42 {
		t.Errorf("i.Int() = %d, %v", v, ok)
	}
	if v, ok := n.Get("h").Int(); !ok || v != 16 {
		t.Errorf("h.Int() = %d, %v", v, ok)
	}
	if _, ok := n.Get("u").Int(); ok {
		t.Error("an integer above MaxInt64 gave an int64")
	}
	if v, ok := n.Get("i").Float(); !ok || v != 42 {
		t.Errorf("i.Float() = %g, %v", v, ok)
	}
	if _, ok := n.Get("f").Int(); ok {
		t.Error("2.5 gave an integer")
	}
	if v, ok := n.Get("f").Float(); !ok || v != 2.5 {
		t.Errorf("f.Float() = %g, %v", v, ok)
	}
	if v, ok := n.Get("inf").Float(); !ok || !math.IsInf(v, -1) {
		t.Errorf("inf.Float() = %g, %v", v, ok)
	}
	if v, ok := n.Get("nan").Float(); !ok || !math.IsNaN(v) {
		t.Errorf("nan.Float() = %g, %v", v, ok)
	}
	if v, ok := n.Get("b").Bool(); !ok || v {
		t.Errorf("b.Bool() = %v, %v", v, ok)
	}
	if _, ok := n.Get("s").Int(); ok {
		t.Error("a quoted '42' gave an integer")
	}
	if _, ok := n.Get("s").Bool(); ok {
		t.Error("a string gave a bool")
	}
	if got := n.Get("s").Str(); got != "42" {
		t.Errorf("s.Str() = %q", got)
	}
	if got := n.Get("m").Str(); got != "" {
		t.Errorf("mapping Str() = %q, want empty", got)
	}
	if got := n.Get("m").Get("k").Str(); got != "v" {
		t.Errorf("m.k = %q", got)
	}
	var none *Node
	if none.Get("x") != nil || none.Str() != "" || none.TextLine() != 0 {
		t.Error("nil node accessors misbehave")
	}
	if _, ok := none.Int(); ok {
		t.Error("nil node gave an integer")
	}
}

func TestTextLine(t *testing.T) {
	n, err := Parse("f.yaml", []byte("a: plain\nb: >\n  folded\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := n.Get("a").TextLine(); got != 1 {
		t.Errorf("plain scalar text line %d, want 1", got)
	}
	if got := n.Get("b").TextLine(); got != 3 {
		t.Errorf("block scalar text line %d, want 3", got)
	}
}

func TestParseErrors(t *testing.T) {
	deep := strings.Repeat("[", MaxDepth+5) + strings.Repeat("]", MaxDepth+5)
	var indented strings.Builder
	for i := range 1000 {
		indented.WriteString(strings.Repeat(" ", i) + "a:\n")
	}
	tests := []struct {
		name, src string
		opts      []Option
		want      string
		syntax    bool
	}{
		{"unclosed flow sequence", "a:\n  b: [x\n", nil, "f.yaml:2:6: invalid YAML: sequence end token ']' not found", true},
		{"bad indent", "a:\n  b: 1\n c: 2\n", nil, "f.yaml:3:2: invalid YAML:", true},
		{"duplicate key", "a: 1\na: 2\n", nil, `f.yaml:2:1: invalid YAML: mapping key "a" already defined at [1:1]`, true},
		{"alias to no anchor", "a: *nope\n", nil, "f.yaml:1:4: alias *nope refers to no anchor defined before it", false},
		{"alias before its anchor", "a: *x\nb: &x 1\n", nil, "f.yaml:1:4: alias *x refers to no anchor defined before it", false},
		{"nesting too deep", deep, nil, fmt.Sprintf("nested deeper than %d levels", MaxDepth), false},
		// Far too deep input is refused before the parser, whose time grows
		// with the square of the nesting.
		{"unclosed flow nesting", strings.Repeat("[", 100000), nil,
			fmt.Sprintf("f.yaml:1:%d: YAML nested deeper than %d levels", tokenDepthLimit+1, MaxDepth), false},
		{"quoted brackets do not hide nesting", strings.Repeat(`[ "]", `, 100000), nil,
			fmt.Sprintf("f.yaml:1:%d: YAML nested deeper than %d levels", 7*tokenDepthLimit+1, MaxDepth), false},
		{"indentation nesting", indented.String(), nil,
			fmt.Sprintf("f.yaml:%d:%d: YAML nested deeper than %d levels", tokenDepthLimit+1, tokenDepthLimit+2, MaxDepth), false},
		{"block sequence nesting", strings.Repeat("- ", 100000) + "x\n", nil,
			fmt.Sprintf("f.yaml:1:%d: YAML nested deeper than %d levels", 2*tokenDepthLimit+1, MaxDepth), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(tt.src), tt.opts...)
			var ye *Error
			if !errors.As(err, &ye) {
				t.Fatalf("error %T %v, want *Error", err, err)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.want) || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line containing %q", msg, tt.want)
			}
			if ye.Syntax != tt.syntax {
				t.Errorf("Syntax = %v, want %v", ye.Syntax, tt.syntax)
			}
			if ye.Line == 0 {
				t.Errorf("error %q has no line", msg)
			}
		})
	}
}

func TestAllowDuplicateKeys(t *testing.T) {
	n, err := Parse("f.yaml", []byte("a: 1\nb: 2\na: 3\n"), AllowDuplicateKeys())
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, p := range n.Pairs {
		keys = append(keys, fmt.Sprintf("%s@%d", p.Key, p.KeyNode.Line))
	}
	if got := strings.Join(keys, " "); got != "a@1 b@2 a@3" {
		t.Errorf("pairs %s, want both a entries in order", got)
	}
}

func TestMergeBudget(t *testing.T) {
	// A 1,000-key mapping merged into 2,000 mappings reads 2 million
	// entries: more than MaxMergedPairs.
	var b strings.Builder
	b.WriteString("base: &b {")
	for i := range 1000 {
		fmt.Fprintf(&b, "k%d: %d, ", i, i)
	}
	b.WriteString("}\nlist:\n")
	for range 2000 {
		b.WriteString("  - <<: *b\n")
	}
	_, err := Parse("f.yaml", []byte(b.String()))
	var ye *Error
	if !errors.As(err, &ye) || !strings.Contains(err.Error(), "merge keys copy more than") || ye.Line == 0 {
		t.Errorf("error %v: want the merge budget error with a line", err)
	}
}

func TestParseDocuments(t *testing.T) {
	tests := []struct {
		name, src string
		want      string // "line:root-kind" per document
	}{
		{"empty", "", ""},
		{"comments only", "# nothing\n\n# here\n", ""},
		{"one document", "a: 1\n", "1:mapping"},
		{"marker and body", "# head\n---\n- x\n", "2:sequence"},
		{"two documents", "a: 1\n---\nb: 2\n", "1:mapping 2:mapping"},
		{"marker only", "---\n", "1:none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs, err := ParseDocuments("f.yaml", []byte(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range docs {
				kind := "none"
				if d.Root != nil {
					kind = d.Root.Kind.String()
				}
				got = append(got, fmt.Sprintf("%d:%s", d.Line, kind))
			}
			if s := strings.Join(got, " "); s != tt.want {
				t.Errorf("documents %q, want %q", s, tt.want)
			}
		})
	}
	// Anchors belong to their document.
	if _, err := ParseDocuments("f.yaml", []byte("a: &x 1\n---\nb: *x\n")); err == nil ||
		!strings.Contains(err.Error(), "f.yaml:3:4: alias *x") {
		t.Errorf("error %v: want the alias in the second document rejected at 3:4", err)
	}
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		e    Error
		want string
	}{
		{Error{File: "f", Line: 3, Column: 4, Msg: "m"}, "f:3:4: m"},
		{Error{File: "f", Line: 3, Msg: "m", Syntax: true}, "f:3: invalid YAML: m"},
		{Error{File: "f", Msg: "m"}, "f: m"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

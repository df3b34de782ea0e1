package yamltree

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParse checks properties of Parse and ParseDocuments on arbitrary
// input: they never panic; a failure is a one-line *Error naming the file;
// a success is a tree whose nodes are well formed (fields match the kind,
// lines within the input, keys present).
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"a: 1\nb: [x, {y: z}]\n",
		"a: &x {k: v}\nb: *x\nc:\n  <<: *x\n  k: w\n",
		"run: |\n  echo hi\n---\nnext: doc\n",
		"? [a]\n: 1\n",
		"a: !!str 5\nb: .nan\nc: 0x1F\nd: True\n",
		"a: *nope\n",
		"[[[[",
		"\x00\xff: [",
		"- - - a\n  - b\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		// The parser also ends lines at a lone "\r": count both.
		lines := strings.Count(src, "\n") + strings.Count(src, "\r") + 1
		check := func(err error) {
			var ye *Error
			if !errors.As(err, &ye) {
				t.Fatalf("error %T %v is not an *Error", err, err)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "fuzz.yaml") || strings.Contains(msg, "\n") {
				t.Fatalf("error %q: want one line starting with the file name", msg)
			}
		}
		n, err := Parse("fuzz.yaml", []byte(src))
		if err != nil {
			check(err)
		} else {
			wellFormed(t, n, lines)
		}
		docs, err := ParseDocuments("fuzz.yaml", []byte(src), AllowDuplicateKeys())
		if err != nil {
			check(err)
			return
		}
		for _, d := range docs {
			if d.Line < 0 || d.Line > lines {
				t.Fatalf("document line %d outside 0..%d", d.Line, lines)
			}
			if d.Root != nil {
				wellFormed(t, d.Root, lines)
			}
		}
	})
}

// wellFormed walks every node once (aliases share nodes) and checks that
// its fields agree with its kind.
func wellFormed(t *testing.T, root *Node, lines int) {
	t.Helper()
	seen := map[*Node]bool{}
	var walk func(n *Node)
	walk = func(n *Node) {
		if n == nil {
			t.Fatal("nil node in the tree")
		}
		if seen[n] {
			return
		}
		seen[n] = true
		if n.Line < 0 || n.Line > lines || n.Column < 0 {
			t.Fatalf("node at %d:%d outside the input (%d lines)", n.Line, n.Column, lines)
		}
		switch n.Kind {
		case Null:
			if n.Tag != TagNull || n.Value != "" || n.Pairs != nil || n.Items != nil {
				t.Fatalf("malformed null %+v", n)
			}
		case Scalar:
			if n.Tag == TagMap || n.Tag == TagSeq || n.Tag == TagNull || n.Pairs != nil || n.Items != nil {
				t.Fatalf("malformed scalar %+v", n)
			}
		case Mapping:
			if n.Tag != TagMap || n.Items != nil {
				t.Fatalf("malformed mapping %+v", n)
			}
			for _, p := range n.Pairs {
				if p.KeyNode == nil || p.Value == nil {
					t.Fatalf("pair %q without key node or value", p.Key)
				}
				walk(p.Value)
			}
		case Sequence:
			if n.Tag != TagSeq || n.Pairs != nil {
				t.Fatalf("malformed sequence %+v", n)
			}
			for _, it := range n.Items {
				walk(it)
			}
		default:
			t.Fatalf("unknown kind %v", n.Kind)
		}
	}
	walk(root)
}

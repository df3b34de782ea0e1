package cirunners

import (
	"errors"
	"fmt"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// ykind is the shape of a YAML node after anchors, aliases and tags are
// resolved away.
type ykind int

const (
	yNull ykind = iota
	yScalar
	yMap
	ySeq
)

// ynode is the small, parser-independent YAML tree the workflow reader
// walks. Every node keeps the 1-based line it starts on.
type ynode struct {
	kind  ykind
	value string // scalar text (unquoted)
	line  int
	// block is true for a literal or folded block scalar (| or >): its
	// text starts on the line after line.
	block bool
	keys  []ykv
	items []*ynode
}

// ykv is one mapping entry, in source order.
type ykv struct {
	key     string
	keyLine int
	val     *ynode
}

// get returns the value of key in a mapping, or nil.
func (n *ynode) get(key string) *ynode {
	if n == nil || n.kind != yMap {
		return nil
	}
	for _, kv := range n.keys {
		if kv.key == key {
			return kv.val
		}
	}
	return nil
}

// str returns a scalar's text, or "" for anything else.
func (n *ynode) str() string {
	if n == nil || n.kind != yScalar {
		return ""
	}
	return n.value
}

// textLine returns the line the scalar's text starts on.
func (n *ynode) textLine() int {
	if n == nil {
		return 0
	}
	if n.block {
		return n.line + 1
	}
	return n.line
}

// maxYAMLDepth bounds nesting so that hostile input cannot exhaust the stack.
const maxYAMLDepth = 200

// parseYAML parses one YAML document. Syntax errors become a *ParseError
// carrying the file and the line and column the parser stopped at.
func parseYAML(file string, src []byte) (*ynode, error) {
	f, err := parseBytes(file, src)
	if err != nil {
		return nil, err
	}
	if len(f.Docs) == 0 || f.Docs[0] == nil || f.Docs[0].Body == nil {
		return &ynode{kind: yNull, line: 1}, nil
	}
	c := &yconv{file: file, anchors: map[string]*ynode{}}
	n, err := c.conv(f.Docs[0].Body, 0)
	if err != nil {
		return nil, err
	}
	return n, nil
}

// parseBytes runs the YAML parser; a panic inside the third-party parser
// becomes a *ParseError so that no input can crash the checker.
func parseBytes(file string, src []byte) (f *ast.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, &ParseError{File: file, Msg: fmt.Sprintf("invalid YAML: the parser failed: %v", r)}
		}
	}()
	f, err = parser.ParseBytes(src, 0)
	if err != nil {
		return nil, yamlError(file, err)
	}
	return f, nil
}

// yamlError turns a go-yaml error into a one-line *ParseError.
func yamlError(file string, err error) error {
	var ye yaml.Error
	if errors.As(err, &ye) {
		line, col := 0, 0
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			line, col = tk.Position.Line, tk.Position.Column
		}
		return &ParseError{File: file, Line: line, Column: col, Msg: "invalid YAML: " + oneLine(ye.GetMessage())}
	}
	return &ParseError{File: file, Msg: "invalid YAML: " + oneLine(err.Error())}
}

type yconv struct {
	file    string
	anchors map[string]*ynode
}

func (c *yconv) errorf(n ast.Node, format string, a ...any) error {
	line, col := nodePos(n)
	return &ParseError{File: c.file, Line: line, Column: col, Msg: fmt.Sprintf(format, a...)}
}

func nodePos(n ast.Node) (int, int) {
	if n == nil {
		return 0, 0
	}
	tk := n.GetToken()
	if tk == nil || tk.Position == nil {
		return 0, 0
	}
	return tk.Position.Line, tk.Position.Column
}

func (c *yconv) conv(n ast.Node, depth int) (*ynode, error) {
	if depth > maxYAMLDepth {
		return nil, c.errorf(n, "YAML nested deeper than %d levels", maxYAMLDepth)
	}
	line, _ := nodePos(n)
	switch v := n.(type) {
	case nil:
		return &ynode{kind: yNull}, nil
	case *ast.DocumentNode:
		return c.conv(v.Body, depth+1)
	case *ast.TagNode:
		return c.conv(v.Value, depth+1)
	case *ast.CommentNode, *ast.CommentGroupNode:
		return &ynode{kind: yNull, line: line}, nil
	case *ast.AnchorNode:
		out, err := c.conv(v.Value, depth+1)
		if err != nil {
			return nil, err
		}
		if v.Name != nil {
			c.anchors[v.Name.GetToken().Value] = out
		}
		return out, nil
	case *ast.AliasNode:
		name := ""
		if v.Value != nil {
			name = v.Value.GetToken().Value
		}
		out, ok := c.anchors[name]
		if !ok {
			return nil, c.errorf(n, "alias *%s refers to no anchor defined before it", name)
		}
		return out, nil
	case *ast.MappingNode:
		m := &ynode{kind: yMap, line: line}
		for _, mv := range v.Values {
			if err := c.addEntry(m, mv, depth); err != nil {
				return nil, err
			}
		}
		if len(v.Values) > 0 {
			m.line, _ = nodePos(v.Values[0].Key)
		}
		return m, nil
	case *ast.MappingValueNode:
		m := &ynode{kind: yMap}
		if err := c.addEntry(m, v, depth); err != nil {
			return nil, err
		}
		m.line, _ = nodePos(v.Key)
		return m, nil
	case *ast.SequenceNode:
		s := &ynode{kind: ySeq, line: line}
		for _, it := range v.Values {
			in, err := c.conv(it, depth+1)
			if err != nil {
				return nil, err
			}
			s.items = append(s.items, in)
		}
		return s, nil
	case *ast.LiteralNode:
		text := ""
		if v.Value != nil {
			text = v.Value.Value
		}
		return &ynode{kind: yScalar, value: text, line: line, block: true}, nil
	case *ast.NullNode:
		return &ynode{kind: yNull, line: line}, nil
	case *ast.StringNode:
		return &ynode{kind: yScalar, value: v.Value, line: line}, nil
	case ast.ScalarNode:
		return &ynode{kind: yScalar, value: v.GetToken().Value, line: line}, nil
	default:
		return nil, c.errorf(n, "unsupported YAML node %s", n.Type())
	}
}

// addEntry appends one key: value pair to m, expanding "<<" merge keys.
func (c *yconv) addEntry(m *ynode, mv *ast.MappingValueNode, depth int) error {
	kline, _ := nodePos(mv.Key)
	key := ""
	switch k := mv.Key.(type) {
	case *ast.StringNode:
		key = k.Value
	case *ast.MappingKeyNode:
		kn, err := c.conv(k.Value, depth+1)
		if err != nil {
			return err
		}
		key = kn.value
	case nil:
	default:
		if tk := mv.Key.GetToken(); tk != nil {
			key = tk.Value
		}
	}
	val, err := c.conv(mv.Value, depth+1)
	if err != nil {
		return err
	}
	if key == "<<" {
		var srcs []*ynode
		switch val.kind {
		case yMap:
			srcs = []*ynode{val}
		case ySeq:
			srcs = val.items
		}
		for _, s := range srcs {
			for _, kv := range s.keys {
				if m.get(kv.key) == nil {
					m.keys = append(m.keys, kv)
				}
			}
		}
		return nil
	}
	m.keys = append(m.keys, ykv{key: key, keyLine: kline, val: val})
	return nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

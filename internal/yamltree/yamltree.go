// Package yamltree parses YAML with github.com/goccy/go-yaml and converts the
// parser's AST at once into a small, parser-independent node tree: kind,
// resolved tag, scalar text, 1-based line and column, mapping pairs in source
// order and sequence items. Anchors, aliases and "<<" merge keys are resolved
// during the conversion, so callers never see them.
//
// The project parses every YAML file through this package: goccy/go-yaml
// reports syntax errors at the line to fix far more often than
// gopkg.in/yaml.v3 (docs/ci-runners.md has the measurement), and keeping the
// parser's API behind this tree lets it be replaced in one place.
package yamltree

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/lexer"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// Kind is the shape of a node after anchors, aliases and tags are resolved
// away.
type Kind int

// Node kinds.
const (
	Null Kind = iota
	Scalar
	Mapping
	Sequence
)

// String returns "null", "scalar", "mapping" or "sequence".
func (k Kind) String() string {
	switch k {
	case Null:
		return "null"
	case Scalar:
		return "scalar"
	case Mapping:
		return "mapping"
	case Sequence:
		return "sequence"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Resolved tags of scalar nodes (YAML 1.2 core schema, as the parser
// resolves plain scalars). Mappings and sequences have TagMap and TagSeq.
const (
	TagNull  = "!!null"
	TagBool  = "!!bool"
	TagInt   = "!!int"
	TagFloat = "!!float"
	TagStr   = "!!str"
	TagMap   = "!!map"
	TagSeq   = "!!seq"
)

// Node is one YAML value. Nodes reached through an alias are shared, not
// copied: walking the tree expands aliases, so callers that walk untrusted
// input should bound the number of nodes they visit.
type Node struct {
	Kind Kind
	// Tag is the resolved tag (TagStr, TagInt, ...). An explicit "!!str"
	// tag makes any scalar a string; other explicit tags are ignored.
	Tag string
	// Value is a scalar's text, unquoted; for non-string scalars it is the
	// source text ("0x1F", "1e3", "True").
	Value string
	// Line and Column are 1-based; 0 means unknown. A mapping starts at its
	// first key.
	Line, Column int
	// Block is true for a literal or folded block scalar (| or >): its text
	// starts on the line after Line.
	Block bool
	// Pairs are a mapping's entries in source order, merge keys expanded.
	Pairs []Pair
	// Items are a sequence's entries.
	Items []*Node

	num any // int64, uint64, float64 or bool decoded by the parser
}

// Pair is one mapping entry.
type Pair struct {
	// Key is the key's text ("" for a key that is not a scalar).
	Key string
	// KeyNode holds the key's kind and position; it is never nil.
	KeyNode *Node
	Value   *Node

	merged bool // copied from a "<<" merge key
}

// Get returns the value of key in a mapping, or nil (also for a nil node or
// a node that is not a mapping).
func (n *Node) Get(key string) *Node {
	if n == nil || n.Kind != Mapping {
		return nil
	}
	for _, kv := range n.Pairs {
		if kv.Key == key {
			return kv.Value
		}
	}
	return nil
}

// Str returns a scalar's text, or "" for a nil node and anything else.
func (n *Node) Str() string {
	if n == nil || n.Kind != Scalar {
		return ""
	}
	return n.Value
}

// TextLine returns the line a scalar's text starts on: the line after a
// block scalar's | or > header.
func (n *Node) TextLine() int {
	if n == nil {
		return 0
	}
	if n.Block {
		return n.Line + 1
	}
	return n.Line
}

// Int returns an integer scalar's value; ok is false for anything else,
// including integers that do not fit in an int64.
func (n *Node) Int() (v int64, ok bool) {
	if n == nil || n.Tag != TagInt {
		return 0, false
	}
	switch x := n.num.(type) {
	case int64:
		return x, true
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x), true
		}
	}
	return 0, false
}

// Float returns the value of an integer or floating-point scalar (.inf and
// .nan included); ok is false for anything else.
func (n *Node) Float() (v float64, ok bool) {
	if n == nil {
		return 0, false
	}
	switch n.Tag {
	case TagInt:
		switch x := n.num.(type) {
		case int64:
			return float64(x), true
		case uint64:
			return float64(x), true
		}
	case TagFloat:
		if x, isFloat := n.num.(float64); isFloat {
			return x, true
		}
	}
	return 0, false
}

// Bool returns a boolean scalar's value; ok is false for anything else.
func (n *Node) Bool() (v bool, ok bool) {
	if n == nil || n.Tag != TagBool {
		return false, false
	}
	b, isBool := n.num.(bool)
	return b, isBool
}

// Error reports YAML that could not be parsed or converted, with its
// position (1-based; 0 when unknown).
type Error struct {
	File         string
	Line, Column int
	// Msg is one line, without the position.
	Msg string
	// Syntax is true when the parser rejected the text; false for problems
	// the conversion found (an alias to no anchor, nesting too deep, too
	// many nodes).
	Syntax bool
}

// Error formats the error as "file:line:col: message", leaving out the
// parts that are unknown. Syntax errors' messages start "invalid YAML: ".
func (e *Error) Error() string {
	msg := e.Msg
	if e.Syntax {
		msg = "invalid YAML: " + msg
	}
	switch {
	case e.Line > 0 && e.Column > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, msg)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, msg)
	default:
		return fmt.Sprintf("%s: %s", e.File, msg)
	}
}

// Limits on the tree, so that hostile input cannot exhaust the stack or
// memory.
const (
	// MaxDepth bounds nesting.
	MaxDepth = 200
	// MaxMergedPairs bounds the mapping entries that "<<" merge keys read
	// over a whole document.
	MaxMergedPairs = 1 << 20
)

// Option changes how Parse and ParseDocuments read YAML.
type Option func(*config)

type config struct {
	allowDuplicateKeys bool
}

// AllowDuplicateKeys keeps a key that appears twice in one mapping as two
// pairs, for callers that report repeated keys in their own words. By
// default the parser rejects it as a syntax error.
func AllowDuplicateKeys() Option {
	return func(c *config) { c.allowDuplicateKeys = true }
}

// Document is one YAML document of a stream.
type Document struct {
	// Line is where the document starts: its "---" marker, or its content
	// when it has no marker.
	Line int
	// Root is the document's content; nil for a document with none (an
	// empty file, or comments only).
	Root *Node
}

// Parse parses the first YAML document of src; file names the source in
// errors. A stream with no content gives a Null node on line 1. Errors are
// *Error.
func Parse(file string, src []byte, opts ...Option) (*Node, error) {
	f, err := parseBytes(file, src, opts)
	if err != nil {
		return nil, err
	}
	if len(f.Docs) == 0 || f.Docs[0] == nil || f.Docs[0].Body == nil {
		return &Node{Kind: Null, Tag: TagNull, Line: 1}, nil
	}
	return newConverter(file).conv(f.Docs[0].Body, 0)
}

// ParseDocuments parses every YAML document of src, each with its own
// anchors. Errors are *Error.
func ParseDocuments(file string, src []byte, opts ...Option) ([]Document, error) {
	f, err := parseBytes(file, src, opts)
	if err != nil {
		return nil, err
	}
	var docs []Document
	for _, d := range f.Docs {
		if d == nil {
			continue
		}
		doc := Document{}
		if d.Start != nil && d.Start.Position != nil {
			doc.Line = d.Start.Position.Line
		}
		if d.Body != nil {
			root, err := newConverter(file).conv(d.Body, 0)
			if err != nil {
				return nil, err
			}
			doc.Root = root
			if doc.Line == 0 {
				doc.Line = root.Line
			}
		}
		if doc.Line == 0 && doc.Root == nil {
			continue // nothing but comments or blank lines
		}
		docs = append(docs, doc)
	}
	return docs, nil
}

// parseBytes runs the YAML parser; a panic inside the third-party parser
// becomes an *Error so that no input can crash the caller.
func parseBytes(file string, src []byte, opts []Option) (f *ast.File, err error) {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	var popts []parser.Option
	if cfg.allowDuplicateKeys {
		popts = append(popts, parser.AllowDuplicateMapKey())
	}
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, &Error{File: file, Syntax: true, Msg: fmt.Sprintf("the parser failed: %v", r)}
		}
	}()
	tokens := lexer.Tokenize(string(src))
	if tk := tooDeep(tokens); tk != nil {
		line, col := 0, 0
		if tk.Position != nil {
			line, col = tk.Position.Line, tk.Position.Column
		}
		return nil, &Error{File: file, Line: line, Column: col, Msg: fmt.Sprintf("YAML nested deeper than %d levels", MaxDepth)}
	}
	f, err = parser.Parse(tokens, 0, popts...)
	if err != nil {
		return nil, syntaxError(file, err)
	}
	return f, nil
}

// tokenDepthLimit is the nesting at which the parser is not run at all:
// its time grows with the square of the nesting (100,000 unclosed "[" take
// tens of seconds) and deep block sequences exhaust memory. It is above
// MaxDepth so that the conversion, which counts exactly, reports moderately
// deep input.
const tokenDepthLimit = 4 * MaxDepth

// tooDeep estimates the nesting of a token stream and returns the token at
// which it passes tokenDepthLimit, or nil. Flow collections are counted by
// their brackets; block collections by a stack of the columns of "-", "?"
// and mapping keys, a deeper column opening a level.
func tooDeep(tokens token.Tokens) *token.Token {
	flow := 0
	var cols []int
	var prev *token.Token
	for _, tk := range tokens {
		if tk == nil || tk.Position == nil || tk.Type == token.CommentType {
			continue
		}
		col := -1
		switch tk.Type {
		case token.SequenceStartType, token.MappingStartType:
			flow++
		case token.SequenceEndType, token.MappingEndType:
			if flow > 0 {
				flow--
			}
		case token.DocumentHeaderType, token.DocumentEndType:
			flow, cols = 0, cols[:0]
		case token.SequenceEntryType, token.MappingKeyType:
			col = tk.Position.Column
		case token.MappingValueType:
			if prev != nil && prev.Position.Line == tk.Position.Line {
				col = prev.Position.Column
			}
		}
		if col >= 0 && flow == 0 {
			for len(cols) > 0 && cols[len(cols)-1] >= col {
				cols = cols[:len(cols)-1]
			}
			cols = append(cols, col)
		}
		if flow+len(cols) > tokenDepthLimit {
			return tk
		}
		prev = tk
	}
	return nil
}

// syntaxError turns a go-yaml error into a one-line *Error.
func syntaxError(file string, err error) error {
	var ye yaml.Error
	if errors.As(err, &ye) {
		line, col := 0, 0
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			line, col = tk.Position.Line, tk.Position.Column
		}
		return &Error{File: file, Line: line, Column: col, Syntax: true, Msg: oneLine(ye.GetMessage())}
	}
	return &Error{File: file, Syntax: true, Msg: oneLine(err.Error())}
}

// converter turns one document's AST into Nodes.
type converter struct {
	file    string
	anchors map[string]*Node
	merged  int // mapping entries read by merge keys so far
}

func newConverter(file string) *converter {
	return &converter{file: file, anchors: map[string]*Node{}}
}

func (c *converter) errorf(n ast.Node, format string, a ...any) error {
	line, col := nodePos(n)
	return &Error{File: c.file, Line: line, Column: col, Msg: fmt.Sprintf(format, a...)}
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

func (c *converter) conv(n ast.Node, depth int) (*Node, error) {
	if depth > MaxDepth {
		return nil, c.errorf(n, "YAML nested deeper than %d levels", MaxDepth)
	}
	line, col := nodePos(n)
	scalar := func(tag, text string, num any) *Node {
		return &Node{Kind: Scalar, Tag: tag, Value: text, Line: line, Column: col, num: num}
	}
	switch v := n.(type) {
	case nil:
		return &Node{Kind: Null, Tag: TagNull}, nil
	case *ast.DocumentNode:
		return c.conv(v.Body, depth+1)
	case *ast.TagNode:
		out, err := c.conv(v.Value, depth+1)
		if err != nil {
			return nil, err
		}
		if v.Start != nil && v.Start.Value == TagStr && (out.Kind == Scalar || out.Kind == Null) {
			text := out.Value
			if out.Kind == Null && v.Value != nil {
				if tk := v.Value.GetToken(); tk != nil {
					text = tk.Value
				}
			}
			cp := *out
			cp.Kind, cp.Tag, cp.Value, cp.num = Scalar, TagStr, text, nil
			return &cp, nil
		}
		return out, nil
	case *ast.CommentNode, *ast.CommentGroupNode:
		return &Node{Kind: Null, Tag: TagNull, Line: line, Column: col}, nil
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
			return nil, c.errorf(n, "alias *%s refers to no anchor defined before it", oneLine(name))
		}
		return out, nil
	case *ast.MappingNode:
		m := &Node{Kind: Mapping, Tag: TagMap, Line: line, Column: col}
		for _, mv := range v.Values {
			if err := c.addEntry(m, mv, depth); err != nil {
				return nil, err
			}
		}
		if len(v.Values) > 0 {
			m.Line, m.Column = nodePos(v.Values[0].Key)
		}
		return m, nil
	case *ast.MappingValueNode:
		m := &Node{Kind: Mapping, Tag: TagMap}
		if err := c.addEntry(m, v, depth); err != nil {
			return nil, err
		}
		m.Line, m.Column = nodePos(v.Key)
		return m, nil
	case *ast.SequenceNode:
		s := &Node{Kind: Sequence, Tag: TagSeq, Line: line, Column: col}
		for _, it := range v.Values {
			in, err := c.conv(it, depth+1)
			if err != nil {
				return nil, err
			}
			s.Items = append(s.Items, in)
		}
		return s, nil
	case *ast.LiteralNode:
		text := ""
		if v.Value != nil {
			text = v.Value.Value
		}
		out := scalar(TagStr, text, nil)
		out.Block = true
		return out, nil
	case *ast.NullNode:
		return &Node{Kind: Null, Tag: TagNull, Line: line, Column: col}, nil
	case *ast.StringNode:
		return scalar(TagStr, v.Value, nil), nil
	case *ast.IntegerNode:
		return scalar(TagInt, v.GetToken().Value, v.Value), nil
	case *ast.FloatNode:
		return scalar(TagFloat, v.GetToken().Value, v.Value), nil
	case *ast.InfinityNode:
		return scalar(TagFloat, v.GetToken().Value, v.Value), nil
	case *ast.NanNode:
		return scalar(TagFloat, v.GetToken().Value, math.NaN()), nil
	case *ast.BoolNode:
		return scalar(TagBool, v.GetToken().Value, v.Value), nil
	case ast.ScalarNode:
		return scalar(TagStr, v.GetToken().Value, nil), nil
	default:
		return nil, c.errorf(n, "unsupported YAML node %s", n.Type())
	}
}

// key converts a mapping key. Its text is the scalar's text; a complex key
// ("? [a, b]") keeps its converted node and the text "".
func (c *converter) key(k ast.Node, depth int) (*Node, error) {
	line, col := nodePos(k)
	switch v := k.(type) {
	case *ast.StringNode:
		return &Node{Kind: Scalar, Tag: TagStr, Value: v.Value, Line: line, Column: col}, nil
	case *ast.MappingKeyNode:
		kn, err := c.conv(v.Value, depth+1)
		if err != nil {
			return nil, err
		}
		out := *kn
		if out.Kind != Scalar {
			out.Value = ""
		}
		out.Line, out.Column = line, col
		return &out, nil
	case nil:
		return &Node{Kind: Scalar, Tag: TagStr}, nil
	default:
		text := ""
		if tk := k.GetToken(); tk != nil {
			text = tk.Value
		}
		return &Node{Kind: Scalar, Tag: TagStr, Value: text, Line: line, Column: col}, nil
	}
}

// addEntry appends one key: value pair to m, expanding "<<" merge keys. A
// key given in m itself takes precedence over a merged one wherever it
// appears; among merged mappings the first one that has a key wins.
func (c *converter) addEntry(m *Node, mv *ast.MappingValueNode, depth int) error {
	kn, err := c.key(mv.Key, depth)
	if err != nil {
		return err
	}
	val, err := c.conv(mv.Value, depth+1)
	if err != nil {
		return err
	}
	if kn.Value == "<<" {
		var srcs []*Node
		switch val.Kind {
		case Mapping:
			srcs = []*Node{val}
		case Sequence:
			srcs = val.Items
		}
		have := make(map[string]bool, len(m.Pairs))
		for _, kv := range m.Pairs {
			have[kv.Key] = true
		}
		c.merged += len(m.Pairs)
		for _, s := range srcs {
			c.merged += len(s.Pairs)
			if c.merged > MaxMergedPairs {
				return c.errorf(mv.Key, "merge keys copy more than %d mapping entries", MaxMergedPairs)
			}
			for _, kv := range s.Pairs {
				if have[kv.Key] {
					continue
				}
				have[kv.Key] = true
				kv.merged = true
				m.Pairs = append(m.Pairs, kv)
			}
		}
		return nil
	}
	for i := range m.Pairs {
		if p := &m.Pairs[i]; p.merged && p.Key == kn.Value {
			*p = Pair{Key: kn.Value, KeyNode: kn, Value: val}
			return nil
		}
	}
	m.Pairs = append(m.Pairs, Pair{Key: kn.Value, KeyNode: kn, Value: val})
	return nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

package cirunners

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// This file holds a small reader for GitHub Actions expressions
// (${{ ... }}). It does not compute one value: it computes the set of
// values an expression can take, given what the workflow files say about
// each context (matrix lists, reusable-workflow inputs, job outputs), so
// that `cond && 'a' || 'b'` yields both 'a' and 'b'.

// Limits that keep hostile input cheap.
const (
	maxExprLen    = 4096 // characters in one expression
	maxExprDepth  = 64   // nesting of parentheses, calls and operators
	maxValues     = 64   // values one expression may take
	maxResolveHop = 8    // contexts followed through callers and job outputs
)

// ---- values ----

type vkind int

const (
	vUnknown vkind = iota
	vString
	vNumber
	vBool
	vNull
	vList
)

// truth is the tri-state truthiness of a value.
type truth int

const (
	maybe truth = iota
	yes
	no
)

// value is one possible result of an expression.
type value struct {
	kind vkind
	s    string
	n    float64
	b    bool
	list []string
	// src names what could not be resolved (for vUnknown).
	src string
	// falsy marks an unknown known to be falsy (the false branch of &&).
	falsy bool
	// boolean marks an unknown that is true or false (a comparison).
	boolean bool
	// via records where the value was decided, as "file:line what".
	via []string
}

func strVal(s string) value    { return value{kind: vString, s: s} }
func boolVal(b bool) value     { return value{kind: vBool, b: b} }
func unknown(src string) value { return value{kind: vUnknown, src: src} }

func unknownBool(src string) value { return value{kind: vUnknown, src: src, boolean: true} }

func (v value) truth() truth {
	switch v.kind {
	case vString:
		return tri(v.s != "")
	case vNumber:
		return tri(v.n != 0 && !math.IsNaN(v.n))
	case vBool:
		return tri(v.b)
	case vNull:
		return no
	case vList:
		return yes
	}
	if v.falsy {
		return no
	}
	return maybe
}

func tri(b bool) truth {
	if b {
		return yes
	}
	return no
}

// String converts the value the way GitHub interpolates it into a string.
func (v value) String() string {
	switch v.kind {
	case vString:
		return v.s
	case vNumber:
		return strconv.FormatFloat(v.n, 'f', -1, 64)
	case vBool:
		return strconv.FormatBool(v.b)
	case vNull:
		return ""
	case vList:
		b, _ := json.Marshal(v.list)
		return string(b)
	}
	return "${{ " + v.src + " }}"
}

func (v value) key() string {
	return fmt.Sprintf("%d|%s|%t|%t|%s", v.kind, v.String(), v.falsy, v.boolean, v.src)
}

func (v value) number() float64 {
	switch v.kind {
	case vNumber:
		return v.n
	case vBool:
		if v.b {
			return 1
		}
		return 0
	case vNull:
		return 0
	case vString:
		t := strings.TrimSpace(v.s)
		if t == "" {
			return 0
		}
		f, err := strconv.ParseFloat(t, 64)
		if err != nil {
			return math.NaN()
		}
		return f
	}
	return math.NaN()
}

func (v value) withVia(via ...string) value {
	out := v
	out.via = append(append([]string(nil), via...), v.via...)
	return out
}

// vset is a bounded, de-duplicated set of values in insertion order.
type vset []value

func (s vset) add(vs ...value) vset {
	for _, v := range vs {
		dup := false
		k := v.key()
		for _, w := range s {
			if w.key() == k {
				dup = true
				break
			}
		}
		if dup {
			continue
		}
		if len(s) >= maxValues {
			for _, w := range s {
				if w.kind == vUnknown && w.src == "too many combinations" {
					return s
				}
			}
			return append(s, unknown("too many combinations"))
		}
		s = append(s, v)
	}
	return s
}

// ---- lexer ----

type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tString
	tNumber
	tOp
)

type token struct {
	kind tokKind
	text string
	pos  int // byte offset in the expression
}

func lexExpr(src string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '\'':
			start := i
			var b strings.Builder
			i++
			closed := false
			for i < len(src) {
				if src[i] == '\'' {
					if i+1 < len(src) && src[i+1] == '\'' {
						b.WriteByte('\'')
						i += 2
						continue
					}
					i++
					closed = true
					break
				}
				b.WriteByte(src[i])
				i++
			}
			if !closed {
				return nil, exprErr(start, "unterminated string")
			}
			toks = append(toks, token{tString, b.String(), start})
		case isDigit(c) || (c == '-' && i+1 < len(src) && isDigit(src[i+1])) || (c == '.' && i+1 < len(src) && isDigit(src[i+1])):
			start := i
			i++
			for i < len(src) && (isIdentChar(src[i]) || src[i] == '.' || ((src[i] == '+' || src[i] == '-') && (src[i-1] == 'e' || src[i-1] == 'E'))) {
				i++
			}
			toks = append(toks, token{tNumber, src[start:i], start})
		case isIdentStart(c):
			start := i
			for i < len(src) && isIdentChar(src[i]) {
				i++
			}
			toks = append(toks, token{tIdent, src[start:i], start})
		default:
			two := ""
			if i+1 < len(src) {
				two = src[i : i+2]
			}
			switch two {
			case "==", "!=", "<=", ">=", "&&", "||":
				toks = append(toks, token{tOp, two, i})
				i += 2
				continue
			}
			switch c {
			case '(', ')', '[', ']', '.', ',', '!', '<', '>', '*':
				toks = append(toks, token{tOp, string(c), i})
				i++
			default:
				return nil, exprErr(i, "unexpected character %q", c)
			}
		}
	}
	toks = append(toks, token{tEOF, "", len(src)})
	return toks, nil
}

func isDigit(c byte) bool      { return c >= '0' && c <= '9' }
func isIdentStart(c byte) bool { return c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z') }
func isIdentChar(c byte) bool  { return isIdentStart(c) || isDigit(c) || c == '-' }

// exprError is a syntax error inside one expression; pos is a byte offset.
type exprError struct {
	pos int
	msg string
}

func (e *exprError) Error() string { return fmt.Sprintf("column %d: %s", e.pos+1, e.msg) }

func exprErr(pos int, format string, a ...any) error {
	return &exprError{pos: pos, msg: fmt.Sprintf(format, a...)}
}

// ---- parser ----

// expr is a parsed expression.
type expr interface{ exprNode() }

type (
	litExpr  struct{ v value }
	refExpr  struct{ path []string } // a.b['c'].* -> ["a","b","c","*"]
	callExpr struct {
		name    string // lower case, for dispatch
		display string // as written, for messages
		args    []expr
	}
	notExpr struct{ x expr }
	binExpr struct {
		op   string
		l, r expr
	}
	// idxExpr indexes something that is not a plain context path.
	idxExpr struct {
		x   expr
		idx expr
	}
)

func (litExpr) exprNode()  {}
func (refExpr) exprNode()  {}
func (callExpr) exprNode() {}
func (notExpr) exprNode()  {}
func (binExpr) exprNode()  {}
func (idxExpr) exprNode()  {}

type exprParser struct {
	toks  []token
	i     int
	depth int
}

// parseExpr parses the text between ${{ and }}.
func parseExpr(src string) (expr, error) {
	if len(src) > maxExprLen {
		return nil, exprErr(0, "expression longer than %d characters", maxExprLen)
	}
	toks, err := lexExpr(src)
	if err != nil {
		return nil, err
	}
	p := &exprParser{toks: toks}
	if p.peek().kind == tEOF {
		return nil, exprErr(0, "empty expression")
	}
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, exprErr(t.pos, "unexpected %q", t.text)
	}
	return e, nil
}

func (p *exprParser) peek() token { return p.toks[p.i] }
func (p *exprParser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *exprParser) isOp(s string) bool {
	t := p.peek()
	return t.kind == tOp && t.text == s
}

func (p *exprParser) enter() error {
	p.depth++
	if p.depth > maxExprDepth {
		return exprErr(p.peek().pos, "expression nested deeper than %d levels", maxExprDepth)
	}
	return nil
}

func (p *exprParser) leave() { p.depth-- }

func (p *exprParser) binary(ops []string, sub func() (expr, error)) (expr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	l, err := sub()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		matched := false
		for _, op := range ops {
			if t.kind == tOp && t.text == op {
				matched = true
			}
		}
		if !matched {
			return l, nil
		}
		p.next()
		r, err := sub()
		if err != nil {
			return nil, err
		}
		l = binExpr{op: t.text, l: l, r: r}
	}
}

func (p *exprParser) or() (expr, error)  { return p.binary([]string{"||"}, p.and) }
func (p *exprParser) and() (expr, error) { return p.binary([]string{"&&"}, p.eq) }
func (p *exprParser) eq() (expr, error)  { return p.binary([]string{"==", "!="}, p.cmp) }
func (p *exprParser) cmp() (expr, error) {
	return p.binary([]string{"<", "<=", ">", ">="}, p.unary)
}

func (p *exprParser) unary() (expr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	if p.isOp("!") {
		p.next()
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return notExpr{x}, nil
	}
	return p.postfix()
}

func (p *exprParser) postfix() (expr, error) {
	x, err := p.primary()
	if err != nil {
		return nil, err
	}
	for {
		switch {
		case p.isOp("."):
			p.next()
			t := p.next()
			var name string
			switch {
			case t.kind == tIdent:
				name = t.text
			case t.kind == tOp && t.text == "*":
				name = "*"
			default:
				return nil, exprErr(t.pos, "expected a property name after '.'")
			}
			if r, ok := x.(refExpr); ok {
				x = refExpr{path: append(append([]string(nil), r.path...), name)}
			} else {
				x = idxExpr{x: x, idx: litExpr{strVal(name)}}
			}
		case p.isOp("["):
			p.next()
			var idx expr
			if p.isOp("*") {
				p.next()
				idx = litExpr{strVal("*")}
			} else {
				if err := p.enter(); err != nil {
					return nil, err
				}
				idx, err = p.or()
				p.leave()
				if err != nil {
					return nil, err
				}
			}
			if !p.isOp("]") {
				return nil, exprErr(p.peek().pos, "expected ']'")
			}
			p.next()
			r, isRef := x.(refExpr)
			l, isLit := idx.(litExpr)
			if isRef && isLit && l.v.kind == vString {
				x = refExpr{path: append(append([]string(nil), r.path...), l.v.s)}
			} else {
				x = idxExpr{x: x, idx: idx}
			}
		default:
			return x, nil
		}
	}
}

func (p *exprParser) primary() (expr, error) {
	t := p.next()
	switch t.kind {
	case tString:
		return litExpr{strVal(t.text)}, nil
	case tNumber:
		f, err := parseNumber(t.text)
		if err != nil {
			return nil, exprErr(t.pos, "bad number %q", t.text)
		}
		return litExpr{value{kind: vNumber, n: f}}, nil
	case tIdent:
		switch strings.ToLower(t.text) {
		case "true":
			return litExpr{boolVal(true)}, nil
		case "false":
			return litExpr{boolVal(false)}, nil
		case "null":
			return litExpr{value{kind: vNull}}, nil
		}
		if p.isOp("(") {
			p.next()
			var args []expr
			for !p.isOp(")") {
				if err := p.enter(); err != nil {
					return nil, err
				}
				a, err := p.or()
				p.leave()
				if err != nil {
					return nil, err
				}
				args = append(args, a)
				if p.isOp(",") {
					p.next()
					continue
				}
				if !p.isOp(")") {
					return nil, exprErr(p.peek().pos, "expected ',' or ')' in call to %s", t.text)
				}
			}
			p.next()
			return callExpr{name: strings.ToLower(t.text), display: t.text, args: args}, nil
		}
		return refExpr{path: []string{t.text}}, nil
	case tOp:
		if t.text == "(" {
			if err := p.enter(); err != nil {
				return nil, err
			}
			x, err := p.or()
			p.leave()
			if err != nil {
				return nil, err
			}
			if !p.isOp(")") {
				return nil, exprErr(p.peek().pos, "expected ')'")
			}
			p.next()
			return x, nil
		}
		return nil, exprErr(t.pos, "unexpected %q", t.text)
	}
	return nil, exprErr(t.pos, "unexpected end of expression")
}

func parseNumber(s string) (float64, error) {
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "-0x") {
		i, err := strconv.ParseInt(s, 0, 64)
		return float64(i), err
	}
	return strconv.ParseFloat(s, 64)
}

// ---- templates ----

// tmplPart is literal text or one ${{ }} expression of a template string.
type tmplPart struct {
	lit  string
	x    expr
	src  string // the expression text
	isEx bool
}

// parseTemplate splits s into literal text and ${{ }} expressions.
func parseTemplate(s string) ([]tmplPart, error) {
	var parts []tmplPart
	for {
		i := strings.Index(s, "${{")
		if i < 0 {
			if s != "" {
				parts = append(parts, tmplPart{lit: s})
			}
			return parts, nil
		}
		if i > 0 {
			parts = append(parts, tmplPart{lit: s[:i]})
		}
		body := s[i+3:]
		end := closingBraces(body)
		if end < 0 {
			return nil, exprErr(i, "'${{' without a closing '}}'")
		}
		src := strings.TrimSpace(body[:end])
		x, err := parseExpr(src)
		if err != nil {
			return nil, err
		}
		parts = append(parts, tmplPart{x: x, src: src, isEx: true})
		s = body[end+2:]
	}
}

// closingBraces finds "}}" outside string literals.
func closingBraces(s string) int {
	inStr := false
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\'':
			inStr = !inStr
		case !inStr && s[i] == '}' && i+1 < len(s) && s[i+1] == '}':
			return i
		}
	}
	return -1
}

// hasExpr reports whether s contains an expression.
func hasExpr(s string) bool { return strings.Contains(s, "${{") }

// ---- evaluation ----

// resolver supplies the possible values of a context path such as
// matrix.runner or needs.setup.outputs.label; ok is false when it cannot.
type resolver interface {
	lookup(path []string) (vs vset, ok bool)
}

// evalTemplate returns the values a template string can take.
func evalTemplate(parts []tmplPart, r resolver) vset {
	if len(parts) == 1 && parts[0].isEx {
		return eval(parts[0].x, r)
	}
	out := vset{strVal("")}
	for _, p := range parts {
		var next vset
		if !p.isEx {
			for _, o := range out {
				next = next.add(concat(o, strVal(p.lit)))
			}
			out = next
			continue
		}
		vals := eval(p.x, r)
		for _, o := range out {
			for _, v := range vals {
				next = next.add(concat(o, v))
			}
		}
		out = next
	}
	return out
}

func concat(a, b value) value {
	via := append(append([]string(nil), a.via...), b.via...)
	if a.kind == vUnknown || b.kind == vUnknown {
		src := a.src
		if b.kind == vUnknown {
			src = b.src
		}
		if a.kind == vUnknown && b.kind == vUnknown {
			src = a.src + ", " + b.src
		}
		u := unknown(src)
		u.via = via
		return u
	}
	v := strVal(a.String() + b.String())
	v.via = via
	return v
}

func eval(e expr, r resolver) vset {
	switch x := e.(type) {
	case litExpr:
		return vset{x.v}
	case refExpr:
		if vs, ok := r.lookup(x.path); ok && len(vs) > 0 {
			return vs
		}
		return vset{unknown(strings.Join(x.path, "."))}
	case idxExpr:
		return vset{unknown("index expression")}
	case notExpr:
		var out vset
		for _, v := range eval(x.x, r) {
			switch v.truth() {
			case yes:
				out = out.add(boolVal(false))
			case no:
				out = out.add(boolVal(true))
			default:
				out = out.add(unknownBool("!" + v.src))
			}
		}
		return out
	case binExpr:
		return evalBinary(x, r)
	case callExpr:
		return evalCall(x, r)
	}
	return vset{unknown("expression")}
}

func evalBinary(x binExpr, r resolver) vset {
	left := eval(x.l, r)
	var out vset
	switch x.op {
	case "||":
		var right vset
		for _, l := range left {
			switch l.truth() {
			case yes:
				out = out.add(l)
			case no:
				if right == nil {
					right = eval(x.r, r)
				}
				out = out.add(right...)
			default:
				if right == nil {
					right = eval(x.r, r)
				}
				if l.boolean {
					out = out.add(boolVal(true))
				} else {
					out = out.add(l)
				}
				out = out.add(right...)
			}
		}
		return out
	case "&&":
		var right vset
		for _, l := range left {
			switch l.truth() {
			case no:
				out = out.add(l)
			case yes:
				if right == nil {
					right = eval(x.r, r)
				}
				out = out.add(right...)
			default:
				if right == nil {
					right = eval(x.r, r)
				}
				f := l
				f.falsy = true
				if f.kind != vUnknown {
					f = unknown(l.src)
					f.falsy = true
				}
				out = out.add(f)
				out = out.add(right...)
			}
		}
		return out
	}
	right := eval(x.r, r)
	for _, l := range left {
		for _, rv := range right {
			if l.kind == vUnknown || rv.kind == vUnknown {
				out = out.add(unknownBool("comparison"))
				continue
			}
			out = out.add(boolVal(compare(x.op, l, rv)))
		}
	}
	return out
}

func compare(op string, a, b value) bool {
	if a.kind == vString && b.kind == vString {
		return ordered(op, strings.ToLower(a.s), strings.ToLower(b.s))
	}
	if a.kind == b.kind && (a.kind == vNull || a.kind == vBool) && (op == "==" || op == "!=") {
		eq := a.b == b.b
		if op == "==" {
			return eq
		}
		return !eq
	}
	return ordered(op, a.number(), b.number())
}

// ordered applies a comparison operator to two strings or two numbers.
func ordered[T cmp.Ordered](op string, x, y T) bool {
	switch op {
	case "==":
		return x == y
	case "!=":
		return x != y
	case "<":
		return x < y
	case "<=":
		return x <= y
	case ">":
		return x > y
	case ">=":
		return x >= y
	}
	return false
}

// product calls f with every combination of the argument value sets,
// stopping after maxValues combinations.
func product(args []vset, f func([]value)) {
	n := 0
	cur := make([]value, len(args))
	var rec func(i int)
	rec = func(i int) {
		if n >= maxValues {
			return
		}
		if i == len(args) {
			n++
			f(cur)
			return
		}
		for _, v := range args[i] {
			cur[i] = v
			rec(i + 1)
		}
	}
	rec(0)
}

func evalCall(x callExpr, r resolver) vset {
	args := make([]vset, len(x.args))
	for i, a := range x.args {
		args[i] = eval(a, r)
	}
	var out vset
	product(args, func(vs []value) {
		var via []string
		for _, v := range vs {
			via = append(via, v.via...)
		}
		for _, v := range vs {
			if v.kind == vUnknown {
				u := unknown(x.display + "(" + v.src + ")")
				u.via = via
				out = out.add(u)
				return
			}
		}
		res := callKnown(x.name, vs)
		res.via = append(via, res.via...)
		out = out.add(res)
	})
	if len(out) == 0 {
		out = vset{unknown(x.display + "()")}
	}
	return out
}

// callKnown applies a function to fully known arguments.
func callKnown(name string, a []value) value {
	switch name {
	case "format":
		if len(a) == 0 {
			return unknown("format()")
		}
		return strVal(formatGH(a[0].String(), a[1:]))
	case "fromjson":
		if len(a) != 1 {
			return unknown("fromJSON()")
		}
		return fromJSON(a[0].String())
	case "tojson":
		if len(a) != 1 {
			return unknown("toJSON()")
		}
		if a[0].kind == vList {
			return strVal(a[0].String())
		}
		b, _ := json.Marshal(a[0].String())
		return strVal(string(b))
	case "contains", "startswith", "endswith":
		if len(a) != 2 {
			return unknown(name + "()")
		}
		needle := strings.ToLower(a[1].String())
		if name == "contains" && a[0].kind == vList {
			for _, s := range a[0].list {
				if strings.EqualFold(s, a[1].String()) {
					return boolVal(true)
				}
			}
			return boolVal(false)
		}
		hay := strings.ToLower(a[0].String())
		switch name {
		case "contains":
			return boolVal(strings.Contains(hay, needle))
		case "startswith":
			return boolVal(strings.HasPrefix(hay, needle))
		}
		return boolVal(strings.HasSuffix(hay, needle))
	case "join":
		if len(a) < 1 || len(a) > 2 {
			return unknown("join()")
		}
		sep := ","
		if len(a) == 2 {
			sep = a[1].String()
		}
		if a[0].kind == vList {
			return strVal(strings.Join(a[0].list, sep))
		}
		return strVal(a[0].String())
	}
	return unknown(name + "()")
}

// formatGH implements format(): {N} is replaced by argument N, {{ and }}
// are literal braces.
func formatGH(f string, args []value) string {
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c == '{' && i+1 < len(f) && f[i+1] == '{' {
			b.WriteByte('{')
			i++
			continue
		}
		if c == '}' && i+1 < len(f) && f[i+1] == '}' {
			b.WriteByte('}')
			i++
			continue
		}
		if c == '{' {
			j := strings.IndexByte(f[i:], '}')
			if j > 1 {
				if n, err := strconv.Atoi(f[i+1 : i+j]); err == nil && n >= 0 && n < len(args) {
					b.WriteString(args[n].String())
					i += j
					continue
				}
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}

func fromJSON(s string) value {
	var x any
	if err := json.Unmarshal([]byte(s), &x); err != nil {
		return unknown("fromJSON of invalid JSON")
	}
	switch t := x.(type) {
	case string:
		return strVal(t)
	case float64:
		return value{kind: vNumber, n: t}
	case bool:
		return boolVal(t)
	case nil:
		return value{kind: vNull}
	case []any:
		var list []string
		for _, it := range t {
			s, ok := it.(string)
			if !ok {
				return unknown("fromJSON list of non-strings")
			}
			list = append(list, s)
		}
		return value{kind: vList, list: list}
	}
	return unknown("fromJSON object")
}

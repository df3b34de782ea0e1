package fuse

import (
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/tracetriage/tracetriage/internal/yamltree"
)

//go:embed catalog.yaml
var embeddedCatalog []byte

// EmbeddedName is the name under which errors and Pattern.Source refer to the
// embedded catalogue.
const EmbeddedName = "catalog.yaml (embedded)"

// Origins of a pattern: where its fused implementation lives.
const (
	OriginMainline = "mainline" // merged in the framework's main branch
	OriginUpstream = "upstream" // merged in another framework (vLLM, TensorRT-LLM)
	OriginInflight = "inflight" // proposed in an open upstream change
)

// Limits on what Load accepts, so that a broken or hostile file fails with a
// clear error instead of exhausting memory.
const (
	maxCatalogBytes = 16 << 20
	maxCatalogNodes = 1 << 20
)

// ErrInvalidCatalog is wrapped by every error about the content of a
// catalogue file (syntax, unknown fields, invalid patterns).
var ErrInvalidCatalog = errors.New("invalid fuse catalog")

// CatalogError reports one problem in a catalogue file, with the file name
// and the 1-based line (0 when the position is unknown). It wraps
// ErrInvalidCatalog.
type CatalogError struct {
	File    string
	Line    int
	Pattern string // the pattern concerned, "" for file-level problems
	Msg     string
}

// Error returns "file:line: pattern "name": message" (parts that are unknown
// are left out).
func (e *CatalogError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":")
		b.WriteString(strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Pattern != "" {
		fmt.Fprintf(&b, "pattern %q: ", e.Pattern)
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap makes errors.Is(err, ErrInvalidCatalog) true.
func (e *CatalogError) Unwrap() error { return ErrInvalidCatalog }

// Group is a set of keywords that identify one kind of kernel row: the fused
// implementation (Pattern.Active) or one unfused piece (Pattern.SplitGroups).
//
// A row matches the group when its text (kernel name, plus the Python
// location and CPU op of each launch site that is not a CUDA/HIP graph
// launch) contains a keyword, compared case-insensitively either as is or
// reduced to letters and digits, or when a regexp matches the raw text; and
// when the row's category passes Categories and ExcludeCategories; and when
// its text or a frame of one of its launch stacks holds a RequireKeywords
// keyword (if any); and when no ExcludeKeywords keyword occurs in its text;
// and when not every launch site with a Python stack has a frame holding an
// ExcludeStacks keyword.
type Group struct {
	Keywords          []string
	Regexps           []string
	Categories        []string // when set, only rows of these categories
	ExcludeCategories []string // rows of these categories never match
	// RequireKeywords, when set: a row that Keywords or Regexps match counts
	// only if one of its fields (kernel name, location or CPU op of a site
	// that is not a graph launch, or a frame of such a site's stack) also
	// holds one of these, compared as Keywords are. It narrows a keyword
	// that names a kernel family (nvjet) to the rows of the kind a pattern
	// is about (FP8).
	RequireKeywords []string
	ExcludeKeywords []string // rows whose text holds one of these never match
	// ExcludeStacks: rows launched only from inside these frames (every
	// site with a stack has a frame holding one of them) never match.
	ExcludeStacks []string

	keys    []keyword
	require []keyword
	exclude []keyword
	stacks  []keyword
	res     []*regexp.Regexp
}

// empty reports whether the group can match nothing (no keywords, no regexps).
func (g *Group) empty() bool { return len(g.Keywords) == 0 && len(g.Regexps) == 0 }

// keyword is a keyword prepared for matching: lower-cased, and reduced to
// lower-case letters and digits.
type keyword struct {
	lower, compact string
}

func newKeyword(s string) keyword {
	return keyword{lower: strings.ToLower(s), compact: compact(s)}
}

// Pattern is one entry of the catalogue: a fused implementation, how to
// recognise it and its unfused pieces, where it applies and where it lives.
type Pattern struct {
	// Name identifies the pattern; a user catalogue replaces an embedded
	// pattern of the same name.
	Name string
	// Origin is OriginMainline, OriginUpstream or OriginInflight.
	Origin string
	// Priority orders the selection: higher first.
	Priority int
	// MinSharePct is the least share of stage GPU time the split pieces must
	// take to be reported; LikelySharePct is the share from which a split
	// opportunity is "Confirmed" rather than "Candidate".
	MinSharePct, LikelySharePct float64
	// RequireTP with MinTPSize: the pattern applies only from that
	// tensor-parallel size on.
	RequireTP bool
	MinTPSize int
	// ModelInclude: the model name must contain one of these (when set);
	// ModelExclude: it must contain none of these.
	ModelInclude, ModelExclude []string
	// Subsumes names patterns that are not reported once this one is.
	Subsumes []string
	// Active recognises the fused implementation.
	Active Group
	// SplitGroups recognise the unfused pieces, one group per piece.
	SplitGroups []Group
	// CandidatePaths are the source files of the fused implementation (or an
	// upstream change reference such as "PR #20667").
	CandidatePaths []string
	// Rationale is one sentence on what the fused path does.
	Rationale string
	// Source is "file:line" where the pattern is defined.
	Source string

	frameworks []string // framework hints from CandidatePaths
	line       int
	file       string
}

// Frameworks returns the frameworks the pattern applies to, as hinted by its
// candidate paths ("sglang", "vllm", "trtllm"); empty means every framework.
func (p *Pattern) Frameworks() []string { return append([]string(nil), p.frameworks...) }

// Catalog is an immutable, validated list of patterns in registry order.
// Its methods are safe for concurrent use.
type Catalog struct {
	patterns []Pattern
}

// Patterns returns a deep copy of the catalogue's patterns in registry
// order; changing it does not change the catalogue.
func (c *Catalog) Patterns() []Pattern {
	out := make([]Pattern, len(c.patterns))
	for i, p := range c.patterns {
		p.ModelInclude = slices.Clone(p.ModelInclude)
		p.ModelExclude = slices.Clone(p.ModelExclude)
		p.Subsumes = slices.Clone(p.Subsumes)
		p.CandidatePaths = slices.Clone(p.CandidatePaths)
		p.Active = p.Active.clone()
		groups := make([]Group, len(p.SplitGroups))
		for j := range p.SplitGroups {
			groups[j] = p.SplitGroups[j].clone()
		}
		if p.SplitGroups == nil {
			groups = nil
		}
		p.SplitGroups = groups
		p.frameworks = slices.Clone(p.frameworks)
		out[i] = p
	}
	return out
}

// clone copies the group's slices; the compiled matchers are immutable and
// shared.
func (g Group) clone() Group {
	g.Keywords = slices.Clone(g.Keywords)
	g.Regexps = slices.Clone(g.Regexps)
	g.Categories = slices.Clone(g.Categories)
	g.ExcludeCategories = slices.Clone(g.ExcludeCategories)
	g.RequireKeywords = slices.Clone(g.RequireKeywords)
	g.ExcludeKeywords = slices.Clone(g.ExcludeKeywords)
	g.ExcludeStacks = slices.Clone(g.ExcludeStacks)
	return g
}

// Len returns the number of patterns.
func (c *Catalog) Len() int { return len(c.patterns) }

// Default parses the embedded catalogue (catalog.yaml).
func Default() (*Catalog, error) {
	c, err := Load(strings.NewReader(string(embeddedCatalog)), EmbeddedName)
	if err != nil {
		return nil, err
	}
	if err := c.checkSubsumes(); err != nil {
		return nil, err
	}
	return c, nil
}

// DefaultWith returns the embedded catalogue extended by the user catalogue
// at path (see Extend). An empty path returns Default().
func DefaultWith(path string) (*Catalog, error) {
	base, err := Default()
	if err != nil {
		return nil, err
	}
	if path == "" {
		return base, nil
	}
	user, err := LoadFile(path)
	if err != nil {
		return nil, err
	}
	return base.Extend(user)
}

// LoadFile reads a catalogue file. Errors name the file.
func LoadFile(path string) (*Catalog, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("fuse catalog: %w", err)
	}
	defer f.Close()
	return Load(f, path)
}

// Extend returns a new catalogue: c's patterns, each replaced in place by the
// user pattern of the same name, followed by the user's new patterns in their
// order. Every subsumes entry must name a pattern of the result.
func (c *Catalog) Extend(user *Catalog) (*Catalog, error) {
	byName := make(map[string]int, len(c.patterns))
	out := &Catalog{patterns: append([]Pattern(nil), c.patterns...)}
	for i, p := range out.patterns {
		byName[p.Name] = i
	}
	for _, p := range user.patterns {
		if i, ok := byName[p.Name]; ok {
			out.patterns[i] = p
			continue
		}
		byName[p.Name] = len(out.patterns)
		out.patterns = append(out.patterns, p)
	}
	if err := out.checkSubsumes(); err != nil {
		return nil, err
	}
	return out, nil
}

func (c *Catalog) checkSubsumes() error {
	names := make(map[string]bool, len(c.patterns))
	for _, p := range c.patterns {
		names[p.Name] = true
	}
	for _, p := range c.patterns {
		for _, s := range p.Subsumes {
			if !names[s] {
				return &CatalogError{File: p.file, Line: p.line, Pattern: p.Name,
					Msg: fmt.Sprintf("subsumes %q, which is not a pattern of the catalogue; fix the name or remove it", s)}
			}
		}
	}
	return nil
}

// Load parses and validates a catalogue (YAML, see docs/fusion.md). name is
// the file name used in errors. Subsumes entries are checked by Default and
// Extend, since a user file may name embedded patterns.
func Load(r io.Reader, name string) (*Catalog, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxCatalogBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read fuse catalog %s: %w", name, err)
	}
	if len(data) > maxCatalogBytes {
		return nil, &CatalogError{File: name, Msg: fmt.Sprintf("file is larger than %d MiB", maxCatalogBytes>>20)}
	}
	// Repeated keys are reported by the decoder, with the pattern's name.
	docs, err := yamltree.ParseDocuments(name, data, yamltree.AllowDuplicateKeys())
	if err != nil {
		return nil, yamlError(name, err)
	}
	if len(docs) > 1 {
		return nil, &CatalogError{File: name, Line: docs[1].Line, Msg: "a second YAML document; put every pattern in one document"}
	}
	if len(docs) == 0 || docs[0].Root == nil {
		return nil, &CatalogError{File: name, Msg: "the file is empty; want a mapping with a patterns list"}
	}
	d := &decoder{file: name}
	pats, err := d.document(docs[0].Root)
	if err != nil {
		return nil, err
	}
	return &Catalog{patterns: pats}, nil
}

// yamlError turns a YAML parse error into a one-line CatalogError.
func yamlError(file string, err error) error {
	var ye *yamltree.Error
	if !errors.As(err, &ye) {
		return &CatalogError{File: file, Msg: "YAML syntax: " + strings.Join(strings.Fields(err.Error()), " ")}
	}
	msg := ye.Msg
	if ye.Syntax {
		msg = "YAML syntax: " + msg
	}
	return &CatalogError{File: file, Line: ye.Line, Msg: msg}
}

// decoder walks the YAML node tree of a catalogue file.
type decoder struct {
	file    string
	current string // name of the pattern being decoded, for errors
	nodes   int
}

func (d *decoder) errf(n *yamltree.Node, format string, args ...any) error {
	line := 0
	if n != nil {
		line = n.Line
	}
	return &CatalogError{File: d.file, Line: line, Pattern: d.current, Msg: fmt.Sprintf(format, args...)}
}

// visit counts the nodes the decoder walks, so that aliases (shared nodes
// in the tree, walked once per reference) cannot make it walk without end.
func (d *decoder) visit(n *yamltree.Node) (*yamltree.Node, error) {
	d.nodes++
	if d.nodes > maxCatalogNodes {
		return nil, d.errf(n, "too many entries (more than %d after expanding aliases)", maxCatalogNodes)
	}
	return n, nil
}

func kindName(n *yamltree.Node) string {
	switch n.Kind {
	case yamltree.Mapping:
		return "a mapping"
	case yamltree.Sequence:
		return "a list"
	case yamltree.Scalar:
		return "a scalar"
	case yamltree.Null:
		return "null"
	}
	return "an unexpected node"
}

// fields iterates over a mapping's keys, rejecting unknown and repeated
// keys.
func (d *decoder) fields(n *yamltree.Node, what string, known []string, fn func(key string, v *yamltree.Node) error) error {
	if n.Kind != yamltree.Mapping {
		return d.errf(n, "%s: want a mapping, found %s", what, kindName(n))
	}
	seen := map[string]bool{}
	for _, kv := range n.Pairs {
		kn, err := d.visit(kv.KeyNode)
		if err != nil {
			return err
		}
		if kn.Kind != yamltree.Scalar {
			return d.errf(kn, "%s: keys must be plain names, found %s", what, kindName(kn))
		}
		key := kv.Key
		ok := false
		for _, k := range known {
			if k == key {
				ok = true
				break
			}
		}
		if !ok {
			return d.errf(kn, "%s: unknown field %q (known fields: %s)", what, key, strings.Join(known, ", "))
		}
		if seen[key] {
			return d.errf(kn, "%s: field %q appears twice", what, key)
		}
		seen[key] = true
		v, err := d.visit(kv.Value)
		if err != nil {
			return err
		}
		if err := fn(key, v); err != nil {
			return err
		}
	}
	return nil
}

func (d *decoder) str(n *yamltree.Node, field string) (string, error) {
	if n.Kind != yamltree.Scalar {
		return "", d.errf(n, "%s: want a string, found %s", field, kindName(n))
	}
	return n.Value, nil
}

func (d *decoder) strs(n *yamltree.Node, field string) ([]string, error) {
	if n.Kind == yamltree.Null {
		return nil, nil
	}
	if n.Kind != yamltree.Sequence {
		return nil, d.errf(n, "%s: want a list of strings, found %s", field, kindName(n))
	}
	out := make([]string, 0, len(n.Items))
	for i, c := range n.Items {
		c, err := d.visit(c)
		if err != nil {
			return nil, err
		}
		s, err := d.str(c, fmt.Sprintf("%s[%d]", field, i))
		if err != nil {
			return nil, err
		}
		if strings.TrimSpace(s) == "" {
			return nil, d.errf(c, "%s[%d] is empty", field, i)
		}
		out = append(out, s)
	}
	return out, nil
}

func (d *decoder) float(n *yamltree.Node, field string) (float64, error) {
	f, ok := n.Float()
	if !ok {
		return 0, d.errf(n, "%s: want a number, found %q", field, n.Value)
	}
	return f, nil
}

func (d *decoder) int(n *yamltree.Node, field string) (int, error) {
	i, ok := n.Int()
	if !ok || int64(int(i)) != i {
		return 0, d.errf(n, "%s: want a whole number, found %q", field, n.Value)
	}
	return int(i), nil
}

func (d *decoder) bool(n *yamltree.Node, field string) (bool, error) {
	b, ok := n.Bool()
	if !ok {
		return false, d.errf(n, "%s: want true or false, found %q", field, n.Value)
	}
	return b, nil
}

var (
	docFields     = []string{"version", "patterns"}
	patternFields = []string{"pattern", "origin", "priority", "min_share", "likely_share", "require_tp",
		"min_tp_size", "model_include", "model_exclude", "subsumes", "active", "split_groups",
		"candidate_paths", "rationale"}
	groupFields = []string{"keywords", "regexps", "categories", "exclude_categories", "require_keywords",
		"exclude_keywords", "exclude_stacks"}
)

func (d *decoder) document(root *yamltree.Node) ([]Pattern, error) {
	root, err := d.visit(root)
	if err != nil {
		return nil, err
	}
	var pats []Pattern
	havePatterns := false
	err = d.fields(root, "top level", docFields, func(key string, v *yamltree.Node) error {
		switch key {
		case "version":
			ver, err := d.int(v, "version")
			if err != nil {
				return err
			}
			if ver != 1 {
				return d.errf(v, "version %d is not supported; want 1", ver)
			}
		case "patterns":
			havePatterns = true
			if v.Kind != yamltree.Sequence {
				return d.errf(v, "patterns: want a list of patterns, found %s", kindName(v))
			}
			first := map[string]int{}
			for _, c := range v.Items {
				c, err := d.visit(c)
				if err != nil {
					return err
				}
				p, err := d.pattern(c)
				if err != nil {
					return err
				}
				if l, dup := first[p.Name]; dup {
					return &CatalogError{File: d.file, Line: p.line, Pattern: p.Name,
						Msg: fmt.Sprintf("defined twice in this file (first at line %d)", l)}
				}
				first[p.Name] = p.line
				pats = append(pats, p)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !havePatterns || len(pats) == 0 {
		return nil, d.errf(root, "no patterns: want a non-empty patterns list")
	}
	return pats, nil
}

func (d *decoder) pattern(n *yamltree.Node) (Pattern, error) {
	p := Pattern{MinTPSize: 1, line: n.Line, file: d.file}
	d.current = ""
	defer func() { d.current = "" }()
	if n.Kind != yamltree.Mapping {
		return p, d.errf(n, "each pattern must be a mapping, found %s", kindName(n))
	}
	// The name first, so that every later error names the pattern.
	for _, kv := range n.Pairs {
		if kv.Key == "pattern" && kv.Value.Kind == yamltree.Scalar {
			d.current = kv.Value.Value
		}
	}
	seen := map[string]*yamltree.Node{}
	err := d.fields(n, "pattern", patternFields, func(key string, v *yamltree.Node) error {
		seen[key] = v
		var err error
		switch key {
		case "pattern":
			p.Name, err = d.str(v, key)
			if err == nil && strings.TrimSpace(p.Name) == "" {
				err = d.errf(v, "pattern: the name is empty")
			}
		case "origin":
			p.Origin, err = d.str(v, key)
			if err == nil && p.Origin != OriginMainline && p.Origin != OriginUpstream && p.Origin != OriginInflight {
				err = d.errf(v, "origin %q: want mainline, upstream or inflight", p.Origin)
			}
		case "priority":
			p.Priority, err = d.int(v, key)
		case "min_share":
			p.MinSharePct, err = d.percent(v, key)
		case "likely_share":
			p.LikelySharePct, err = d.percent(v, key)
		case "require_tp":
			p.RequireTP, err = d.bool(v, key)
		case "min_tp_size":
			p.MinTPSize, err = d.int(v, key)
			if err == nil && p.MinTPSize < 1 {
				err = d.errf(v, "min_tp_size %d: want 1 or more", p.MinTPSize)
			}
		case "model_include":
			p.ModelInclude, err = d.strs(v, key)
		case "model_exclude":
			p.ModelExclude, err = d.strs(v, key)
		case "subsumes":
			p.Subsumes, err = d.strs(v, key)
		case "active":
			p.Active, err = d.group(v, "active")
		case "split_groups":
			if v.Kind != yamltree.Sequence {
				return d.errf(v, "split_groups: want a list of groups, found %s", kindName(v))
			}
			for i, c := range v.Items {
				c, err := d.visit(c)
				if err != nil {
					return err
				}
				g, err := d.group(c, fmt.Sprintf("split_groups[%d]", i))
				if err != nil {
					return err
				}
				if g.empty() {
					return d.errf(c, "split_groups[%d] has no keywords or regexps", i)
				}
				p.SplitGroups = append(p.SplitGroups, g)
			}
		case "candidate_paths":
			p.CandidatePaths, err = d.strs(v, key)
		case "rationale":
			p.Rationale, err = d.str(v, key)
			p.Rationale = strings.TrimSpace(p.Rationale)
		}
		return err
	})
	if err != nil {
		return p, err
	}
	for _, req := range []string{"pattern", "origin", "candidate_paths", "rationale"} {
		if seen[req] == nil {
			return p, d.errf(n, "missing field %q", req)
		}
	}
	if p.Rationale == "" {
		return p, d.errf(seen["rationale"], "rationale is empty; write one sentence on what the fused path does")
	}
	if len(p.CandidatePaths) == 0 {
		return p, d.errf(seen["candidate_paths"], "candidate_paths is empty; name at least one source path")
	}
	if p.LikelySharePct < p.MinSharePct {
		return p, d.errf(n, "likely_share %g is below min_share %g", p.LikelySharePct, p.MinSharePct)
	}
	if p.Active.empty() && len(p.SplitGroups) == 0 {
		return p, d.errf(n, "no active keywords and no split groups: the pattern could never match")
	}
	for _, s := range p.Subsumes {
		if s == p.Name {
			return p, d.errf(seen["subsumes"], "subsumes itself")
		}
	}
	p.Source = fmt.Sprintf("%s:%d", d.file, p.line)
	p.frameworks = frameworkHints(p.CandidatePaths)
	return p, nil
}

func (d *decoder) percent(n *yamltree.Node, field string) (float64, error) {
	f, err := d.float(n, field)
	if err != nil {
		return 0, err
	}
	if !(f >= 0 && f <= 100) {
		return 0, d.errf(n, "%s %g: want a percentage between 0 and 100", field, f)
	}
	return f, nil
}

func (d *decoder) group(n *yamltree.Node, what string) (Group, error) {
	var g Group
	var requireNode *yamltree.Node
	err := d.fields(n, what, groupFields, func(key string, v *yamltree.Node) error {
		var err error
		field := what + "." + key
		switch key {
		case "keywords":
			g.Keywords, err = d.strs(v, field)
		case "regexps":
			g.Regexps, err = d.strs(v, field)
			for _, s := range g.Regexps {
				re, rerr := regexp.Compile(s)
				if rerr != nil {
					return d.errf(v, "%s: %q is not a valid regular expression: %v", field, s, rerr)
				}
				g.res = append(g.res, re)
			}
		case "categories":
			g.Categories, err = d.strs(v, field)
		case "exclude_categories":
			g.ExcludeCategories, err = d.strs(v, field)
		case "require_keywords":
			requireNode = v
			g.RequireKeywords, err = d.strs(v, field)
		case "exclude_keywords":
			g.ExcludeKeywords, err = d.strs(v, field)
		case "exclude_stacks":
			g.ExcludeStacks, err = d.strs(v, field)
		}
		return err
	})
	if err != nil {
		return g, err
	}
	if len(g.RequireKeywords) > 0 && g.empty() {
		return g, d.errf(requireNode, "%s.require_keywords narrows keywords or regexps, and the group has none", what)
	}
	for _, k := range g.Keywords {
		g.keys = append(g.keys, newKeyword(k))
	}
	for _, k := range g.RequireKeywords {
		g.require = append(g.require, newKeyword(k))
	}
	for _, k := range g.ExcludeKeywords {
		g.exclude = append(g.exclude, newKeyword(k))
	}
	for _, k := range g.ExcludeStacks {
		g.stacks = append(g.stacks, newKeyword(k))
	}
	for i := range g.Categories {
		g.Categories[i] = strings.ToLower(g.Categories[i])
	}
	for i := range g.ExcludeCategories {
		g.ExcludeCategories[i] = strings.ToLower(g.ExcludeCategories[i])
	}
	return g, nil
}

// frameworkHints derives the frameworks a pattern belongs to from its
// candidate paths (triage-behaviour.md §10 rule 2).
func frameworkHints(paths []string) []string {
	var out []string
	add := func(f string) {
		for _, x := range out {
			if x == f {
				return
			}
		}
		out = append(out, f)
	}
	for _, p := range paths {
		l := strings.ToLower(p)
		if strings.Contains(l, "vllm/") {
			add("vllm")
		}
		if strings.Contains(l, "tensorrt_llm/") {
			add("trtllm")
		}
		if strings.Contains(l, "python/sglang/") || strings.Contains(l, "sgl-kernel/") || strings.Contains(l, "sgl_kernel/") {
			add("sglang")
		}
	}
	return out
}

// compact lower-cases s and keeps only ASCII letters and digits.
func compact(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			b.WriteByte(c)
		case c >= 'A' && c <= 'Z':
			b.WriteByte(c + 'a' - 'A')
		}
	}
	return b.String()
}

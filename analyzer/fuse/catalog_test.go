package fuse

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tracetriage/tracetriage/internal/testutil"
)

// validPattern is a minimal valid pattern body, indented as a list item.
const validPattern = `
  - pattern: P
    origin: mainline
    min_share: 0.1
    likely_share: 1
    active: {keywords: [k]}
    candidate_paths: [python/sglang/x.py]
    rationale: Does it.
`

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name     string
		src      string
		wantLine int
		wantMsg  string
	}{
		{"empty file", ``, 0, "the file is empty"},
		{"comments only", "# nothing\n", 0, "the file is empty"},
		{"two documents", "patterns:" + validPattern + "---\npatterns: []\n", 9, "a second YAML document"},
		{"syntax error", "patterns:\n  - pattern: [unclosed\n", 2, "YAML syntax"},
		{"top level not a mapping", "- a\n- b\n", 1, "top level: want a mapping"},
		{"unknown top-level field", "version: 1\npatern: []\n", 2, `unknown field "patern"`},
		{"bad version", "version: 2\npatterns:" + validPattern, 1, "version 2 is not supported"},
		{"no patterns", "version: 1\n", 1, "no patterns"},
		{"patterns not a list", "patterns: {a: 1}\n", 1, "want a list of patterns"},
		{"unknown pattern field", "patterns:" + validPattern + "    priorty: 3\n", 9, `pattern "P": pattern: unknown field "priorty"`},
		{"repeated field", "patterns:" + validPattern + "    origin: upstream\n", 9, `field "origin" appears twice`},
		{"missing name", "patterns:\n  - origin: mainline\n    active: {keywords: [k]}\n    candidate_paths: [a]\n    rationale: R.\n", 2, `missing field "pattern"`},
		{"empty name", "patterns:\n  - pattern: ' '\n", 2, "the name is empty"},
		{"bad origin", strings.Replace("patterns:"+validPattern, "mainline", "main", 1), 3, `origin "main": want mainline, upstream or inflight`},
		{"share not a number", strings.Replace("patterns:"+validPattern, "min_share: 0.1", "min_share: lots", 1), 4, `min_share: want a number, found "lots"`},
		{"share out of range", strings.Replace("patterns:"+validPattern, "likely_share: 1", "likely_share: 120", 1), 5, "likely_share 120: want a percentage between 0 and 100"},
		{"likely below min", strings.Replace("patterns:"+validPattern, "likely_share: 1", "likely_share: 0.05", 1), 2, "likely_share 0.05 is below min_share 0.1"},
		{"priority not whole", "patterns:" + validPattern + "    priority: 1.5\n", 9, "priority: want a whole number"},
		{"require_tp not bool", "patterns:" + validPattern + "    require_tp: maybe\n", 9, "require_tp: want true or false"},
		{"min_tp_size zero", "patterns:" + validPattern + "    min_tp_size: 0\n", 9, "min_tp_size 0: want 1 or more"},
		{"keywords not a list", strings.Replace("patterns:"+validPattern, "{keywords: [k]}", "{keywords: k}", 1), 6, "active.keywords: want a list of strings"},
		{"empty keyword", strings.Replace("patterns:"+validPattern, "[k]", `[k, ""]`, 1), 6, "active.keywords[1] is empty"},
		{"unknown group field", strings.Replace("patterns:"+validPattern, "{keywords: [k]}", "{keyword: [k]}", 1), 6, `active: unknown field "keyword"`},
		{"bad regexp", strings.Replace("patterns:"+validPattern, "{keywords: [k]}", "{regexps: ['a(']}", 1), 6, "is not a valid regular expression"},
		{"nothing to match", strings.Replace("patterns:"+validPattern, "    active: {keywords: [k]}\n", "", 1), 2, "could never match"},
		{"empty split group", "patterns:" + validPattern + "    split_groups: [{categories: [norm]}]\n", 9, "split_groups[0] has no keywords or regexps"},
		{"require_keywords without keywords", "patterns:" + validPattern + "    split_groups:\n      - require_keywords: [fp8]\n", 10,
			"split_groups[0].require_keywords narrows keywords or regexps, and the group has none"},
		{"require_keywords not a list", strings.Replace("patterns:"+validPattern, "{keywords: [k]}", "{keywords: [k], require_keywords: fp8}", 1), 6,
			"active.require_keywords: want a list of strings"},
		{"empty required keyword", strings.Replace("patterns:"+validPattern, "{keywords: [k]}", "{keywords: [k], require_keywords: [fp8, '']}", 1), 6,
			"active.require_keywords[1] is empty"},
		{"no candidate paths", strings.Replace("patterns:"+validPattern, "[python/sglang/x.py]", "[]", 1), 7, "candidate_paths is empty"},
		{"no rationale", strings.Replace("patterns:"+validPattern, "rationale: Does it.", "rationale: ''", 1), 8, "rationale is empty"},
		{"missing rationale", strings.Replace("patterns:"+validPattern, "    rationale: Does it.\n", "", 1), 2, `missing field "rationale"`},
		{"subsumes itself", "patterns:" + validPattern + "    subsumes: [P]\n", 9, "subsumes itself"},
		{"defined twice", "patterns:" + validPattern + validPattern, 10, "defined twice in this file (first at line 2)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(strings.NewReader(tt.src), "user.yaml")
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			if !errors.Is(err, ErrInvalidCatalog) {
				t.Errorf("error %v does not wrap ErrInvalidCatalog", err)
			}
			var ce *CatalogError
			if !errors.As(err, &ce) {
				t.Fatalf("error %T is not a *CatalogError", err)
			}
			if ce.Line != tt.wantLine {
				t.Errorf("line %d, want %d (%v)", ce.Line, tt.wantLine, err)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "user.yaml") || !strings.Contains(msg, tt.wantMsg) {
				t.Errorf("error %q: want the file name and %q", msg, tt.wantMsg)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error %q spans several lines", msg)
			}
		})
	}
}

func TestPatternsIsACopy(t *testing.T) {
	c := mustLoad(t, "patterns:"+validPattern+"    split_groups: [{keywords: [q], categories: [quantize], require_keywords: [q]}]\n")
	ps := c.Patterns()
	ps[0].SplitGroups[0].Categories[0] = "gemm"
	ps[0].SplitGroups[0].RequireKeywords[0] = "changed"
	ps[0].CandidatePaths[0] = "changed"
	got := c.Match([]Kernel{k("k", "norm", 5, "", ""), k("q", "quantize", 5, "", "")}, Context{StageTotalUS: 100})
	if len(got) != 1 || got[0].Confidence != ConfidenceConfirmed || got[0].CandidatePaths[0] != "python/sglang/x.py" {
		t.Errorf("changing Patterns() changed the catalogue: %+v", got)
	}
	if g := c.Patterns()[0].SplitGroups[0]; g.Categories[0] != "quantize" || g.RequireKeywords[0] != "q" {
		t.Errorf("changing Patterns() changed the catalogue's group: %+v", g)
	}
}

func TestLoadFileMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "absent.yaml")
	_, err := DefaultWith(path)
	if err == nil || !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), path) {
		t.Errorf("error %v: want a not-exist error naming %s", err, path)
	}
}

func TestExtend(t *testing.T) {
	base := mustDefault(t)
	names := func(c *Catalog) []string {
		var out []string
		for _, p := range c.Patterns() {
			out = append(out, p.Name)
		}
		return out
	}
	baseNames := names(base)
	user := `
patterns:
  - pattern: Fused residual add + RMSNorm
    origin: mainline
    min_share: 0.1
    likely_share: 1
    active: {keywords: [my_add_norm_kernel]}
    candidate_paths: [python/sglang/srt/layers/layernorm.py]
    rationale: Our own add+norm kernel.
  - pattern: My new fusion
    origin: inflight
    priority: 95
    min_share: 0.1
    likely_share: 1
    subsumes: [Fused RoPE + KV cache store]
    split_groups: [{keywords: [my_rope]}, {keywords: [my_store]}]
    candidate_paths: ["PR #1"]
    rationale: Ours.
`
	path := filepath.Join(t.TempDir(), "user.yaml")
	if err := os.WriteFile(path, []byte(user), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := DefaultWith(path)
	if err != nil {
		t.Fatal(err)
	}
	got := names(c)
	want := append(append([]string(nil), baseNames...), "My new fusion")
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("names %q, want the embedded ones (replaced in place) plus the new one", got)
	}
	p := c.Patterns()[0]
	if p.Rationale != "Our own add+norm kernel." || p.Source != path+":3" {
		t.Errorf("pattern 0 not replaced: %q from %s", p.Rationale, p.Source)
	}
	if base.Patterns()[0].Rationale == p.Rationale {
		t.Error("Extend modified the base catalogue")
	}
	got2 := patterns(c.Match([]Kernel{k("my_add_norm_kernel", "norm", 5, "", "")}, Context{Framework: "sglang", StageTotalUS: 100}))
	if !reflect.DeepEqual(got2, []string{"Fused residual add + RMSNorm|Already fused"}) {
		t.Errorf("replaced pattern does not match its new keyword: %q", got2)
	}
	// The new pattern's subsumes entry names an embedded pattern: allowed.
	// One naming nothing is not.
	bad, err := Load(strings.NewReader(strings.Replace(user, "Fused RoPE + KV cache store", "No such pattern", 1)), "bad.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = base.Extend(bad)
	var ce *CatalogError
	if !errors.As(err, &ce) || ce.File != "bad.yaml" || ce.Line != 10 || !strings.Contains(err.Error(), `subsumes "No such pattern"`) {
		t.Errorf("Extend error %v: want bad.yaml:10 and the unknown name", err)
	}
}

// facts mirrors ../shared/spec/fuse-catalog-facts.json.
type facts struct {
	Patterns []struct {
		Pattern        string     `json:"pattern"`
		ActiveKeywords []string   `json:"active_keywords"`
		SplitGroups    [][]string `json:"split_groups"`
		Origin         string     `json:"origin"`
		ModelInclude   []string   `json:"model_include"`
		ModelExclude   []string   `json:"model_exclude"`
		MinTPSize      int        `json:"min_tp_size"`
		RequireTP      bool       `json:"require_tp"`
		MinShare       float64    `json:"min_share"`
		LikelyShare    float64    `json:"likely_share"`
		Priority       int        `json:"priority"`
		Subsumes       []string   `json:"subsumes"`
		CandidatePaths []string   `json:"candidate_paths"`
	} `json:"patterns"`
}

// activeKeywordChanges are the deliberate differences between the embedded
// active keywords and the reference registry (docs/fusion.md).
var activeKeywordChanges = map[string]struct{ added, removed []string }{
	"Fused residual add + RMSNorm":              {added: []string{"aiter::add_rmsnorm"}},
	"FlashInfer unified allreduce_fusion":       {removed: []string{"fusedaddrmsnormkernel"}},
	"Fused activation-and-mul (SwiGLU / GeGLU)": {added: []string{"act_and_mul_kernel"}},
	"vLLM fused residual add + RMSNorm":         {added: []string{"aiter::add_rmsnorm"}},
}

// TestDefaultMatchesFacts checks the embedded catalogue against the
// reference registry's data: same patterns in the same order, same gates,
// priorities, candidate paths and split keywords, and active keywords equal
// up to the documented changes.
func TestDefaultMatchesFacts(t *testing.T) {
	raw, err := os.ReadFile(testutil.SharedFile(t, "spec/fuse-catalog-facts.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f facts
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	c := mustDefault(t)
	ps := c.Patterns()
	if len(ps) != len(f.Patterns) || len(ps) != 40 {
		t.Fatalf("%d patterns, facts have %d", len(ps), len(f.Patterns))
	}
	orEmpty := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	for i, fp := range f.Patterns {
		p := ps[i]
		if p.Name != fp.Pattern {
			t.Errorf("pattern %d: %q, facts %q", i+1, p.Name, fp.Pattern)
			continue
		}
		type gates struct {
			Origin               string
			Priority             int
			Min, Likely          float64
			RequireTP            bool
			MinTP                int
			Inc, Exc, Subs, Cand []string
		}
		got := gates{p.Origin, p.Priority, p.MinSharePct, p.LikelySharePct, p.RequireTP, p.MinTPSize,
			orEmpty(p.ModelInclude), orEmpty(p.ModelExclude), orEmpty(p.Subsumes), p.CandidatePaths}
		want := gates{fp.Origin, fp.Priority, fp.MinShare, fp.LikelyShare, fp.RequireTP, fp.MinTPSize,
			orEmpty(fp.ModelInclude), orEmpty(fp.ModelExclude), orEmpty(fp.Subsumes), fp.CandidatePaths}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: gates %+v, facts %+v", p.Name, got, want)
		}
		var split [][]string
		for _, g := range p.SplitGroups {
			split = append(split, g.Keywords)
		}
		if len(split) != len(fp.SplitGroups) || (len(split) > 0 && !reflect.DeepEqual(split, fp.SplitGroups)) {
			t.Errorf("%s: split keywords %q, facts %q", p.Name, split, fp.SplitGroups)
		}
		wantActive := []string{}
		ch := activeKeywordChanges[p.Name]
		for _, kw := range fp.ActiveKeywords {
			if !contains(ch.removed, kw) {
				wantActive = append(wantActive, kw)
			}
		}
		wantActive = append(wantActive, ch.added...)
		if !reflect.DeepEqual(orEmpty(p.Active.Keywords), wantActive) {
			t.Errorf("%s: active keywords %q, want %q", p.Name, p.Active.Keywords, wantActive)
		}
		if p.Rationale == "" || !strings.HasSuffix(p.Rationale, ".") {
			t.Errorf("%s: rationale %q: want one sentence", p.Name, p.Rationale)
		}
	}
}

func TestDefaultFrameworkHints(t *testing.T) {
	// triage-behaviour.md §10: #1-#25 SGLang, #26-#36 vLLM, #37-#40 TensorRT-LLM.
	for i, p := range mustDefault(t).Patterns() {
		want := "sglang"
		switch {
		case i >= 36:
			want = "trtllm"
		case i >= 25:
			want = "vllm"
		}
		if got := p.Frameworks(); !reflect.DeepEqual(got, []string{want}) {
			t.Errorf("#%d %s: frameworks %q, want [%s]", i+1, p.Name, got, want)
		}
	}
}

func TestDefaultRationalesDistinct(t *testing.T) {
	seen := map[string]string{}
	for _, p := range mustDefault(t).Patterns() {
		if other, dup := seen[p.Rationale]; dup {
			t.Errorf("%s and %s share a rationale", p.Name, other)
		}
		seen[p.Rationale] = p.Name
	}
}

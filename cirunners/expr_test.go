package cirunners

import (
	"sort"
	"strings"
	"testing"
)

// mapResolver resolves context paths from a fixed table.
type mapResolver map[string][]string

func (m mapResolver) lookup(p []string) (vset, bool) {
	vals, ok := m[strings.Join(p, ".")]
	if !ok {
		return nil, false
	}
	var out vset
	for _, v := range vals {
		out = out.add(strVal(v))
	}
	return out, true
}

// labels evaluates a template and returns its known string values and
// unresolved parts, sorted.
func labels(t *testing.T, tmpl string, r resolver) (known, unresolved []string) {
	t.Helper()
	parts, err := parseTemplate(tmpl)
	if err != nil {
		t.Fatalf("parse %q: %v", tmpl, err)
	}
	for _, v := range evalTemplate(parts, r) {
		switch {
		case v.kind == vUnknown && !v.falsy && !v.boolean:
			unresolved = append(unresolved, v.src)
		case v.kind == vString && v.s != "":
			known = append(known, v.s)
		case v.kind == vList:
			known = append(known, strings.Join(v.list, "+"))
		}
	}
	sort.Strings(known)
	sort.Strings(unresolved)
	return known, unresolved
}

func TestEvalRunsOnExpressions(t *testing.T) {
	env := mapResolver{
		"matrix.runner":         {"linux-mi35x-gpu-1", "linux-mi35x-gpu-8"},
		"inputs.runner_arch":    {"", "mi300"},
		"inputs.b200_runner":    {"4-gpu-b200", "4-gpu-b200-kernel"},
		"needs.setup.outputs.x": {`["self-hosted","gpu"]`},
	}
	tests := []struct {
		tmpl       string
		known      []string
		unresolved []string
	}{
		{"1-gpu-h100", []string{"1-gpu-h100"}, nil},
		{"${{ 'a' }}", []string{"a"}, nil},
		{"${{ matrix.runner }}", []string{"linux-mi35x-gpu-1", "linux-mi35x-gpu-8"}, nil},
		{"${{ inputs.b200_runner }}", []string{"4-gpu-b200", "4-gpu-b200-kernel"}, nil},
		{"${{ github.event_name == 'pull_request' && 'mi300' || 'mi325' }}", []string{"mi300", "mi325"}, nil},
		{"${{ format('linux-{0}-1gpu-sglang', inputs.runner_arch || (github.event_name == 'pull_request' && 'mi300' || 'mi325')) }}",
			[]string{"linux-mi300-1gpu-sglang", "linux-mi325-1gpu-sglang"}, nil},
		{"${{ fromJSON('\"8-gpu-h200\"') }}", []string{"8-gpu-h200"}, nil},
		{"${{ fromJSON('[\"self-hosted\", \"b200\"]') }}", []string{"self-hosted+b200"}, nil},
		{"${{ fromJSON(needs.setup.outputs.x) }}", []string{"self-hosted+gpu"}, nil},
		{"${{ fromJSON(needs.other.outputs.x) }}", nil, []string{"fromJSON(needs.other.outputs.x)"}},
		{"linux-${{ matrix.runner }}-x", []string{"linux-linux-mi35x-gpu-1-x", "linux-linux-mi35x-gpu-8-x"}, nil},
		{"${{ vars.RUNNER }}", nil, []string{"vars.RUNNER"}},
		{"${{ vars.RUNNER || 'fallback' }}", []string{"fallback"}, []string{"vars.RUNNER"}},
		{"${{ !true && 'x' || 'y' }}", []string{"y"}, nil},
		{"${{ 1 == 1.0 && 'eq' || 'ne' }}", []string{"eq"}, nil},
		{"${{ 'ABC' == 'abc' && 'ci' || 'cs' }}", []string{"ci"}, nil},
		{"${{ contains('4-gpu-b200-low-disk', 'low-disk') && 'ld' || 'n' }}", []string{"ld"}, nil},
		{"${{ format('{0}-{{x}}-{1}', 'a', 'b') }}", []string{"a-{x}-b"}, nil},
		{"${{ github['event_name'] == 'push' && 'p' || 'q' }}", []string{"p", "q"}, nil},
		{"${{ startsWith(matrix.runner, 'linux') && matrix.runner || 'none' }}", []string{"linux-mi35x-gpu-1", "linux-mi35x-gpu-8"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.tmpl, func(t *testing.T) {
			known, unres := labels(t, tc.tmpl, env)
			if strings.Join(known, ",") != strings.Join(tc.known, ",") {
				t.Errorf("known = %q, want %q", known, tc.known)
			}
			if strings.Join(unres, ",") != strings.Join(tc.unresolved, ",") {
				t.Errorf("unresolved = %q, want %q", unres, tc.unresolved)
			}
		})
	}
}

func TestParseExprErrors(t *testing.T) {
	for _, src := range []string{
		"", "a ==", "(a", "a)", "'open", "f(a,", "a[", "a.", "a ! b", "@", "1 2",
		strings.Repeat("(", 100) + "a" + strings.Repeat(")", 100),
	} {
		if _, err := parseExpr(src); err == nil {
			t.Errorf("parseExpr(%q): no error", src)
		}
	}
	if _, err := parseTemplate("${{ a "); err == nil {
		t.Error("unclosed ${{ accepted")
	}
	if _, err := parseTemplate("${{ '}}' }}"); err != nil {
		t.Errorf("}} inside a string literal: %v", err)
	}
}

func TestValueCapBoundsCombinations(t *testing.T) {
	many := make([]string, 40)
	for i := range many {
		many[i] = strings.Repeat("x", i+1)
	}
	r := mapResolver{"matrix.a": many, "matrix.b": many}
	parts, err := parseTemplate("${{ matrix.a }}-${{ matrix.b }}")
	if err != nil {
		t.Fatal(err)
	}
	vs := evalTemplate(parts, r)
	if len(vs) > maxValues+1 {
		t.Fatalf("got %d values, want at most %d", len(vs), maxValues+1)
	}
	last := vs[len(vs)-1]
	if last.kind != vUnknown || last.src != "too many combinations" {
		t.Errorf("last value %+v, want the too-many marker", last)
	}
}

// FuzzRunsOnExpr feeds arbitrary runs-on strings through the template
// parser and the evaluator: no panic, bounded results, and parse errors
// only as errors.
func FuzzRunsOnExpr(f *testing.F) {
	for _, s := range []string{
		"1-gpu-h100",
		"${{ matrix.runner }}",
		"${{ inputs.runner_arch || (github.event_name == 'pull_request' && 'mi300' || 'mi325') }}",
		"${{ format('linux-{0}-{1}gpu', matrix.arch, fromJSON('[\"a\"]')) }}",
		"${{ fromJSON(needs.x.outputs.y)[0] }}",
		"a-${{ 'b' }}-${{ !c }}",
		"${{ github.event.pull_request.labels.*.name }}",
		"${{ '}}' }}",
	} {
		f.Add(s)
	}
	r := mapResolver{"matrix.runner": {"a", "b"}, "matrix.arch": {"x", ""}}
	f.Fuzz(func(t *testing.T, s string) {
		parts, err := parseTemplate(s)
		if err != nil {
			return
		}
		vs := evalTemplate(parts, r)
		if len(vs) > maxValues+1 {
			t.Fatalf("%d values for %q", len(vs), s)
		}
		for _, v := range vs {
			_ = v.String()
		}
	})
}

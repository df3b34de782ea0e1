package fuse

import (
	"errors"
	"strings"
	"testing"
)

// FuzzLoad checks properties of the loader on arbitrary input: it never
// panics; a failure is a one-line *CatalogError naming the file; a success
// is a catalogue whose patterns are valid and that Match and Extend accept.
func FuzzLoad(f *testing.F) {
	f.Add(string(embeddedCatalog))
	f.Add("patterns:" + validPattern)
	f.Add(ruleCatalog)
	f.Add(selectionCatalog)
	f.Add("patterns:\n  - &p {pattern: a, origin: mainline, min_share: 0, likely_share: 0, active: {keywords: [x]}, candidate_paths: [y], rationale: z}\n  - *p\n")
	f.Add("patterns: [{pattern: a, origin: upstream, min_share: 1e400, likely_share: .nan}]")
	f.Add("version: 1\npatterns:\n  - pattern: a\n    active: {regexps: ['(']}\n")
	f.Add("\x00\xff: [")
	kernels := []Kernel{
		k(ropeB300, "rope", 2.4, "python/sglang/srt/layers/rotary_embedding.py:1 forward", "sgl_kernel::rotary_embedding"),
		k(storeKV, "other", 1.3, "", "cudaGraphLaunch"),
		k(aiterAddRN, "norm", 5, "", "hipGraphLaunch"),
		k("x", "other", 1, "a.py:1 quant", "fp8"),
	}
	base, err := Default()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, src string) {
		c, err := Load(strings.NewReader(src), "fuzz.yaml")
		if err != nil {
			var ce *CatalogError
			if !errors.As(err, &ce) || !errors.Is(err, ErrInvalidCatalog) {
				t.Fatalf("error %T %v is not a CatalogError", err, err)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "fuzz.yaml") || strings.Contains(msg, "\n") {
				t.Fatalf("error %q: want one line starting with the file name", msg)
			}
			return
		}
		if c.Len() == 0 {
			t.Fatal("Load returned an empty catalogue")
		}
		names := map[string]bool{}
		for _, p := range c.Patterns() {
			if strings.TrimSpace(p.Name) == "" || names[p.Name] {
				t.Fatalf("empty or repeated name %q", p.Name)
			}
			names[p.Name] = true
			if p.Rationale == "" || len(p.CandidatePaths) == 0 || p.MinTPSize < 1 ||
				!(p.MinSharePct >= 0 && p.LikelySharePct <= 100 && p.MinSharePct <= p.LikelySharePct) ||
				(p.Active.empty() && len(p.SplitGroups) == 0) {
				t.Fatalf("invalid pattern accepted: %+v", p)
			}
		}
		for _, o := range c.Match(kernels, Context{StageTotalUS: 9.7}) {
			if o.SharePct < MinReportSharePct || o.SharePct > 100+1e-9 || o.Confidence == "" {
				t.Fatalf("bad opportunity %+v", o)
			}
		}
		if ext, err := base.Extend(c); err != nil {
			if !errors.Is(err, ErrInvalidCatalog) {
				t.Fatalf("Extend error %v does not wrap ErrInvalidCatalog", err)
			}
		} else if ext.Len() < base.Len() {
			t.Fatalf("Extend lost patterns: %d < %d", ext.Len(), base.Len())
		}
	})
}

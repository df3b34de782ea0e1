package cirunners

import (
	"fmt"
	"strings"
)

// QueryResult answers Query: for a suite, the runners its jobs use and
// where each is decided; for a runner label, the suites that run on it.
type QueryResult struct {
	// Term is what was asked.
	Term string `json:"term"`
	// Kind is "suite" or "label".
	Kind string `json:"kind"`
	// Suite is set when Term names a suite.
	Suite *SuiteReport `json:"suite,omitempty"`
	// LabelSuites is set when Term names a runner label: each suite (or ""
	// for jobs that run no recognised suite) with the jobs and doc rows
	// that use the label.
	LabelSuites []SuiteReport `json:"label_suites,omitempty"`
}

// Query answers "which runner runs suite X?" when term names a suite, and
// "which suites run on label X?" when it names a runner label. Docs are
// the default docs that exist plus docs; no doc is needed.
func Query(repo, term string, docs []string) (*QueryResult, error) {
	term = strings.TrimSpace(term)
	if term == "" {
		return nil, fmt.Errorf("empty query: %w", ErrNotFound)
	}
	st, err := load(repo, docs, false)
	if err != nil {
		return nil, err
	}
	if s, ok := st.suites[term]; ok {
		cp := *s
		return &QueryResult{Term: term, Kind: "suite", Suite: &cp}, nil
	}
	res := &QueryResult{Term: term, Kind: "label"}
	for _, name := range sortedKeys(st.suites) {
		s := st.suites[name]
		hit := SuiteReport{Suite: name, Documented: []DocClaim{}, Jobs: []JobRun{}}
		for _, d := range s.Documented {
			if containsStr(d.Labels, term) {
				hit.Documented = append(hit.Documented, d)
			}
		}
		for _, jr := range s.Jobs {
			if containsStr(splitChoices(jr.Labels), term) {
				hit.Jobs = append(hit.Jobs, jr)
			}
		}
		if len(hit.Documented)+len(hit.Jobs) > 0 {
			res.LabelSuites = append(res.LabelSuites, hit)
		}
	}
	other := SuiteReport{Suite: "", Documented: []DocClaim{}, Jobs: []JobRun{}}
	for _, jr := range st.noSuite {
		if containsStr(splitChoices(jr.Labels), term) {
			other.Jobs = append(other.Jobs, jr)
		}
	}
	if len(other.Jobs) > 0 {
		res.LabelSuites = append(res.LabelSuites, other)
	}
	if len(res.LabelSuites) == 0 {
		return nil, fmt.Errorf("%q in %s: %w", term, repo, ErrNotFound)
	}
	return res, nil
}

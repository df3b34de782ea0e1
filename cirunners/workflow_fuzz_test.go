package cirunners

import (
	"errors"
	"testing"
)

// FuzzWorkflow parses arbitrary workflow text and resolves every job: bad
// input must give a *ParseError, never a panic.
func FuzzWorkflow(f *testing.F) {
	for _, s := range []string{
		"on: push\njobs:\n  a:\n    runs-on: ${{ matrix.r }}\n    strategy:\n      matrix:\n        r: [x, y]\n    steps:\n      - run: run_suite.py --suite s-1-gpu\n",
		"on:\n  workflow_call:\n    inputs:\n      r:\n        default: x\njobs:\n  a:\n    runs-on: ${{ inputs.r }}\n",
		"x: &a {runs-on: y}\njobs:\n  a:\n    <<: *a\n",
		"jobs:\n  a:\n    runs-on: [x\n",
		"jobs: [1, 2]\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		wf, err := parseWorkflow("w.yml", []byte(src))
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *ParseError", err)
			}
			return
		}
		m := &repoModel{workflows: []*workflow{wf}, byFile: map[string]*workflow{wf.file: wf}, callers: map[string][]*job{}}
		for _, j := range wf.jobs {
			if j.uses != "" {
				m.callers[j.uses] = append(m.callers[j.uses], j)
			}
		}
		for _, j := range wf.jobs {
			_, _ = resolveRunsOn(m, j)
			_, _, _ = jobSuites(m, j)
		}
	})
}

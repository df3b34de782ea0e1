// Package cirunners checks a repository's CI docs against the GitHub
// Actions workflows that really run, and answers "which runner runs suite
// X?" and "which suites run on label Y?".
//
// The docs side is every Markdown table whose header has a Suite column and
// a Runner column (by default SGLang's .claude/skills/ci-workflow-guide and
// write-sglang-test SKILL.md files, when present, plus any doc given),
// parsed with goldmark and its GFM table extension. The workflow side is
// every .github/workflows/*.yml file, parsed with github.com/goccy/go-yaml
// into the shared tree of internal/yamltree:
// each job's runs-on (strings, lists, runner groups and ${{ }} expressions,
// whose possible values are computed through matrices, reusable-workflow
// inputs passed with `with:`, job outputs written to $GITHUB_OUTPUT, and
// format(), fromJSON(), && and ||), and the suites it runs (--suite
// arguments in its steps, or a job id or name that is a documented suite).
//
// Check compares both sides and classifies every disagreement as a Kind;
// Query looks a suite or a label up. Both results render as text or JSON.
package cirunners

package mcp

import (
	"context"
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/tracetriage/tracetriage/cirunners"
)

// CheckCIRunnerLabelsInput is the input of check_ci_runner_labels.
type CheckCIRunnerLabelsInput struct {
	Repo  string   `json:"repo" jsonschema:"repository root (holds .github/workflows)"`
	Docs  []string `json:"docs,omitempty" jsonschema:"Markdown docs with a suite/runner table, besides the defaults that exist (.claude/skills/ci-workflow-guide/SKILL.md, .claude/skills/write-sglang-test/SKILL.md); relative paths start at repo"`
	Query string   `json:"query,omitempty" jsonschema:"a suite name or a runner label: answer which runners the suite uses (and where that is decided) or which suites run on the label, instead of checking"`
}

// CheckCIRunnerLabelsOutput answers check_ci_runner_labels: the mismatches
// of a check, or the answer of a query.
type CheckCIRunnerLabelsOutput struct {
	Mode       string                 `json:"mode" jsonschema:"check or query"`
	Docs       []string               `json:"docs" jsonschema:"docs read, relative to the repository (check)"`
	Workflows  []string               `json:"workflows" jsonschema:"workflow files read (check)"`
	Suites     int                    `json:"suites" jsonschema:"suites found in docs or workflows (check); ask with query for one suite's details"`
	Mismatches []cirunners.Mismatch   `json:"mismatches" jsonschema:"every disagreement, with the doc file:line and the workflow file:line (check)"`
	Query      *cirunners.QueryResult `json:"query,omitempty"`
}

// CheckCIRunnerLabels is the check_ci_runner_labels tool: CI docs checked
// against the GitHub Actions workflows, or one suite or label looked up.
func CheckCIRunnerLabels(s *Server) (mcp.Tool, server.ToolHandlerFunc) {
	tool := mcp.NewTool("check_ci_runner_labels",
		mcp.WithToolTitle("Check CI docs against the workflows"),
		mcp.WithDescription("Compare the suite-to-runner-label tables of a repository's CI docs with the runner labels its GitHub Actions workflows really request (matrices, reusable workflows and runs-on expressions included) and list every mismatch with both file:line locations. "+
			"With query (a suite or a label): which runner a suite uses and where that is decided, or which suites run on a label."),
		mcp.WithInputSchema[CheckCIRunnerLabelsInput](),
		mcp.WithOutputSchema[CheckCIRunnerLabelsOutput](),
		readOnlyLocal("Check CI docs against the workflows"),
	)
	return tool, handler(s, "check_ci_runner_labels", func(ctx context.Context, _ mcp.CallToolRequest, in CheckCIRunnerLabelsInput) (CheckCIRunnerLabelsOutput, string, error) {
		out := CheckCIRunnerLabelsOutput{Docs: []string{}, Workflows: []string{}, Mismatches: []cirunners.Mismatch{}}
		repo, err := s.roots.resolve(ctx, in.Repo, "repo")
		if err != nil {
			return out, "", err
		}
		// The check reads the workflows and the default docs below repo.
		defaults := cirunners.DefaultDocs()
		if err := s.roots.checkTree(ctx, repo, "repo", func(rel string) bool {
			if dir, file := path.Split(rel); dir == ".github/workflows/" {
				return strings.HasSuffix(file, ".yml") || strings.HasSuffix(file, ".yaml")
			}
			return slices.Contains(defaults, rel)
		}); err != nil {
			return out, "", err
		}
		var docs []string
		for _, d := range in.Docs {
			p := d
			if !filepath.IsAbs(p) && !strings.HasPrefix(p, "file://") {
				p = filepath.Join(repo, p)
			}
			rp, err := s.roots.resolve(ctx, p, "docs entry")
			if err != nil {
				return out, "", err
			}
			docs = append(docs, rp)
		}
		if q := strings.TrimSpace(in.Query); q != "" {
			res, err := s.deps.QueryCI(repo, q, docs)
			if err != nil {
				return out, "", err
			}
			out.Mode, out.Query = "query", res
			return out, ciQueryMarkdown(res), nil
		}
		rep, err := s.deps.CheckCI(cirunners.CheckOptions{Repo: repo, Docs: docs})
		if err != nil {
			return out, "", err
		}
		out.Mode = "check"
		out.Docs, out.Workflows = nonNil(rep.Docs), nonNil(rep.Workflows)
		out.Suites, out.Mismatches = len(rep.Suites), nonNil(rep.Mismatches)
		return out, ciCheckMarkdown(&out), nil
	})
}

func ciCheckMarkdown(o *CheckCIRunnerLabelsOutput) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d suites in %d docs and %d workflows: %d mismatch(es)\n", o.Suites, len(o.Docs), len(o.Workflows), len(o.Mismatches))
	for _, m := range o.Mismatches {
		fmt.Fprintf(&b, "- [%s] `%s`: %s", m.Kind, m.Suite, m.Message)
		if m.DocFile != "" {
			fmt.Fprintf(&b, " (doc %s:%d)", m.DocFile, m.DocLine)
		}
		if m.WorkflowFile != "" {
			fmt.Fprintf(&b, " (workflow %s:%d)", m.WorkflowFile, m.WorkflowLine)
		}
		b.WriteString("\n")
	}
	return strings.TrimSpace(b.String())
}

func ciQueryMarkdown(q *cirunners.QueryResult) string {
	var b strings.Builder
	if q.Suite != nil {
		fmt.Fprintf(&b, "suite `%s`:\n", q.Term)
		for _, j := range q.Suite.Jobs {
			fmt.Fprintf(&b, "- %s job `%s` (line %d) runs on %s\n", j.Workflow, j.Job, j.Line, strings.Join(j.Labels, " | "))
		}
		for _, d := range q.Suite.Documented {
			fmt.Fprintf(&b, "- documented at %s:%d as %s\n", d.File, d.Line, strings.Join(d.Labels, ", "))
		}
		return strings.TrimSpace(b.String())
	}
	fmt.Fprintf(&b, "runner label `%s`:\n", q.Term)
	for _, s := range q.LabelSuites {
		name := s.Suite
		if name == "" {
			name = "(jobs without a recognised suite)"
		}
		fmt.Fprintf(&b, "- `%s`: %d job(s), %d doc row(s)\n", name, len(s.Jobs), len(s.Documented))
	}
	return strings.TrimSpace(b.String())
}

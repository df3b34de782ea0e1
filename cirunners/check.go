package cirunners

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// defaultDocs are the doc paths, relative to the repository, that Check and
// Query read when they exist.
var defaultDocs = []string{
	".claude/skills/ci-workflow-guide/SKILL.md",
	".claude/skills/write-sglang-test/SKILL.md",
}

// DefaultDocs returns the repository-relative doc paths read by default
// (when present): SGLang's CI workflow guide and its test-writing guide.
func DefaultDocs() []string { return append([]string(nil), defaultDocs...) }

// CheckOptions says what Check reads.
type CheckOptions struct {
	// Repo is the repository root: it holds .github/workflows.
	Repo string `json:"repo"`
	// Docs are extra Markdown docs to read besides the defaults that exist.
	// Relative paths are taken from Repo, or from the current directory
	// when the file is not found under Repo.
	Docs []string `json:"docs,omitempty"`
}

// Kind classifies a mismatch.
type Kind string

// The mismatch kinds Check reports; docs/ci-runners.md describes each.
const (
	// KindWrongLabel: the doc names a label no job running the suite requests.
	KindWrongLabel Kind = "wrong-label"
	// KindMissingSuffix: the workflow's label is the documented one plus a
	// suffix (4-gpu-b200 vs 4-gpu-b200-low-disk).
	KindMissingSuffix Kind = "missing-suffix"
	// KindGPUCount: the GPU count in the suite name disagrees with the GPU
	// count in a documented or requested runner label.
	KindGPUCount Kind = "gpu-count"
	// KindNotInWorkflow: a doc lists the suite, no workflow job runs it and
	// the doc does not say it is registered only or disabled.
	KindNotInWorkflow Kind = "documented-not-in-workflow"
	// KindUndocumented: a workflow job runs a suite no doc table lists.
	KindUndocumented Kind = "in-workflow-undocumented"
	// KindDynamicLabel: runs-on is an expression that can request labels the
	// doc does not list, or that cannot be resolved statically.
	KindDynamicLabel Kind = "dynamic-label"
	// KindPartitions: the doc's partition count differs from the workflow's.
	KindPartitions Kind = "partition-count"
	// KindMaxParallel: the doc's max_parallel differs from the job's
	// strategy.max-parallel.
	KindMaxParallel Kind = "max-parallel"
)

// Kinds lists every mismatch kind in the order reports use.
func Kinds() []Kind {
	return []Kind{KindWrongLabel, KindMissingSuffix, KindGPUCount, KindNotInWorkflow,
		KindUndocumented, KindDynamicLabel, KindPartitions, KindMaxParallel}
}

// Mismatch is one disagreement between a doc and the workflows.
type Mismatch struct {
	// Kind classifies the disagreement.
	Kind Kind `json:"kind"`
	// Suite is the test suite concerned.
	Suite string `json:"suite"`
	// DocFile and DocLine locate the doc row (empty for undocumented suites).
	DocFile string `json:"doc_file,omitempty"`
	DocLine int    `json:"doc_line,omitempty"`
	// WorkflowFile and WorkflowLine locate the runs-on, the --suite
	// argument or the strategy line (empty when no workflow runs the suite).
	WorkflowFile string `json:"workflow_file,omitempty"`
	WorkflowLine int    `json:"workflow_line,omitempty"`
	// Job is the workflow job id.
	Job string `json:"job,omitempty"`
	// DocLabels are the labels the doc row states.
	DocLabels []string `json:"doc_labels,omitempty"`
	// WorkflowLabels are the labels the job can request; a combination of
	// labels required together is joined with "+".
	WorkflowLabels []string `json:"workflow_labels,omitempty"`
	// Message says what disagrees, in one sentence.
	Message string `json:"message"`
}

// Decision says how one runner label of a job was decided: the chain of
// workflow lines from the runs-on expression to the literal.
type Decision struct {
	// Label is one label (or "+"-joined combination) the job can request.
	Label string `json:"label"`
	// Via lists "file:line what" hops, from runs-on to where the literal is.
	Via []string `json:"via,omitempty"`
}

// JobRun is one workflow job running one suite.
type JobRun struct {
	// Workflow is the workflow file, relative to the repository.
	Workflow string `json:"workflow"`
	// Job is the job id.
	Job string `json:"job"`
	// Line is the line of the job's id.
	Line int `json:"line"`
	// SuiteLine is where the suite is named (a --suite argument, or the
	// job id when the suite is inferred from it); SuiteSource says which.
	SuiteLine   int    `json:"suite_line"`
	SuiteSource string `json:"suite_source"`
	// RunsOn is runs-on as written; RunsOnLine its line.
	RunsOn     string `json:"runs_on"`
	RunsOnLine int    `json:"runs_on_line"`
	// Labels are the label combinations the job can request ("+"-joined).
	Labels []string `json:"labels"`
	// Dynamic is true when runs-on is an expression.
	Dynamic bool `json:"dynamic"`
	// Unresolved lists expressions whose value could not be found.
	Unresolved []string `json:"unresolved,omitempty"`
	// Decided traces each label back through inputs, outputs and matrices.
	Decided []Decision `json:"decided,omitempty"`
	// Partitions is the partition count (0 when unknown).
	Partitions int `json:"partitions,omitempty"`
	// MaxParallel holds the values strategy.max-parallel can take ("?"
	// for an unresolved one); MaxParallelLine is its line.
	MaxParallel     []string `json:"max_parallel,omitempty"`
	MaxParallelLine int      `json:"max_parallel_line,omitempty"`
}

// SuiteReport is everything known about one suite.
type SuiteReport struct {
	// Suite is the suite name.
	Suite string `json:"suite"`
	// Documented holds the doc rows that list the suite.
	Documented []DocClaim `json:"documented"`
	// Jobs holds the workflow jobs that run it.
	Jobs []JobRun `json:"jobs"`
}

// Report is the result of Check.
type Report struct {
	// Docs and Workflows are the files read, relative to the repository.
	Docs      []string `json:"docs"`
	Workflows []string `json:"workflows"`
	// Suites holds every suite found in a doc or a workflow, by name.
	Suites []SuiteReport `json:"suites"`
	// Mismatches is every disagreement found, ordered by suite and kind.
	Mismatches []Mismatch `json:"mismatches"`
}

// state is a repository read into memory.
type state struct {
	docs      []string
	workflows []string
	suites    map[string]*SuiteReport
	// noSuite are jobs with a runs-on that run no recognised suite.
	noSuite []JobRun
}

// Check reads the CI docs and workflows of opts.Repo and reports every
// suite with its documented and requested runner labels, and every
// mismatch between them.
func Check(opts CheckOptions) (*Report, error) {
	st, err := load(opts.Repo, opts.Docs, true)
	if err != nil {
		return nil, err
	}
	r := &Report{Docs: st.docs, Workflows: st.workflows, Suites: []SuiteReport{}, Mismatches: []Mismatch{}}
	for _, name := range sortedKeys(st.suites) {
		s := st.suites[name]
		r.Suites = append(r.Suites, *s)
		r.Mismatches = append(r.Mismatches, compareSuite(s, st)...)
	}
	sortMismatches(r.Mismatches)
	return r, nil
}

// load reads docs and workflows. With needDocs, finding no doc is an error.
func load(repo string, extra []string, needDocs bool) (*state, error) {
	if repo == "" {
		return nil, errors.New("no repository given")
	}
	if fi, err := os.Stat(repo); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("repository %s does not exist: pass the repository's root directory to --repo", repo)
		}
		return nil, fmt.Errorf("repository %s: %w", repo, err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("repository %s is a file, not a directory: pass the repository's root directory to --repo", repo)
	}
	st := &state{suites: map[string]*SuiteReport{}}
	var claims []DocClaim
	for _, p := range docPaths(repo, extra) {
		src, err := readCapped(p.abs, MaxFileBytes)
		if err != nil {
			return nil, fmt.Errorf("read doc %s: %w", p.show, err)
		}
		cs, err := parseDoc(p.show, src)
		if err != nil {
			return nil, err
		}
		st.docs = append(st.docs, p.show)
		claims = append(claims, cs...)
	}
	if needDocs && len(st.docs) == 0 {
		return nil, fmt.Errorf("%s: %w (none of %s exists; pass --doc PATH)", repo, ErrNoDocs, strings.Join(defaultDocs, ", "))
	}
	m, err := loadWorkflows(repo)
	if err != nil {
		return nil, err
	}
	for _, wf := range m.workflows {
		st.workflows = append(st.workflows, wf.file)
	}
	documented := map[string]bool{}
	for _, c := range claims {
		st.suite(c.Suite).Documented = append(st.suite(c.Suite).Documented, c)
		documented[c.Suite] = true
	}
	for _, wf := range m.workflows {
		for _, j := range wf.jobs {
			if err := st.addJob(m, j, documented); err != nil {
				return nil, err
			}
		}
	}
	return st, nil
}

func (st *state) suite(name string) *SuiteReport {
	s := st.suites[name]
	if s == nil {
		s = &SuiteReport{Suite: name, Documented: []DocClaim{}, Jobs: []JobRun{}}
		st.suites[name] = s
	}
	return s
}

func (st *state) addJob(m *repoModel, j *job, documented map[string]bool) error {
	if j.uses != "" {
		return nil
	}
	ro, err := resolveRunsOn(m, j)
	if err != nil || ro == nil {
		return err
	}
	runs, _, err := jobSuites(m, j)
	if err != nil {
		return err
	}
	if len(runs) == 0 {
		// Fall back on the job id or a literal job name that names a
		// documented suite.
		if documented[j.id] {
			runs = append(runs, suiteRun{suite: j.id, line: j.line, source: "job id"})
		} else if n := j.node.Get("name"); n != nil && !hasExpr(n.Str()) && documented[n.Str()] {
			runs = append(runs, suiteRun{suite: n.Str(), line: n.Line, source: "job name"})
		}
	}
	base := JobRun{
		Workflow:   j.wf.file,
		Job:        j.id,
		Line:       j.line,
		RunsOn:     ro.raw,
		RunsOnLine: ro.line,
		Labels:     []string{},
		Dynamic:    ro.dynamic,
		Unresolved: ro.unresolved,
	}
	for _, ch := range ro.choices {
		base.Labels = append(base.Labels, ch.String())
		if ro.dynamic {
			via := append([]string{fmt.Sprintf("%s:%d runs-on", j.wf.file, ro.line)}, ch.via...)
			base.Decided = append(base.Decided, Decision{Label: ch.String(), Via: uniq(via)})
		}
	}
	if mp := j.node.Get("strategy").Get("max-parallel"); mp != nil {
		base.MaxParallelLine = mp.Line
		vs, err := jobCtx{m: m, j: j}.evalNode(mp)
		if err != nil {
			return err
		}
		for _, v := range vs {
			s := v.String()
			if v.kind == vUnknown {
				s = "?"
			}
			base.MaxParallel = appendUniq(base.MaxParallel, s)
		}
	}
	if len(runs) == 0 {
		st.noSuite = append(st.noSuite, base)
		return nil
	}
	seen := map[string]bool{}
	for _, r := range runs {
		if seen[r.suite] {
			continue
		}
		seen[r.suite] = true
		jr := base
		jr.SuiteLine, jr.SuiteSource = r.line, r.source
		jr.Partitions = r.partitions
		if jr.Partitions == 0 {
			if n := matrixPartitions(j); n > 0 {
				jr.Partitions = n
			} else if r.source == "step" {
				jr.Partitions = 1
			}
		}
		s := st.suite(r.suite)
		s.Jobs = append(s.Jobs, jr)
	}
	return nil
}

func uniq(list []string) []string {
	var out []string
	for _, s := range list {
		out = appendUniq(out, s)
	}
	return out
}

type docPath struct{ abs, show string }

// docPaths lists the default docs that exist plus the extra ones.
func docPaths(repo string, extra []string) []docPath {
	var out []docPath
	seen := map[string]bool{}
	add := func(abs string) {
		a, err := filepath.Abs(abs)
		if err == nil {
			abs = a
		}
		if seen[abs] {
			return
		}
		seen[abs] = true
		out = append(out, docPath{abs: abs, show: showPath(repo, abs)})
	}
	for _, d := range defaultDocs {
		p := filepath.Join(repo, filepath.FromSlash(d))
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			add(p)
		}
	}
	for _, d := range extra {
		p := d
		if !filepath.IsAbs(d) {
			p = filepath.Join(repo, d)
			if _, err := os.Stat(p); err != nil {
				if _, err2 := os.Stat(d); err2 == nil {
					p = d
				}
			}
		}
		add(p)
	}
	return out
}

func showPath(repo, abs string) string {
	r, err := filepath.Abs(repo)
	if err != nil {
		return abs
	}
	rel, err := filepath.Rel(r, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return abs
	}
	return filepath.ToSlash(rel)
}

// ---- comparison ----

var (
	suiteGPURE = regexp.MustCompile(`(?:^|-)(\d+)-(?:gpu|npu)(?:-|$)`)
	labelGPURE = []*regexp.Regexp{
		regexp.MustCompile(`(?:^|[-_.])(\d+)-?gpus?(?:[-_.]|$)`),
		regexp.MustCompile(`(?:^|[-_.])gpus?-(\d+)(?:[-_.]|$)`),
	}
	tailRE = regexp.MustCompile(`\d+-(?:gpu|npu)(?:-.*)?$`)
	intRE  = regexp.MustCompile(`\d+`)
)

// suiteGPUs returns the GPU (or NPU) count a suite name states, or 0.
func suiteGPUs(suite string) int {
	m := suiteGPURE.FindStringSubmatch(suite)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// labelGPUs returns the GPU count a runner label states, or 0.
func labelGPUs(label string) int {
	for _, re := range labelGPURE {
		if m := re.FindStringSubmatch(label); m != nil {
			n, _ := strconv.Atoi(m[1])
			return n
		}
	}
	return 0
}

func compareSuite(s *SuiteReport, st *state) []Mismatch {
	var out []Mismatch
	if len(s.Documented) == 0 {
		for _, jr := range s.Jobs {
			out = append(out, Mismatch{
				Kind: KindUndocumented, Suite: s.Suite,
				WorkflowFile: jr.Workflow, WorkflowLine: jr.SuiteLine, Job: jr.Job,
				WorkflowLabels: jr.Labels,
				Message:        fmt.Sprintf("job %s runs suite %s on %s, but no doc table lists the suite.", jr.Job, s.Suite, labelList(jr.Labels, jr.Unresolved)),
			})
			out = append(out, gpuCount(s.Suite, nil, []JobRun{jr})...)
		}
		return out
	}
	for _, d := range s.Documented {
		if len(s.Jobs) == 0 {
			if d.NotWired {
				continue
			}
			msg := fmt.Sprintf("%s documents suite %s on %s, but no workflow job runs it", d.File, s.Suite, orDash(d.Labels))
			if alt := renamedAs(s.Suite, d.Labels, st); alt != "" {
				msg += fmt.Sprintf(" (the workflows run %s on the same label: renamed?)", alt)
			}
			out = append(out, Mismatch{
				Kind: KindNotInWorkflow, Suite: s.Suite, DocFile: d.File, DocLine: d.Line,
				DocLabels: d.Labels, Message: msg + ".",
			})
			continue
		}
		for _, jr := range s.Jobs {
			out = append(out, compareLabels(s.Suite, d, jr)...)
			out = append(out, comparePartitions(s.Suite, d, jr)...)
			out = append(out, compareMaxParallel(s.Suite, d, jr)...)
		}
		out = append(out, gpuCount(s.Suite, &d, s.Jobs)...)
	}
	return out
}

func orDash(labels []string) string {
	if len(labels) == 0 {
		return "no label"
	}
	return strings.Join(labels, ", ")
}

func labelList(labels, unresolved []string) string {
	all := append(append([]string(nil), labels...), unresolved...)
	return orDash(all)
}

// renamedAs finds an undocumented workflow suite with the same GPU tail
// ("1-npu-a2") and a documented label, as a hint for renamed suites.
func renamedAs(suite string, labels []string, st *state) string {
	tail := tailRE.FindString(suite)
	if tail == "" {
		return ""
	}
	for _, name := range sortedKeys(st.suites) {
		o := st.suites[name]
		if name == suite || len(o.Documented) > 0 || len(o.Jobs) == 0 || tailRE.FindString(name) != tail {
			continue
		}
		for _, jr := range o.Jobs {
			for _, l := range labels {
				if containsStr(splitChoices(jr.Labels), l) {
					return name
				}
			}
		}
	}
	return ""
}

// splitChoices flattens "+"-joined label combinations.
func splitChoices(choices []string) []string {
	var out []string
	for _, c := range choices {
		for _, l := range strings.Split(c, "+") {
			out = appendUniq(out, l)
		}
	}
	return out
}

func compareLabels(suite string, d DocClaim, jr JobRun) []Mismatch {
	if len(d.Labels) == 0 {
		return nil
	}
	mk := func(k Kind, msg string) []Mismatch {
		return []Mismatch{{
			Kind: k, Suite: suite, DocFile: d.File, DocLine: d.Line,
			WorkflowFile: jr.Workflow, WorkflowLine: jr.RunsOnLine, Job: jr.Job,
			DocLabels: d.Labels, WorkflowLabels: jr.Labels, Message: msg,
		}}
	}
	var matched, extra []string
	for _, ch := range jr.Labels {
		hit := false
		for _, l := range strings.Split(ch, "+") {
			if containsStr(d.Labels, l) {
				hit = true
			}
		}
		if hit {
			matched = append(matched, ch)
		} else {
			extra = append(extra, ch)
		}
	}
	how := "requests"
	if jr.Dynamic {
		how = "can request"
	}
	unres := ""
	if len(jr.Unresolved) > 0 {
		unres = fmt.Sprintf(" (and %s, which could not be resolved)", strings.Join(jr.Unresolved, ", "))
	}
	doc := strings.Join(d.Labels, ", ")
	if len(matched) == 0 {
		if len(jr.Labels) == 0 && len(jr.Unresolved) == 0 {
			return mk(KindWrongLabel, fmt.Sprintf("job %s's runs-on %s resolves to no runner label, but the doc says %s.", jr.Job, jr.RunsOn, doc))
		}
		if len(jr.Labels) == 0 {
			return mk(KindDynamicLabel, fmt.Sprintf("job %s picks its runner with %s, which could not be resolved, so the documented %s cannot be checked.", jr.Job, strings.Join(jr.Unresolved, ", "), doc))
		}
		// The shortest suffix is the one the doc most likely dropped
		// (-low-disk rather than -kernel-low-disk).
		bestDoc, bestSuffix := "", ""
		for _, dl := range d.Labels {
			for _, wl := range splitChoices(jr.Labels) {
				suf := strings.TrimPrefix(wl, dl)
				if strings.HasPrefix(wl, dl+"-") && (bestSuffix == "" || len(suf) < len(bestSuffix)) {
					bestDoc, bestSuffix = dl, suf
				}
			}
		}
		if bestSuffix != "" {
			return mk(KindMissingSuffix, fmt.Sprintf("job %s %s %s%s, but the doc gives %s without the %s suffix.", jr.Job, how, strings.Join(jr.Labels, ", "), unres, bestDoc, bestSuffix))
		}
		return mk(KindWrongLabel, fmt.Sprintf("job %s %s %s%s, but the doc says %s.", jr.Job, how, strings.Join(jr.Labels, ", "), unres, doc))
	}
	var out []Mismatch
	if len(extra) > 0 || len(jr.Unresolved) > 0 {
		also := append(append([]string(nil), extra...), jr.Unresolved...)
		out = append(out, mk(KindDynamicLabel, fmt.Sprintf("job %s picks its runner at run time and can also request %s, which the doc row does not list.", jr.Job, strings.Join(also, ", ")))...)
	}
	var never []string
	all := splitChoices(jr.Labels)
	for _, dl := range d.Labels {
		if !containsStr(all, dl) {
			never = append(never, dl)
		}
	}
	if len(never) > 0 && len(jr.Unresolved) == 0 {
		out = append(out, mk(KindWrongLabel, fmt.Sprintf("the doc lists %s, which job %s never requests.", strings.Join(never, ", "), jr.Job))...)
	}
	return out
}

// gpuCount flags labels whose GPU count differs from the suite name's.
func gpuCount(suite string, d *DocClaim, jobs []JobRun) []Mismatch {
	want := suiteGPUs(suite)
	if want == 0 {
		return nil
	}
	var badDoc, badWF []string
	var at *JobRun
	if d != nil {
		for _, l := range d.Labels {
			if n := labelGPUs(l); n > 0 && n != want {
				badDoc = append(badDoc, l)
			}
		}
	}
	for i, jr := range jobs {
		for _, l := range splitChoices(jr.Labels) {
			if n := labelGPUs(l); n > 0 && n != want {
				badWF = appendUniq(badWF, l)
				if at == nil {
					at = &jobs[i]
				}
			}
		}
	}
	if len(badDoc) == 0 && len(badWF) == 0 {
		return nil
	}
	if at == nil && len(jobs) > 0 {
		at = &jobs[0]
	}
	m := Mismatch{Kind: KindGPUCount, Suite: suite}
	var parts []string
	if d != nil {
		m.DocFile, m.DocLine, m.DocLabels = d.File, d.Line, d.Labels
		if len(badDoc) > 0 {
			parts = append(parts, "the doc gives "+strings.Join(badDoc, ", "))
		}
	}
	if at != nil {
		m.WorkflowFile, m.WorkflowLine, m.Job, m.WorkflowLabels = at.Workflow, at.RunsOnLine, at.Job, at.Labels
		if len(badWF) > 0 {
			parts = append(parts, "the workflow requests "+strings.Join(badWF, ", "))
		}
	}
	m.Message = fmt.Sprintf("suite %s names %d GPU(s), but %s.", suite, want, strings.Join(parts, " and "))
	return []Mismatch{m}
}

// docNumber returns the first integer of a cell outside its notes, or 0.
func docNumber(cell string) int {
	main, _ := splitNotes(cell)
	n, _ := strconv.Atoi(intRE.FindString(main))
	return n
}

func comparePartitions(suite string, d DocClaim, jr JobRun) []Mismatch {
	want := docNumber(d.Partitions)
	if want == 0 || jr.Partitions == 0 || want == jr.Partitions {
		return nil
	}
	return []Mismatch{{
		Kind: KindPartitions, Suite: suite, DocFile: d.File, DocLine: d.Line,
		WorkflowFile: jr.Workflow, WorkflowLine: jr.SuiteLine, Job: jr.Job,
		DocLabels: d.Labels, WorkflowLabels: jr.Labels,
		Message: fmt.Sprintf("the doc says %d partition(s), but job %s runs %d.", want, jr.Job, jr.Partitions),
	}}
}

func compareMaxParallel(suite string, d DocClaim, jr JobRun) []Mismatch {
	if strings.TrimSpace(d.MaxParallel) == "" {
		return nil // no max_parallel column
	}
	var doc []string
	for _, s := range intRE.FindAllString(d.MaxParallel, -1) {
		doc = appendUniq(doc, s)
	}
	wf := jr.MaxParallel
	sortNums(doc)
	sortNums(wf)
	if strings.Join(doc, ",") == strings.Join(wf, ",") {
		return nil
	}
	docSays := "no max_parallel"
	if len(doc) > 0 {
		docSays = "max_parallel " + strings.Join(doc, " or ")
	}
	wfSays := "sets no max-parallel"
	if len(wf) > 0 {
		wfSays = "sets max-parallel " + strings.Join(wf, " or ")
	}
	line := jr.MaxParallelLine
	if line == 0 {
		line = jr.Line
	}
	return []Mismatch{{
		Kind: KindMaxParallel, Suite: suite, DocFile: d.File, DocLine: d.Line,
		WorkflowFile: jr.Workflow, WorkflowLine: line, Job: jr.Job,
		DocLabels: d.Labels, WorkflowLabels: jr.Labels,
		Message: fmt.Sprintf("the doc says %s, but job %s %s.", docSays, jr.Job, wfSays),
	}}
}

func sortNums(list []string) {
	sort.Slice(list, func(i, j int) bool {
		a, errA := strconv.Atoi(list[i])
		b, errB := strconv.Atoi(list[j])
		if errA == nil && errB == nil {
			return a < b
		}
		return list[i] < list[j]
	})
}

func sortMismatches(ms []Mismatch) {
	order := map[Kind]int{}
	for i, k := range Kinds() {
		order[k] = i
	}
	sort.SliceStable(ms, func(i, j int) bool {
		a, b := ms[i], ms[j]
		switch {
		case a.Suite != b.Suite:
			return a.Suite < b.Suite
		case a.Kind != b.Kind:
			return order[a.Kind] < order[b.Kind]
		case a.DocFile != b.DocFile:
			return a.DocFile < b.DocFile
		case a.DocLine != b.DocLine:
			return a.DocLine < b.DocLine
		case a.WorkflowFile != b.WorkflowFile:
			return a.WorkflowFile < b.WorkflowFile
		}
		return a.WorkflowLine < b.WorkflowLine
	})
}

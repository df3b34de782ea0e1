package cirunners

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/tracetriage/tracetriage/internal/yamltree"
)

// workflow is one parsed .github/workflows file.
type workflow struct {
	file string // repository-relative, slash-separated
	root *ynode
	jobs []*job
	byID map[string]*job
	// callInputs and dispatchInputs are the declared inputs of the
	// workflow_call and workflow_dispatch triggers.
	callInputs     *ynode
	dispatchInputs *ynode
	callable       bool
	// otherEvents is true when some trigger other than workflow_call and
	// workflow_dispatch starts the workflow; inputs are empty then.
	otherEvents bool
	env         *ynode
}

// job is one job of a workflow.
type job struct {
	wf   *workflow
	id   string
	line int
	node *ynode
	// uses is a local reusable workflow this job calls (slash path), if any.
	uses     string
	usesLine int
}

// repoModel is every workflow of a repository.
type repoModel struct {
	workflows []*workflow
	byFile    map[string]*workflow
	// callers maps a reusable workflow file to the jobs that call it.
	callers map[string][]*job
}

// loadWorkflows parses every *.yml and *.yaml file in .github/workflows.
func loadWorkflows(repo string) (*repoModel, error) {
	dir := filepath.Join(repo, ".github", "workflows")
	entries, err := os.ReadDir(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("%s: %w (expected .github/workflows/*.yml)", repo, ErrNoWorkflows)
		}
		return nil, fmt.Errorf("read workflows: %w", err)
	}
	m := &repoModel{byFile: map[string]*workflow{}, callers: map[string][]*job{}}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !(strings.HasSuffix(name, ".yml") || strings.HasSuffix(name, ".yaml")) {
			continue
		}
		rel := ".github/workflows/" + name
		if !e.Type().IsRegular() {
			// A symbolic link is fine when it leads to a file; a named
			// pipe or device would block the read or never end it.
			fi, err := os.Stat(filepath.Join(dir, name))
			if err != nil {
				return nil, fmt.Errorf("read workflow: %w", err)
			}
			if fi.IsDir() {
				continue
			}
			if !fi.Mode().IsRegular() {
				return nil, fmt.Errorf("workflow %s is not a regular file: remove it or replace it with the workflow file", rel)
			}
		}
		src, err := readCapped(filepath.Join(dir, name), MaxFileBytes)
		if errors.Is(err, ErrTooLarge) {
			return nil, fmt.Errorf("read workflow %s: %w", rel, err)
		}
		if err != nil {
			return nil, fmt.Errorf("read workflow: %w", err)
		}
		wf, err := parseWorkflow(rel, src)
		if err != nil {
			return nil, err
		}
		m.workflows = append(m.workflows, wf)
		m.byFile[rel] = wf
	}
	if len(m.workflows) == 0 {
		return nil, fmt.Errorf("%s: %w (expected .github/workflows/*.yml)", repo, ErrNoWorkflows)
	}
	for _, wf := range m.workflows {
		for _, j := range wf.jobs {
			if j.uses != "" {
				m.callers[j.uses] = append(m.callers[j.uses], j)
			}
		}
	}
	return m, nil
}

// parseWorkflow reads the parts of a workflow file the checker needs.
func parseWorkflow(file string, src []byte) (*workflow, error) {
	root, err := parseYAML(file, src)
	if err != nil {
		return nil, err
	}
	wf := &workflow{file: file, root: root, byID: map[string]*job{}}
	if root.Kind != yMap {
		return nil, &ParseError{File: file, Line: root.Line, Msg: "workflow is not a YAML mapping"}
	}
	wf.env = root.Get("env")
	on := root.Get("on")
	switch kindOr(on) {
	case yScalar:
		wf.noteEvent(on.Value, nil)
	case ySeq:
		for _, it := range on.Items {
			wf.noteEvent(it.Str(), nil)
		}
	case yMap:
		for _, kv := range on.Pairs {
			wf.noteEvent(kv.Key, kv.Value)
		}
	}
	jobs := root.Get("jobs")
	if jobs == nil {
		return wf, nil
	}
	if jobs.Kind != yMap {
		return nil, &ParseError{File: file, Line: jobs.Line, Msg: "jobs is not a mapping of job ids to jobs"}
	}
	for _, kv := range jobs.Pairs {
		if kv.Value.Kind != yMap {
			return nil, &ParseError{File: file, Line: kv.KeyNode.Line, Msg: fmt.Sprintf("job %q is not a mapping", kv.Key)}
		}
		j := &job{wf: wf, id: kv.Key, line: kv.KeyNode.Line, node: kv.Value}
		if u := kv.Value.Get("uses"); u != nil {
			if p, ok := localWorkflow(u.Str()); ok {
				j.uses, j.usesLine = p, u.Line
			}
		}
		wf.jobs = append(wf.jobs, j)
		wf.byID[j.id] = j
	}
	return wf, nil
}

// kindOr returns n's kind, yNull for a nil node.
func kindOr(n *ynode) yamltree.Kind {
	if n == nil {
		return yNull
	}
	return n.Kind
}

func (wf *workflow) noteEvent(name string, cfg *ynode) {
	switch name {
	case "workflow_call":
		wf.callable = true
		wf.callInputs = cfg.Get("inputs")
	case "workflow_dispatch":
		wf.dispatchInputs = cfg.Get("inputs")
	case "":
	default:
		wf.otherEvents = true
	}
}

// localWorkflow recognises "./.github/workflows/X.yml" (no @ref).
func localWorkflow(uses string) (string, bool) {
	if !strings.HasPrefix(uses, "./") || strings.Contains(uses, "@") {
		return "", false
	}
	p := path.Clean(strings.TrimPrefix(uses, "./"))
	if !strings.HasPrefix(p, ".github/workflows/") {
		return "", false
	}
	return p, true
}

// ---- expression contexts ----

// jobCtx resolves context paths for expressions inside one job.
type jobCtx struct {
	m    *repoModel
	j    *job
	step *ynode // the step being read, for step-level env
	hops int
}

func (c jobCtx) where(line int) string {
	return fmt.Sprintf("%s:%d", c.j.wf.file, line)
}

func (c jobCtx) lookup(p []string) (vset, bool) {
	if c.hops > maxResolveHop || len(p) < 2 {
		return nil, false
	}
	switch p[0] {
	case "matrix":
		return c.matrixValues(p[1:])
	case "inputs":
		return c.inputValues(p[1])
	case "github":
		if len(p) == 4 && p[1] == "event" && p[2] == "inputs" {
			return c.inputValues(p[3])
		}
	case "needs":
		if len(p) == 4 && p[2] == "outputs" {
			return c.needsOutput(p[1], p[3])
		}
	case "steps":
		if len(p) == 4 && p[2] == "outputs" {
			return c.stepOutput(p[1], p[3])
		}
	case "env":
		return c.envValues(p[1])
	}
	return nil, false
}

// evalNode evaluates a YAML scalar that may hold ${{ }} expressions.
func (c jobCtx) evalNode(n *ynode) (vset, error) {
	if n == nil || n.Kind != yScalar {
		return nil, nil
	}
	if !hasExpr(n.Value) {
		return vset{strVal(n.Value)}, nil
	}
	parts, err := parseTemplate(n.Value)
	if err != nil {
		return nil, exprParseError(c.j.wf.file, n, err)
	}
	return evalTemplate(parts, c), nil
}

// evalQuiet is evalNode for nested resolution, where an error only means
// "unknown".
func (c jobCtx) evalQuiet(n *ynode, what string) vset {
	vs, err := c.evalNode(n)
	if err != nil || len(vs) == 0 {
		return vset{unknown(what)}
	}
	return vs
}

func exprParseError(file string, n *ynode, err error) error {
	return &ParseError{File: file, Line: n.TextLine(), Msg: fmt.Sprintf("invalid expression in %q: %v", clip(n.Value, 80), err)}
}

func clip(s string, n int) string {
	s = oneLine(s)
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func (c jobCtx) deeper() jobCtx {
	c.hops++
	return c
}

func (c jobCtx) matrixValues(p []string) (vset, bool) {
	mx := c.j.node.Get("strategy").Get("matrix")
	if mx == nil {
		return nil, false
	}
	key := p[0]
	var out vset
	add := func(n *ynode) {
		if n == nil {
			return
		}
		if len(p) > 1 {
			n = n.Get(p[1])
			if n == nil {
				return
			}
		}
		switch n.Kind {
		case yScalar:
			for _, v := range c.deeper().evalQuiet(n, "matrix."+strings.Join(p, ".")) {
				out = out.add(v.withVia(fmt.Sprintf("%s matrix.%s", c.where(n.Line), strings.Join(p, "."))))
			}
		case ySeq:
			var list []string
			for _, it := range n.Items {
				list = append(list, it.Str())
			}
			v := value{kind: vList, list: list}
			out = out.add(v.withVia(fmt.Sprintf("%s matrix.%s", c.where(n.Line), strings.Join(p, "."))))
		}
	}
	if mx.Kind == yScalar {
		// A matrix computed by an expression, usually fromJSON(...).
		return vset{unknown("matrix." + strings.Join(p, ".")).withVia(c.where(mx.Line) + " matrix from " + clip(mx.Value, 60))}, true
	}
	if list := mx.Get(key); list != nil {
		switch list.Kind {
		case ySeq:
			for _, it := range list.Items {
				add(it)
			}
		case yScalar:
			out = out.add(c.deeper().evalQuiet(list, "matrix."+key)...)
		}
	}
	if inc := mx.Get("include"); inc != nil && inc.Kind == ySeq {
		for _, it := range inc.Items {
			add(it.Get(key))
		}
	}
	return out, len(out) > 0
}

// inputDecl finds the declaration of an input of the job's workflow.
func (c jobCtx) inputDecl(name string) (call, dispatch *ynode) {
	return c.j.wf.callInputs.Get(name), c.j.wf.dispatchInputs.Get(name)
}

func typed(decl *ynode, v value) value {
	if decl.Get("type").Str() == "boolean" && v.kind == vString {
		switch strings.ToLower(v.s) {
		case "true":
			return boolVal(true).withVia(v.via...)
		case "false":
			return boolVal(false).withVia(v.via...)
		}
	}
	return v
}

func (c jobCtx) inputValues(name string) (vset, bool) {
	wf := c.j.wf
	call, dispatch := c.inputDecl(name)
	if call == nil && dispatch == nil {
		return nil, false
	}
	var out vset
	if wf.callable && call != nil {
		callers := c.m.callers[wf.file]
		for _, cj := range callers {
			cc := jobCtx{m: c.m, j: cj, hops: c.hops + 1}
			with := cj.node.Get("with").Get(name)
			if with == nil {
				if d := call.Get("default"); d != nil {
					out = out.add(typed(call, strVal(d.Str())).withVia(fmt.Sprintf("%s default of input %s", c.where(d.Line), name)))
				} else {
					out = out.add(value{kind: vNull}.withVia(fmt.Sprintf("%s job %s passes no %s", cc.where(cj.line), cj.id, name)))
				}
				continue
			}
			for _, v := range cc.evalQuiet(with, "inputs."+name) {
				out = out.add(typed(call, v).withVia(fmt.Sprintf("%s job %s with %s", cc.where(with.Line), cj.id, name)))
			}
		}
		if len(callers) == 0 {
			if d := call.Get("default"); d != nil {
				out = out.add(typed(call, strVal(d.Str())).withVia(fmt.Sprintf("%s default of input %s", c.where(d.Line), name)))
			} else {
				out = out.add(unknown("inputs." + name).withVia(c.where(call.Line) + " input " + name + " has no caller in this repository"))
			}
		}
	}
	if dispatch != nil {
		if opts := dispatch.Get("options"); opts != nil && opts.Kind == ySeq && dispatch.Get("type").Str() == "choice" {
			for _, o := range opts.Items {
				out = out.add(strVal(o.Str()).withVia(fmt.Sprintf("%s workflow_dispatch option", c.where(o.Line))))
			}
		} else if d := dispatch.Get("default"); d != nil {
			out = out.add(typed(dispatch, strVal(d.Str())).withVia(fmt.Sprintf("%s workflow_dispatch default", c.where(d.Line))))
		} else {
			out = out.add(strVal("").withVia(fmt.Sprintf("%s workflow_dispatch input without default", c.where(dispatch.Line))))
		}
	}
	if wf.otherEvents {
		out = out.add(strVal("").withVia(fmt.Sprintf("%s: inputs.%s is empty on other events", wf.file, name)))
	}
	return out, len(out) > 0
}

func (c jobCtx) needsOutput(jobID, name string) (vset, bool) {
	nj := c.j.wf.byID[jobID]
	if nj == nil {
		return nil, false
	}
	o := nj.node.Get("outputs").Get(name)
	if o == nil {
		return nil, false
	}
	nc := jobCtx{m: c.m, j: nj, hops: c.hops + 1}
	var out vset
	ref := "needs." + jobID + ".outputs." + name
	for _, v := range nc.evalQuiet(o, ref) {
		if v.kind == vUnknown && !v.boolean {
			// Name the output the job reads, not the other job's step.
			v.src = ref
		}
		out = out.add(v.withVia(fmt.Sprintf("%s job %s output %s", nc.where(o.Line), jobID, name)))
	}
	return out, true
}

var shellVarRE = regexp.MustCompile(`^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$`)

func (c jobCtx) stepOutput(stepID, name string) (vset, bool) {
	steps := c.j.node.Get("steps")
	if steps == nil || steps.Kind != ySeq {
		return nil, false
	}
	for _, st := range steps.Items {
		if st.Get("id").Str() != stepID {
			continue
		}
		run := st.Get("run")
		if run == nil {
			return nil, false
		}
		var out vset
		script := run.Str()
		for i, ln := range strings.Split(script, "\n") {
			val, ok := outputWrite(ln, name)
			if !ok {
				continue
			}
			where := fmt.Sprintf("%s step %s writes %s", c.where(run.TextLine()+i), stepID, name)
			if m := shellVarRE.FindStringSubmatch(val); m != nil {
				vals := shellAssignments(script, m[1])
				if len(vals) == 0 {
					out = out.add(unknown("shell variable $" + m[1]).withVia(where))
				}
				for _, v := range vals {
					out = out.add(strVal(v).withVia(where))
				}
				continue
			}
			if strings.ContainsAny(val, "$%`\\") {
				// Computed by the shell (printf formats, command
				// substitution, escapes): not known statically.
				out = out.add(unknown(val).withVia(where))
				continue
			}
			out = out.add(strVal(val).withVia(where))
		}
		return out, len(out) > 0
	}
	return nil, false
}

// outputWrite recognises `echo "name=value" >> $GITHUB_OUTPUT` and the
// older `echo "::set-output name=name::value"`.
func outputWrite(line, name string) (string, bool) {
	t := strings.TrimSpace(line)
	if strings.Contains(t, "GITHUB_OUTPUT") {
		i := strings.Index(t, name+"=")
		if i < 0 || (i > 0 && isIdentChar(t[i-1])) {
			return "", false
		}
		v := t[i+len(name)+1:]
		if j := strings.IndexAny(v, ">|;"); j >= 0 {
			v = v[:j]
		}
		return strings.Trim(strings.TrimSpace(v), `"'`), true
	}
	if k := strings.Index(t, "::set-output name="+name+"::"); k >= 0 {
		v := t[k+len("::set-output name="+name+"::"):]
		return strings.Trim(strings.TrimSpace(v), `"'`), true
	}
	return "", false
}

// shellAssignments returns the literal values assigned to a shell variable.
func shellAssignments(script, name string) []string {
	var out []string
	for _, ln := range strings.Split(script, "\n") {
		t := strings.TrimSpace(ln)
		t = strings.TrimPrefix(t, "export ")
		t = strings.TrimPrefix(t, "local ")
		if !strings.HasPrefix(t, name+"=") {
			continue
		}
		v := strings.Trim(strings.TrimSpace(strings.TrimPrefix(t, name+"=")), `"'`)
		if v != "" && !strings.ContainsAny(v, "$`") {
			out = appendUniq(out, v)
		}
	}
	return out
}

func (c jobCtx) envValues(name string) (vset, bool) {
	for _, env := range []*ynode{c.step.Get("env"), c.j.node.Get("env"), c.j.wf.env} {
		if n := env.Get(name); n != nil {
			var out vset
			for _, v := range c.deeper().evalQuiet(n, "env."+name) {
				out = out.add(v.withVia(c.where(n.Line) + " env " + name))
			}
			return out, true
		}
	}
	return nil, false
}

// ---- runs-on ----

// choice is one way a job can be placed: the labels it requests together.
type choice struct {
	labels []string
	via    []string
}

func (ch choice) String() string { return strings.Join(ch.labels, "+") }

// runsOn is what a job's runs-on can resolve to.
type runsOn struct {
	line       int
	raw        string
	choices    []choice
	unresolved []string
	dynamic    bool
}

// resolveRunsOn computes every label combination a job's runs-on can
// request. Expressions mark the result dynamic.
func resolveRunsOn(m *repoModel, j *job) (*runsOn, error) {
	n := j.node.Get("runs-on")
	if n == nil {
		return nil, nil
	}
	c := jobCtx{m: m, j: j}
	ro := &runsOn{line: n.Line, raw: rawYAML(n)}
	var items []*ynode
	switch n.Kind {
	case yScalar:
		items = []*ynode{n}
	case ySeq:
		items = n.Items
	case yMap:
		if l := n.Get("labels"); l != nil {
			if l.Kind == ySeq {
				items = l.Items
			} else {
				items = []*ynode{l}
			}
		} else if g := n.Get("group"); g != nil {
			items = []*ynode{{Kind: yScalar, Tag: yamltree.TagStr, Value: "group:" + g.Str(), Line: g.Line}}
		}
	}
	if len(items) == 0 {
		return nil, &ParseError{File: j.wf.file, Line: n.Line, Msg: fmt.Sprintf("job %s: runs-on names no runner label", j.id)}
	}
	// Each item is one label requirement; the job needs all of them, so
	// the choices are the product of the items' possible values.
	sets := make([]vset, len(items))
	for i, it := range items {
		if it.Kind != yScalar {
			return nil, &ParseError{File: j.wf.file, Line: it.Line, Msg: fmt.Sprintf("job %s: runs-on entry is not a string", j.id)}
		}
		if hasExpr(it.Value) {
			ro.dynamic = true
		}
		vs, err := c.evalNode(it)
		if err != nil {
			return nil, err
		}
		sets[i] = vs
	}
	seen := map[string]bool{}
	product(sets, func(vs []value) {
		var ch choice
		for _, v := range vs {
			ch.via = append(ch.via, v.via...)
			switch v.kind {
			case vUnknown:
				// A known-falsy or boolean unknown is not a label (the
				// job would fail to start); anything else is unresolved.
				if !v.falsy && !v.boolean {
					src := "${{ " + v.src + " }}"
					if !containsStr(ro.unresolved, src) {
						ro.unresolved = append(ro.unresolved, src)
					}
				}
				return
			case vList:
				ch.labels = append(ch.labels, v.list...)
			case vNull, vBool:
				return
			default:
				s := v.String()
				if s == "" {
					return
				}
				ch.labels = append(ch.labels, s)
			}
		}
		if len(ch.labels) == 0 || seen[ch.String()] {
			return
		}
		seen[ch.String()] = true
		ro.choices = append(ro.choices, ch)
	})
	return ro, nil
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func rawYAML(n *ynode) string {
	switch n.Kind {
	case yScalar:
		return n.Value
	case ySeq:
		var parts []string
		for _, it := range n.Items {
			parts = append(parts, rawYAML(it))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case yMap:
		var parts []string
		for _, kv := range n.Pairs {
			parts = append(parts, kv.Key+": "+rawYAML(kv.Value))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return ""
}

// ---- suites ----

// suiteRun is one suite a job runs, found in a step's script or the job name.
type suiteRun struct {
	suite      string
	line       int
	source     string // "step", "job id", "job name"
	partitions int    // 0 when unknown
}

// jobSuites finds the suites a job runs from --suite arguments in its
// steps' run scripts (expanding matrix and env references).
func jobSuites(m *repoModel, j *job) ([]suiteRun, []string, error) {
	steps := j.node.Get("steps")
	if steps == nil || steps.Kind != ySeq {
		return nil, nil, nil
	}
	var out []suiteRun
	var unresolved []string
	for _, st := range steps.Items {
		run := st.Get("run")
		if run == nil || run.Kind != yScalar {
			continue
		}
		c := jobCtx{m: m, j: j, step: st}
		for _, cmd := range shellCommands(run.Str()) {
			args := shellWords(cmd.text)
			suiteArg, parts := "", ""
			for i := 0; i < len(args); i++ {
				a := args[i]
				switch {
				case a == "--suite" && i+1 < len(args):
					suiteArg = args[i+1]
					i++
				case strings.HasPrefix(a, "--suite="):
					suiteArg = strings.TrimPrefix(a, "--suite=")
				case a == "--auto-partition-size" && i+1 < len(args):
					parts = args[i+1]
					i++
				case strings.HasPrefix(a, "--auto-partition-size="):
					parts = strings.TrimPrefix(a, "--auto-partition-size=")
				}
			}
			if suiteArg == "" {
				continue
			}
			line := run.TextLine() + suiteLineIn(run.Str(), cmd.line)
			names, err := c.expandArg(suiteArg, run, line)
			if err != nil {
				return nil, nil, err
			}
			np := 0
			if vs, err := c.expandArg(parts, run, line); err == nil && len(vs) == 1 {
				np, _ = strconv.Atoi(vs[0].String())
			}
			for _, v := range names {
				if v.kind == vUnknown {
					unresolved = append(unresolved, "--suite "+suiteArg)
					continue
				}
				s := v.String()
				if s == "" {
					continue
				}
				out = append(out, suiteRun{suite: s, line: line, source: "step", partitions: np})
			}
		}
	}
	return out, unresolved, nil
}

// expandArg evaluates a shell word that may contain ${{ }} expressions or
// a $VAR reference to the step's or job's env.
func (c jobCtx) expandArg(arg string, n *ynode, line int) (vset, error) {
	if arg == "" {
		return nil, nil
	}
	if m := shellVarRE.FindStringSubmatch(arg); m != nil {
		if vs, ok := c.envValues(m[1]); ok {
			return vs, nil
		}
		vals := shellAssignments(n.Str(), m[1])
		var out vset
		for _, v := range vals {
			out = out.add(strVal(v))
		}
		if len(out) == 0 {
			out = vset{unknown("$" + m[1])}
		}
		return out, nil
	}
	if strings.Contains(strings.ReplaceAll(arg, "${{", ""), "$") {
		return vset{unknown(arg)}, nil
	}
	if !hasExpr(arg) {
		return vset{strVal(arg)}, nil
	}
	parts, err := parseTemplate(arg)
	if err != nil {
		return nil, &ParseError{File: c.j.wf.file, Line: line, Msg: fmt.Sprintf("invalid expression in %q: %v", clip(arg, 80), err)}
	}
	return evalTemplate(parts, c), nil
}

// suiteLineIn returns the 0-based script line, from the command's first
// line on, that holds the --suite argument.
func suiteLineIn(script string, from int) int {
	lines := strings.Split(script, "\n")
	for i := from; i < len(lines); i++ {
		if strings.Contains(lines[i], "--suite") {
			return i
		}
	}
	return from
}

// matrixPartitions returns the length of a partition/part matrix list.
func matrixPartitions(j *job) int {
	mx := j.node.Get("strategy").Get("matrix")
	for _, k := range []string{"partition", "part"} {
		if l := mx.Get(k); l != nil && l.Kind == ySeq {
			return len(l.Items)
		}
	}
	return 0
}

// shellCmd is one logical command line of a script (continuations joined).
type shellCmd struct {
	text string
	line int // 0-based line within the script where the command starts
}

func shellCommands(script string) []shellCmd {
	var out []shellCmd
	var cur strings.Builder
	start := -1
	for i, ln := range strings.Split(script, "\n") {
		t := strings.TrimRight(ln, " \t\r")
		if start < 0 {
			start = i
		}
		if strings.HasSuffix(t, "\\") {
			cur.WriteString(strings.TrimSuffix(t, "\\"))
			cur.WriteByte(' ')
			continue
		}
		cur.WriteString(t)
		if s := strings.TrimSpace(cur.String()); s != "" && !strings.HasPrefix(s, "#") {
			out = append(out, shellCmd{text: s, line: start})
		}
		cur.Reset()
		start = -1
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, shellCmd{text: s, line: start})
	}
	return out
}

// shellWords splits a command into words, honouring quotes and keeping
// ${{ ... }} together even when it contains spaces.
func shellWords(s string) []string {
	var out []string
	var b strings.Builder
	in := false
	var quote byte
	flush := func() {
		if in {
			out = append(out, b.String())
		}
		b.Reset()
		in = false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if quote == 0 && strings.HasPrefix(s[i:], "${{") {
			end := closingBraces(s[i+3:])
			if end >= 0 {
				b.WriteString(s[i : i+3+end+2])
				i += 3 + end + 1
				in = true
				continue
			}
		}
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			} else {
				b.WriteByte(c)
			}
		case c == '"' || c == '\'':
			quote = c
			in = true
		case c == ' ' || c == '\t' || c == ';' || c == '|' || c == '&':
			flush()
		case c == '#' && !in:
			flush()
			return out
		default:
			b.WriteByte(c)
			in = true
		}
	}
	flush()
	return out
}

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

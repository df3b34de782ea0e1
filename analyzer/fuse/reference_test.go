package fuse

import (
	"bufio"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/tracetriage/tracetriage/internal/testutil"
)

// This file reads the reference tool's outputs (../shared/reference/
// python-skill/*.txt): the Kernel Table rows of each stage become Match input,
// the Fuse Opportunity Table rows the expectations of the parity tests.

// refStage is one stage ("decode", "extend/prefill", "all" or "" when the
// output has no stage heading) of a reference output.
type refStage struct {
	kernels []refKernel
	fuse    []refFuse
}

type refKernel struct {
	Kernel
	sharePct float64 // as printed (one decimal)
}

type refFuse struct {
	pattern, confidence string
	ms, sharePct        float64
	evidence            []Evidence
	locations           []string // converted to "path:line func"
	candidatePaths      []string
	rationale           string
}

type refOutput struct {
	framework string // "sglang" or "vllm", as printed
	order     []string
	stages    map[string]*refStage
}

// splitCells splits a Markdown table row on unescaped '|' and unescapes the
// cells.
func splitCells(line string) []string {
	line = strings.TrimSpace(line)
	line = strings.TrimPrefix(line, "|")
	line = strings.TrimSuffix(line, "|")
	var cells []string
	var b strings.Builder
	for i := 0; i < len(line); i++ {
		switch {
		case line[i] == '\\' && i+1 < len(line) && line[i+1] == '|':
			b.WriteByte('|')
			i++
		case line[i] == '|':
			cells = append(cells, strings.TrimSpace(b.String()))
			b.Reset()
		default:
			b.WriteByte(line[i])
		}
	}
	return append(cells, strings.TrimSpace(b.String()))
}

var (
	siteShareRE = regexp.MustCompile(`^(.*) \(site share (\d+)%\)$`)
	evidenceRE  = regexp.MustCompile(`^(.*) \((\d+\.\d)%\)$`)
	refLocRE    = regexp.MustCompile(`^(\S+) @ (.+)$`)
)

func parseMS(t *testing.T, s string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(strings.TrimSuffix(s, " ms"), 64)
	if err != nil {
		t.Fatalf("GPU time cell %q: %v", s, err)
	}
	return f
}

func parsePct(t *testing.T, s string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
	if err != nil {
		t.Fatalf("share cell %q: %v", s, err)
	}
	return f
}

func splitBR(s string) []string {
	if s == "-" || s == "" {
		return nil
	}
	return strings.Split(s, "<br>")
}

// readReference parses one reference output file.
func readReference(t *testing.T, path string) *refOutput {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := &refOutput{stages: map[string]*refStage{}}
	section, stage := "", ""
	get := func() *refStage {
		s := out.stages[stage]
		if s == nil {
			s = &refStage{}
			out.stages[stage] = s
			out.order = append(out.order, stage)
		}
		return s
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "Framework: "):
			switch strings.TrimPrefix(line, "Framework: ") {
			case "SGLang":
				out.framework = "sglang"
			case "vLLM":
				out.framework = "vllm"
			case "TensorRT-LLM":
				out.framework = "trtllm"
			default:
				t.Fatalf("%s: unknown framework line %q", path, line)
			}
		case line == "Kernel Table", line == "Overlap Opportunity Table", line == "Fuse Opportunity Table":
			section, stage = line, ""
		case strings.HasPrefix(line, "##### "):
			stage = strings.TrimPrefix(line, "##### ")
		case strings.HasPrefix(line, "| "):
			cells := splitCells(line)
			if cells[0] == "Kernel" || cells[0] == "Pattern" || cells[0] == "---" || cells[1] == "-" {
				continue
			}
			switch section {
			case "Kernel Table":
				if len(cells) != 7 {
					t.Fatalf("%s: kernel row with %d cells: %q", path, len(cells), line)
				}
				k := refKernel{Kernel: Kernel{Name: cells[0], Category: cells[1], GPUTimeUS: 1000 * parseMS(t, cells[2])},
					sharePct: parsePct(t, cells[3])}
				locs, ops := splitBR(cells[5]), splitBR(cells[6])
				for i, l := range locs {
					s := Site{Location: l, SharePct: 100}
					if m := siteShareRE.FindStringSubmatch(l); m != nil {
						s.Location = m[1]
						s.SharePct, _ = strconv.ParseFloat(m[2], 64)
					}
					if s.Location == "unresolved" {
						s.Location = ""
					}
					if i < len(ops) {
						s.CPUOp = ops[i]
					}
					k.Sites = append(k.Sites, s)
				}
				get().kernels = append(get().kernels, k)
			case "Fuse Opportunity Table":
				if len(cells) != 8 {
					t.Fatalf("%s: fuse row with %d cells: %q", path, len(cells), line)
				}
				r := refFuse{pattern: cells[0], confidence: cells[1], ms: parseMS(t, cells[2]),
					sharePct: parsePct(t, cells[3]), candidatePaths: splitBR(cells[6]), rationale: cells[7]}
				for _, e := range splitBR(cells[4]) {
					m := evidenceRE.FindStringSubmatch(e)
					if m == nil {
						t.Fatalf("%s: evidence %q", path, e)
					}
					r.evidence = append(r.evidence, Evidence{Kernel: m[1], SharePct: parsePct(t, m[2])})
				}
				for _, l := range splitBR(cells[5]) {
					m := refLocRE.FindStringSubmatch(l)
					if m == nil {
						t.Fatalf("%s: location %q", path, l)
					}
					r.locations = append(r.locations, m[2]+" "+m[1])
				}
				get().fuse = append(get().fuse, r)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// input turns a reference stage into Match input. The stage total is not
// printed; it is estimated from the printed times and shares of all rows.
// Each row's time is then taken from its printed share (three significant
// digits) rather than its printed time (two decimals of a millisecond, too
// coarse for small rows), so that shares computed by Match reproduce the
// printed ones up to their rounding.
func (s *refStage) input() ([]Kernel, float64) {
	us, pct := 0.0, 0.0
	for _, k := range s.kernels {
		us += k.GPUTimeUS
		pct += k.sharePct
	}
	if pct == 0 {
		return nil, 0
	}
	total := 100 * us / pct
	ks := make([]Kernel, 0, len(s.kernels))
	for _, k := range s.kernels {
		kk := k.Kernel
		kk.GPUTimeUS = k.sharePct * total / 100
		ks = append(ks, kk)
	}
	return ks, total
}

func referencePath(t *testing.T, file string) string {
	t.Helper()
	return testutil.SharedFile(t, "reference/python-skill/"+file)
}

package trace

import (
	"encoding/json"
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

// Stage names. File names, annotations and the analysis use these three.
const (
	StageExtend = "extend"
	StageDecode = "decode"
	StageAll    = "all"
)

// StageOrder sorts stages: extend, decode, all, then anything else.
func StageOrder(stage string) int {
	switch stage {
	case StageExtend, "prefill":
		return 0
	case StageDecode:
		return 1
	case StageAll:
		return 2
	}
	return 99
}

// Target is one trace file chosen for analysis.
type Target struct {
	Path  string
	Stage string // from the file name; StageAll when the name has none
	Rank  int    // TP rank from the file name; -1 when it has none
}

// Targets is what a trace file or profile directory resolves to.
type Targets struct {
	Dir        string   // the trace directory chosen
	Files      []Target // sorted by stage order, then name
	ServerArgs string   // path of server_args.json, "" when none was found
}

// ErrNoTraces: a directory holds no trace files.
var ErrNoTraces = errors.New("no trace files found")

var nonTraceNames = map[string]bool{"server_args.json": true, "metadata.json": true, "config.json": true}

// NameLooksLikeTrace reports whether a file name has a trace suffix
// (.json, .json.gz) and is not a known non-trace JSON file.
func NameLooksLikeTrace(name string) bool {
	lower := strings.ToLower(name)
	if nonTraceNames[lower] {
		return false
	}
	return strings.HasSuffix(lower, ".json") || strings.HasSuffix(lower, ".json.gz")
}

// Discover resolves a trace file or profile directory (triage-behaviour.md
// §2.3): for a directory, the trace directory whose newest trace is newest
// (the directory itself when it holds traces directly), rank 0 (or the
// lowest rank) and the newest file per stage; server_args.json beside the
// traces or one level up.
func Discover(path string) (*Targets, error) {
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: %w: check the path", path, ErrNotFound)
		}
		return nil, err
	}
	if !st.IsDir() {
		dir := filepath.Dir(path)
		return &Targets{
			Dir:        dir,
			Files:      []Target{{Path: path, Stage: ParseStage(filepath.Base(path)), Rank: ParseTPRank(filepath.Base(path))}},
			ServerArgs: findServerArgs(dir),
		}, nil
	}
	dir, files, err := pickTraceDir(path)
	if err != nil {
		return nil, err
	}
	files = dropMerged(files)
	files = keepLowestRank(files)
	files = newestPerStage(files)
	sort.Slice(files, func(i, j int) bool {
		a, b := files[i], files[j]
		if StageOrder(a.t.Stage) != StageOrder(b.t.Stage) {
			return StageOrder(a.t.Stage) < StageOrder(b.t.Stage)
		}
		return filepath.Base(a.t.Path) < filepath.Base(b.t.Path)
	})
	out := &Targets{Dir: dir, ServerArgs: findServerArgs(dir)}
	if out.ServerArgs == "" {
		out.ServerArgs = findServerArgs(path)
	}
	for _, f := range files {
		out.Files = append(out.Files, f.t)
	}
	return out, nil
}

type candidate struct {
	t     Target
	mtime int64
}

func directTraces(dir string) []candidate {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []candidate
	for _, e := range entries {
		if e.IsDir() || !NameLooksLikeTrace(e.Name()) {
			continue
		}
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		p := filepath.Join(dir, e.Name())
		out = append(out, candidate{
			t:     Target{Path: p, Stage: ParseStage(e.Name()), Rank: ParseTPRank(e.Name())},
			mtime: info.ModTime().UnixNano(),
		})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].mtime < out[j].mtime })
	return out
}

func pickTraceDir(root string) (string, []candidate, error) {
	if c := directTraces(root); len(c) > 0 {
		return root, c, nil
	}
	bestDir, bestTime := "", int64(0)
	var best []candidate
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() || p == root {
			return nil
		}
		c := directTraces(p)
		if len(c) == 0 {
			return nil
		}
		if newest := c[len(c)-1].mtime; best == nil || newest > bestTime {
			bestDir, bestTime, best = p, newest, c
		}
		return nil
	})
	if best == nil {
		return "", nil, fmt.Errorf("%s: %w (looked for *.json and *.json.gz files, recursively): point --input at a trace file or a profile directory", root, ErrNoTraces)
	}
	return bestDir, best, nil
}

func dropMerged(files []candidate) []candidate {
	var kept []candidate
	for _, f := range files {
		if !strings.HasPrefix(strings.ToLower(filepath.Base(f.t.Path)), "merged-") {
			kept = append(kept, f)
		}
	}
	if len(kept) == 0 {
		return files
	}
	return kept
}

func keepLowestRank(files []candidate) []candidate {
	lowest := -1
	for _, f := range files {
		if f.t.Rank >= 0 && (lowest < 0 || f.t.Rank < lowest) {
			lowest = f.t.Rank
		}
	}
	if lowest < 0 {
		return files
	}
	var kept []candidate
	for _, f := range files {
		if f.t.Rank == lowest {
			kept = append(kept, f)
		}
	}
	return kept
}

func newestPerStage(files []candidate) []candidate {
	newest := map[string]candidate{}
	for _, f := range files { // ascending mtime: later ones win
		newest[f.t.Stage] = f
	}
	out := make([]candidate, 0, len(newest))
	for _, f := range newest {
		out = append(out, f)
	}
	return out
}

var rankPatterns = []*regexp.Regexp{
	regexp.MustCompile(`(?i)(?:^|[_-])tp(\d+)(?:[_.-]|$)`),
	regexp.MustCompile(`(?i)TP-(\d+)`),
	regexp.MustCompile(`(?i)(?:^|[_-])rank(\d+)(?:[_.-]|$)`),
	regexp.MustCompile(`(?i)(?:^|[_-])worker(\d+)(?:[_.-]|$)`),
}

// ParseTPRank reads the tensor-parallel rank from a trace file name
// (tp<N>, TP-<N>, rank<N>, worker<N>); -1 when none is found.
func ParseTPRank(name string) int {
	for _, re := range rankPatterns {
		if m := re.FindStringSubmatch(name); m != nil {
			if n, err := strconv.Atoi(m[1]); err == nil {
				return n
			}
		}
	}
	return -1
}

// ParseStage reads the stage from a trace file name: "-EXTEND"/"-PREFILL"
// (or with "_") → extend, "-DECODE" → decode, else all.
func ParseStage(name string) string {
	lower := strings.ToLower(name)
	switch {
	case strings.Contains(lower, "-extend") || strings.Contains(lower, "-prefill") ||
		strings.Contains(lower, "_extend") || strings.Contains(lower, "_prefill"):
		return StageExtend
	case strings.Contains(lower, "-decode") || strings.Contains(lower, "_decode"):
		return StageDecode
	}
	return StageAll
}

func findServerArgs(dir string) string {
	for _, d := range []string{dir, filepath.Dir(dir)} {
		p := filepath.Join(d, "server_args.json")
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p
		}
	}
	return ""
}

// ServerArgs are the fields of a server's arguments the analysis uses.
type ServerArgs struct {
	Model  string         // model_path or model
	TPSize int            // tp_size (or tensor_parallel_size); 1 when absent
	Raw    map[string]any // every key, for framework detection
}

// LoadServerArgs reads a server_args.json file (a JSON object).
func LoadServerArgs(path string) (*ServerArgs, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read server args %s: %w", path, err)
	}
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("read server args %s: not a JSON object: %w", path, err)
	}
	sa := &ServerArgs{Raw: raw, TPSize: 1}
	for _, k := range []string{"model_path", "model"} {
		if s, ok := raw[k].(string); ok && s != "" {
			sa.Model = s
			break
		}
	}
	for _, k := range []string{"tp_size", "tensor_parallel_size"} {
		if f, ok := raw[k].(float64); ok && f >= 1 {
			sa.TPSize = int(f)
			break
		}
	}
	return sa, nil
}

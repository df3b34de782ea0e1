package lsp

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/tracetriage/tracetriage/analyzer"
)

// DefaultTraceDir is the folder, relative to each workspace folder, where
// the server looks for the newest trace when no trace is configured. Point
// SGLANG_TORCH_PROFILER_DIR or VLLM_TORCH_PROFILER_DIR there.
const DefaultTraceDir = ".tracetriage/traces"

// Config is the server's settings, read from initializationOptions and from
// workspace/didChangeConfiguration under the "tracetriage" section.
type Config struct {
	// Trace is a trace file or profile directory (absolute, or relative to
	// the first workspace folder).
	Trace string `json:"trace"`
	// Mapping and Formal select two-trace mode: the mapping trace supplies
	// Python locations, the formal trace the timings. Both or neither.
	Mapping string `json:"mapping"`
	Formal  string `json:"formal"`
	// TraceDir is where to look for the newest trace when Trace is empty;
	// default DefaultTraceDir.
	TraceDir string `json:"traceDir"`
	// Framework is "auto" (default), "sglang", "vllm" or "trtllm".
	Framework string `json:"framework"`
	// Stage is the stage inlay hints, lenses and diagnostics report:
	// "extend", "decode" or "all"; empty picks the first that is not "all".
	Stage string `json:"stage"`
	// HotLines is how many of the hottest lines get a diagnostic (default
	// 10; 0 keeps the default, a negative value turns them off).
	HotLines int `json:"hotLines"`
}

// errNoTrace says that no trace is configured and none was found.
var errNoTrace = errors.New("no trace found")

// parseSettings reads settings in any of the shapes editors send:
// {"tracetriage": {...}}, {"tracetriage.trace": ...} or the bare {...}
// (initializationOptions). Absent keys keep base's values. A value of the
// wrong type is an error naming the key.
func parseSettings(raw []byte, base Config) (Config, error) {
	cfg := base
	if len(raw) == 0 || string(raw) == "null" {
		return cfg, nil
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return base, fmt.Errorf("settings are not a JSON object: %w", err)
	}
	fields := top
	if sec, ok := top["tracetriage"]; ok {
		var inner map[string]json.RawMessage
		if err := json.Unmarshal(sec, &inner); err != nil {
			return base, fmt.Errorf("setting tracetriage: want an object: %w", err)
		}
		fields = inner
	} else {
		flat := make(map[string]json.RawMessage)
		for k, v := range top {
			if name, ok := strings.CutPrefix(k, "tracetriage."); ok {
				flat[name] = v
			}
		}
		if len(flat) > 0 {
			fields = flat
		}
	}
	set := func(key string, dst any) error {
		v, ok := fields[key]
		if !ok || string(v) == "null" {
			return nil
		}
		if err := json.Unmarshal(v, dst); err != nil {
			return fmt.Errorf("setting tracetriage.%s: %w", key, err)
		}
		return nil
	}
	for key, dst := range map[string]any{
		"trace": &cfg.Trace, "mapping": &cfg.Mapping, "formal": &cfg.Formal,
		"traceDir": &cfg.TraceDir, "framework": &cfg.Framework, "stage": &cfg.Stage,
		"hotLines": &cfg.HotLines,
	} {
		if err := set(key, dst); err != nil {
			return base, err
		}
	}
	if (cfg.Mapping == "") != (cfg.Formal == "") {
		return base, errors.New("settings tracetriage.mapping and tracetriage.formal go together: set both or neither")
	}
	return cfg, nil
}

// hotLines returns the number of hot-line diagnostics to publish.
func (c Config) hotLines() int {
	switch {
	case c.HotLines < 0:
		return 0
	case c.HotLines == 0:
		return 10
	}
	return c.HotLines
}

// resolve turns the settings into engine options for the given workspace
// folders: the configured trace (or mapping + formal pair), else the newest
// trace under the trace folder of the first workspace folder that has one.
func (c Config) resolve(roots []string) (analyzer.Options, error) {
	opts := analyzer.Options{Framework: c.Framework}
	base := ""
	if len(roots) > 0 {
		base = roots[0]
	}
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) || base == "" {
			return p
		}
		return filepath.Join(base, p)
	}
	switch {
	case c.Mapping != "":
		opts.MappingInput, opts.FormalInput = abs(c.Mapping), abs(c.Formal)
		return opts, nil
	case c.Trace != "":
		opts.Input = abs(c.Trace)
		return opts, nil
	}
	dir := c.TraceDir
	if dir == "" {
		dir = DefaultTraceDir
	}
	var dirs []string
	if filepath.IsAbs(dir) {
		dirs = []string{dir}
	} else {
		for _, r := range roots {
			dirs = append(dirs, filepath.Join(r, dir))
		}
	}
	var newest string
	var newestTime time.Time
	for _, d := range dirs {
		p, t := newestTrace(d)
		if p != "" && t.After(newestTime) {
			newest, newestTime = p, t
		}
	}
	if newest == "" {
		return opts, fmt.Errorf("%w: set tracetriage.trace, or put a trace under %s in the workspace", errNoTrace, dir)
	}
	opts.Input = newest
	// A profiler run writes one folder of traces (per rank and stage): hand
	// the engine the folder, which picks rank 0 and each stage's newest.
	if folder := filepath.Dir(newest); !isAnalysisDocument(newest) && !slices.Contains(dirs, folder) && countTraces(folder) > 1 {
		opts.Input = folder
	}
	return opts, nil
}

// countTraces counts the trace files directly in dir.
func countTraces(dir string) int {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range entries {
		if !e.IsDir() && isTraceFile(e.Name()) {
			n++
		}
	}
	return n
}

// isTraceFile reports whether name looks like a Kineto trace.
func isTraceFile(name string) bool {
	return strings.HasSuffix(name, ".json") || strings.HasSuffix(name, ".json.gz")
}

// maxTraceDepth bounds how deep the trace folder is searched.
const maxTraceDepth = 4

// newestTrace returns the most recently modified trace file under dir.
func newestTrace(dir string) (string, time.Time) {
	var best string
	var bestTime time.Time
	_ = walkTraces(dir, func(p string, info fs.FileInfo) {
		if t := info.ModTime(); best == "" || t.After(bestTime) || (t.Equal(bestTime) && p > best) {
			best, bestTime = p, t
		}
	})
	return best, bestTime
}

// walkTraces calls fn for each trace file under dir, at most maxTraceDepth
// folders deep. A missing dir is not an error.
func walkTraces(dir string, fn func(p string, info fs.FileInfo)) error {
	depth0 := strings.Count(filepath.Clean(dir), string(filepath.Separator))
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // unreadable entries are skipped
		}
		if d.IsDir() {
			if strings.Count(p, string(filepath.Separator))-depth0 >= maxTraceDepth {
				return filepath.SkipDir
			}
			return nil
		}
		if !isTraceFile(d.Name()) {
			return nil
		}
		info, err := d.Info()
		if err == nil && info.Mode().IsRegular() {
			fn(p, info)
		}
		return nil
	})
}

// fingerprint summarises the trace inputs on disk (path, size, mtime of
// every trace file) so that a poll can tell cheaply whether they changed.
func fingerprint(opts analyzer.Options) string {
	var b strings.Builder
	for _, p := range []string{opts.Input, opts.MappingInput, opts.FormalInput} {
		if p == "" {
			continue
		}
		st, err := os.Stat(p)
		if err != nil {
			fmt.Fprintf(&b, "%s:missing;", p)
			continue
		}
		if !st.IsDir() {
			fmt.Fprintf(&b, "%s:%d:%d;", p, st.Size(), st.ModTime().UnixNano())
			continue
		}
		_ = walkTraces(p, func(fp string, info fs.FileInfo) {
			fmt.Fprintf(&b, "%s:%d:%d;", fp, info.Size(), info.ModTime().UnixNano())
		})
	}
	return b.String()
}

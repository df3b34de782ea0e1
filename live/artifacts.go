package live

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// fileStamp identifies one version of a file.
type fileStamp struct {
	size    int64
	modTime time.Time
}

// traceTarget is where a server writes its traces: a directory searched
// recursively, or a file path (TensorRT-LLM's TLLM_TORCH_PROFILE_TRACE may
// name a file; newer TensorRT-LLM versions add "-rank-<N>" before its
// extension, so those siblings count too).
type traceTarget struct {
	path   string
	isFile bool
}

// traceFileTarget reports whether an output path names a file rather than a
// directory (it ends in .json or .gz).
func traceFileTarget(path string) bool {
	l := strings.ToLower(path)
	return strings.HasSuffix(l, ".json") || strings.HasSuffix(l, ".gz")
}

// splitTraceExt splits "a/trace.json.gz" into "trace" and ".json.gz".
func splitTraceExt(name string) (stem, ext string) {
	l := strings.ToLower(name)
	for _, e := range []string{".json.gz", ".json", ".gz"} {
		if strings.HasSuffix(l, e) {
			return name[:len(name)-len(e)], name[len(name)-len(e):]
		}
	}
	return name, ""
}

// scan returns the trace files of the target with their stamps.
func (t traceTarget) scan() map[string]fileStamp {
	out := map[string]fileStamp{}
	if t.isFile {
		dir, name := filepath.Split(t.path)
		stem, ext := splitTraceExt(name)
		entries, err := os.ReadDir(filepath.Clean(dir))
		if err != nil {
			return out
		}
		for _, e := range entries {
			n := e.Name()
			if n != name && !(strings.HasPrefix(n, stem+"-rank-") && strings.HasSuffix(n, ext)) {
				continue
			}
			if info, err := e.Info(); err == nil && info.Mode().IsRegular() {
				out[filepath.Join(dir, n)] = fileStamp{info.Size(), info.ModTime()}
			}
		}
		return out
	}
	_ = filepath.WalkDir(t.path, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil || !info.Mode().IsRegular() {
			return nil
		}
		if looksLikeTrace(p) {
			out[p] = fileStamp{info.Size(), info.ModTime()}
		}
		return nil
	})
	return out
}

// looksLikeTrace applies the trace file-name rules: server_args.json,
// metadata.json and config.json never are; *.trace.json[.gz] and
// *.pt.trace.json* always are; any other *.json[.gz] is one when its start
// looks like a Chrome trace.
func looksLikeTrace(path string) bool {
	name := strings.ToLower(filepath.Base(path))
	switch name {
	case "server_args.json", "metadata.json", "config.json":
		return false
	}
	if strings.HasSuffix(name, ".trace.json") || strings.HasSuffix(name, ".trace.json.gz") ||
		strings.Contains(name, ".pt.trace.json") {
		return true
	}
	if !strings.HasSuffix(name, ".json") && !strings.HasSuffix(name, ".json.gz") {
		return false
	}
	return sniffTrace(path)
}

// sniffTrace reads the start of a JSON (or gzipped JSON) file and reports
// whether it looks like a Chrome trace: an object with "traceEvents", or an
// array of objects. A file still being written may fail; it is looked at
// again on the next poll.
func sniffTrace(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(strings.ToLower(path), ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return false
		}
		defer zr.Close()
		r = zr
	}
	buf := make([]byte, 64<<10)
	n, _ := io.ReadFull(r, buf)
	head := bytes.TrimLeft(buf[:n], " \t\r\n\ufeff")
	switch {
	case bytes.HasPrefix(head, []byte("[")):
		return bytes.HasPrefix(bytes.TrimLeft(head[1:], " \t\r\n"), []byte("{"))
	case bytes.HasPrefix(head, []byte("{")):
		return bytes.Contains(head, []byte(`"traceEvents"`))
	}
	return false
}

// waitOptions tunes waitForTraces.
type waitOptions struct {
	timeout, poll time.Duration
	progress      func(string)
	advice        string // appended to the timeout error
	// bothStages makes the wait go on until an EXTEND (or PREFILL) and a
	// DECODE trace are there (SGLang's profile_by_stage writes them at
	// different times); at the timeout, what is there is taken.
	bothStages bool
}

// waitForTraces waits until trace files that were not in before (or have
// changed since) appear under the target and stop growing: the same set
// with the same sizes and times on two polls in a row. It returns the trace
// file for a file target (the exact path, else the rank-0 sibling, else the
// first sibling by name), or for a directory target the directory holding
// the newest new trace. Old traces left in the directory by earlier runs are
// never returned (the reference tool could pick them up).
func waitForTraces(ctx context.Context, t traceTarget, before map[string]fileStamp, o waitOptions) (string, error) {
	start := time.Now()
	deadline := start.Add(o.timeout)
	var prev map[string]fileStamp
	lastNote := time.Time{}
	for {
		fresh := map[string]fileStamp{}
		for p, st := range t.scan() {
			if old, ok := before[p]; !ok || old != st {
				fresh[p] = st
			}
		}
		ready := len(fresh) > 0 && sameStamps(fresh, prev) && allNonEmpty(fresh)
		now := time.Now()
		if ready && (!o.bothStages || hasBothStages(fresh)) {
			return pickTrace(t, fresh), nil
		}
		prev = fresh
		if !now.Before(deadline) {
			if ready {
				if o.progress != nil {
					o.progress(fmt.Sprintf("only one stage's trace appeared within %s; analysing what is there",
						o.timeout.Round(time.Millisecond)))
				}
				return pickTrace(t, fresh), nil
			}
			return "", newError(ErrNoTrace, nil, "no new trace file appeared under %s within %s: %s",
				t.path, o.timeout.Round(time.Millisecond), o.advice)
		}
		if o.progress != nil && now.Sub(lastNote) >= 5*time.Second {
			lastNote = now
			what := "waiting for trace files under " + t.path
			if len(fresh) > 0 {
				what = fmt.Sprintf("waiting for %d trace file(s) under %s to be complete", len(fresh), t.path)
			}
			o.progress(fmt.Sprintf("%s (%s of %s)", what, now.Sub(start).Round(time.Second), o.timeout.Round(time.Second)))
		}
		wait := o.poll
		if rest := deadline.Sub(now); rest < wait {
			wait = rest
		}
		if err := sleep(ctx, wait); err != nil {
			return "", newError(err, nil, "waiting for trace files under %s: cancelled", t.path)
		}
	}
}

// hasBothStages reports whether the traces include an extend (prefill) and
// a decode one, by SGLang's file names.
func hasBothStages(m map[string]fileStamp) bool {
	extend, decode := false, false
	for p := range m {
		n := strings.ToLower(filepath.Base(p))
		extend = extend || strings.Contains(n, "-extend") || strings.Contains(n, "-prefill")
		decode = decode || strings.Contains(n, "-decode")
	}
	return extend && decode
}

func sameStamps(a, b map[string]fileStamp) bool {
	if len(a) != len(b) {
		return false
	}
	for p, st := range a {
		if b[p] != st {
			return false
		}
	}
	return true
}

func allNonEmpty(m map[string]fileStamp) bool {
	for _, st := range m {
		if st.size == 0 {
			return false
		}
	}
	return true
}

// pickTrace chooses what waitForTraces returns among the new traces.
func pickTrace(t traceTarget, fresh map[string]fileStamp) string {
	paths := make([]string, 0, len(fresh))
	for p := range fresh {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	if t.isFile {
		if _, ok := fresh[t.path]; ok {
			return t.path
		}
		for _, p := range paths {
			if strings.Contains(filepath.Base(p), "-rank-0.") {
				return p
			}
		}
		return paths[0]
	}
	newest := paths[0]
	for _, p := range paths[1:] {
		if fresh[p].modTime.After(fresh[newest].modTime) {
			newest = p
		}
	}
	return filepath.Dir(newest)
}

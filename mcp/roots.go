package mcp

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// pathError is a file argument the tools refuse; its message is written for
// the model to act on.
type pathError struct{ msg string }

func (e *pathError) Error() string { return e.msg }

// rootSet is the set of directories file arguments must resolve inside.
//
// The operator's roots (--root) are authoritative when given explicitly.
// When the operator gave none, the server defaults to the working directory,
// and a client that declares the roots capability replaces that default with
// its own roots (its workspace folders), fetched once per session and again
// after notifications/roots/list_changed.
type rootSet struct {
	operator    []string // cleaned, symlink-resolved, absolute
	explicit    bool     // operator roots came from --root
	askClient   bool     // ask clients for their roots when !explicit
	clientRoots sync.Map // session id -> []string
}

// newRootSet resolves dirs (the working directory when empty) to absolute,
// symlink-free paths. A root that does not exist is an error.
func newRootSet(dirs []string, askClient bool) (*rootSet, error) {
	rs := &rootSet{explicit: len(dirs) > 0, askClient: askClient}
	if len(dirs) == 0 {
		wd, err := os.Getwd()
		if err != nil {
			return nil, fmt.Errorf("working directory: %w", err)
		}
		dirs = []string{wd}
	}
	for _, d := range dirs {
		r, err := canonicalDir(d)
		if err != nil {
			return nil, fmt.Errorf("root %s: %w", d, err)
		}
		rs.operator = append(rs.operator, r)
	}
	return rs, nil
}

// canonicalDir returns the absolute, symlink-resolved form of an existing
// directory.
func canonicalDir(d string) (string, error) {
	abs, err := filepath.Abs(d)
	if err != nil {
		return "", err
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", err
	}
	st, err := os.Stat(real)
	if err != nil {
		return "", err
	}
	if !st.IsDir() {
		return "", errors.New("not a directory")
	}
	return real, nil
}

// roots returns the roots in force for the session in ctx.
func (rs *rootSet) roots(ctx context.Context) []string {
	if rs.explicit || !rs.askClient {
		return rs.operator
	}
	sess := server.ClientSessionFromContext(ctx)
	if sess == nil {
		return rs.operator
	}
	if v, ok := rs.clientRoots.Load(sess.SessionID()); ok {
		if r := v.([]string); len(r) > 0 {
			return r
		}
		return rs.operator
	}
	r := rs.fetchClientRoots(ctx, sess)
	rs.clientRoots.Store(sess.SessionID(), r)
	if len(r) > 0 {
		return r
	}
	return rs.operator
}

// fetchClientRoots asks the client for its roots when it declared the
// capability. Roots that are not local directories are ignored; any failure
// yields nil (the operator's roots then apply).
func (rs *rootSet) fetchClientRoots(ctx context.Context, sess server.ClientSession) []string {
	ci, ok := sess.(server.SessionWithClientInfo)
	if !ok || ci.GetClientCapabilities().Roots == nil {
		return nil
	}
	srv := server.ServerFromContext(ctx)
	if srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	res, err := srv.RequestRoots(ctx, mcp.ListRootsRequest{})
	if err != nil || res == nil {
		return nil
	}
	var out []string
	for _, r := range res.Roots {
		p, ok := fileURIPath(r.URI)
		if !ok {
			continue
		}
		if d, err := canonicalDir(p); err == nil {
			out = append(out, d)
		}
	}
	return out
}

// forget drops the cached client roots of a session (after a
// roots/list_changed notification or when the session ends).
func (rs *rootSet) forget(sessionID string) { rs.clientRoots.Delete(sessionID) }

// forgetAll drops the cached client roots of every session.
func (rs *rootSet) forgetAll() { rs.clientRoots.Clear() }

// fileURIPath turns a file:// URI into a local path.
func fileURIPath(uri string) (string, bool) {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "file" {
		return "", false
	}
	p := u.Path
	if runtime.GOOS == "windows" {
		p = strings.TrimPrefix(p, "/")
	}
	return filepath.FromSlash(p), p != ""
}

// resolve turns a file argument into an absolute, symlink-free path inside
// one of the roots in force. Relative paths are taken relative to the first
// root. The target must exist. Every refusal is a *pathError naming the
// roots.
func (rs *rootSet) resolve(ctx context.Context, arg, name string) (string, error) {
	roots := rs.roots(ctx)
	if strings.TrimSpace(arg) == "" {
		return "", &pathError{fmt.Sprintf("%s is empty: give the path of a trace file or profile directory under %s", name, rootList(roots))}
	}
	p := arg
	if strings.HasPrefix(p, "file://") {
		if fp, ok := fileURIPath(p); ok {
			p = fp
		}
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(roots[0], p)
	}
	p = filepath.Clean(p)
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		// Say nothing about the existence of files outside the roots.
		if !insideAny(p, roots) {
			return "", outsideRoots(name, arg, roots)
		}
		if errors.Is(err, fs.ErrNotExist) {
			return "", &pathError{fmt.Sprintf("%s %q does not exist: give an existing trace file or profile directory under %s", name, arg, rootList(roots))}
		}
		return "", &pathError{fmt.Sprintf("%s %q cannot be read (%v): check its permissions", name, arg, err)}
	}
	if !insideAny(real, roots) {
		if insideAny(p, roots) {
			return "", &pathError{fmt.Sprintf("%s %q is a symbolic link that leads outside the allowed roots (%s); copy the trace under a root, or restart the server with --root DIR to allow its directory", name, arg, strings.Join(roots, ", "))}
		}
		return "", outsideRoots(name, arg, roots)
	}
	return real, nil
}

func outsideRoots(name, arg string, roots []string) error {
	return &pathError{fmt.Sprintf("%s %q is outside the allowed roots (%s); give a path under one of them, or restart the server with --root DIR to allow another directory", name, arg, strings.Join(roots, ", "))}
}

func rootList(roots []string) string {
	if len(roots) == 1 {
		return "the allowed root " + roots[0]
	}
	return "the allowed roots (" + strings.Join(roots, ", ") + ")"
}

// insideAny reports whether the clean absolute path p is one of roots or
// lies below one.
func insideAny(p string, roots []string) bool {
	for _, r := range roots {
		if p == r {
			return true
		}
		rel, err := filepath.Rel(r, p)
		if err != nil {
			continue
		}
		if rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel) {
			return true
		}
	}
	return false
}

// checkTree makes sure that every file below dir that match selects (by
// its slash-separated path relative to dir) resolves inside the roots, for
// tools whose engine reads the files it finds below a path argument. A
// link to a directory outside the roots is refused too, whether or not
// the engine would follow it.
func (rs *rootSet) checkTree(ctx context.Context, dir, name string, match func(rel string) bool) error {
	roots := rs.roots(ctx)
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil // unreadable parts are the engine's to report
		}
		rel, _ := filepath.Rel(dir, p)
		link := d.Type()&fs.ModeSymlink != 0
		if !link && !match(filepath.ToSlash(rel)) {
			return nil
		}
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			return nil
		}
		if insideAny(real, roots) {
			return nil
		}
		if st, err := os.Stat(real); err == nil && (st.IsDir() || match(filepath.ToSlash(rel))) {
			return &pathError{fmt.Sprintf("%s %q holds %s, a symbolic link that leads outside the allowed roots (%s); remove the link or copy its target under a root", name, dir, rel, strings.Join(roots, ", "))}
		}
		return nil
	})
}

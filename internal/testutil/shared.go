// Package testutil holds helpers shared by the tests of several packages.
package testutil

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// ModuleRoot returns the repository root (the folder holding go.mod).
func ModuleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// SharedDir returns ../shared beside the repository (the read-only folder of
// real traces and specs). When it is absent the test is skipped with a clear
// message, except under CI (CI or TRACETRIAGE_REQUIRE_SHARED set), where its
// absence is a failure.
func SharedDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("TRACETRIAGE_SHARED")
	if dir == "" {
		dir = filepath.Join(ModuleRoot(), "..", "shared")
	}
	if st, err := os.Stat(filepath.Join(dir, "traces")); err == nil && st.IsDir() {
		return dir
	}
	msg := "../shared (real traces and specs) is absent beside the repository; set TRACETRIAGE_SHARED to its path"
	if os.Getenv("CI") != "" || os.Getenv("TRACETRIAGE_REQUIRE_SHARED") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// SharedFile returns the path of a file under ../shared, e.g.
// SharedFile(t, "traces/llm-serving/x.json.gz").
func SharedFile(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(SharedDir(t), filepath.FromSlash(rel))
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("shared file %s: %v", rel, err)
	}
	return p
}

// RequireE2E reports whether end-to-end tools that CI installs (npm
// packages, Neovim) must be present: true under CI or TRACETRIAGE_E2E=1.
// Tests skip when a tool is missing and this is false, and fail when true.
func RequireE2E() bool {
	return os.Getenv("CI") != "" || os.Getenv("TRACETRIAGE_E2E") != ""
}

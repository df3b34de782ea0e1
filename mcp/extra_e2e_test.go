package mcp

import "testing"

// extraE2ECalls lists the end-to-end calls of the tools that depend on the
// live, render and ci-runner packages.
func extraE2ECalls(t *testing.T) []map[string]any {
	return []map[string]any{}
}

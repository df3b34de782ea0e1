package mcp

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tracetriage/tracetriage/internal/testutil"
)

// TestSkills checks the skills under skills/: frontmatter with a name that
// matches the folder and a description, and every MCP tool they name
// exists.
func TestSkills(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join(testutil.ModuleRoot(), "skills", "*", "SKILL.md"))
	if err != nil || len(dirs) < 2 {
		t.Fatalf("skills: %v %v", dirs, err)
	}
	toolRef := regexp.MustCompile("`([a-z]+(?:_[a-z]+)+)[ `]")
	for _, p := range dirs {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		parts := strings.SplitN(string(b), "---\n", 3)
		if len(parts) != 3 || parts[0] != "" {
			t.Errorf("%s: no frontmatter", p)
			continue
		}
		fields := map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(parts[1]), "\n") {
			k, v, _ := strings.Cut(line, ":")
			fields[k] = strings.TrimSpace(v)
		}
		if want := filepath.Base(filepath.Dir(p)); fields["name"] != want {
			t.Errorf("%s: name %q, want the folder name %q", p, fields["name"], want)
		}
		if len(fields["description"]) < 40 {
			t.Errorf("%s: description too short", p)
		}
		var tools []string
		for _, m := range toolRef.FindAllStringSubmatch(parts[2], -1) {
			name := m[1]
			if slices.Contains(wantTools, name) && !slices.Contains(tools, name) {
				tools = append(tools, name)
			}
			if strings.Contains(name, "_") && !slices.Contains(wantTools, name) && !strings.HasSuffix(name, "_us") && !strings.HasSuffix(name, "_pct") &&
				!slices.Contains([]string{"mapping_input", "formal_input", "top_k", "trace_path", "dep_risk", "current_locations", "candidate_paths", "busy_time_us", "gpu_time_us", "torch_profiler_dir", "max_sites"}, name) {
				t.Errorf("%s names `%s`, which is neither a tool nor a known field", p, name)
			}
		}
		if len(tools) == 0 {
			t.Errorf("%s names no MCP tool", p)
		}
		t.Logf("%s: tools %v", filepath.Base(filepath.Dir(p)), tools)
	}
}

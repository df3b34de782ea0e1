package render

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzBundleReport feeds the bundle's report reader arbitrary saved
// analyses, text or JSON: it must never panic, and what it accepts comes
// out as one document with the title and the file's Source line.
func FuzzBundleReport(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "bundle", "runs", "*", "analysis*"))
	for _, name := range seeds {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"schema_version": 1, "stages": [{"kernels": [{}]}]}`))
	f.Add([]byte("Triage View\nModel: x\nFramework: vllm\n\nKernel Table\n| a | b |\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "analysis.txt")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		err := Bundle(&b, BundleOptions{Files: []BundleFile{{Label: "run", Path: path}}, Now: bundleTestNow})
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
			return
		}
		out := b.String()
		if !strings.HasPrefix(out, "# "+BundleDefaultTitle+"\n") || !strings.Contains(out, "Source: ") {
			t.Fatalf("bundle lacks its title or Source line:\n%s", out)
		}
	})
}

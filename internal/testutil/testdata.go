package testutil

import (
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestdataJSON returns the JSON text of a trace shipped in the repository's
// testdata/ folder, gunzipped when name ends in .gz.
func TestdataJSON(t testing.TB, name string) []byte {
	t.Helper()
	f, err := os.Open(filepath.Join(ModuleRoot(), "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(name, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		r = zr
	}
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return data
}

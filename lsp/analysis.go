package lsp

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/tracetriage/tracetriage/analyzer"
)

// Analyze is the server's default AnalyzeFunc. A single input that is a
// saved analysis document (`tracetriage analyze --format json`, or an MCP
// result saved to a file) is read as it is, so an analysis made on the GPU
// host can be opened in the editor without the trace; anything else goes to
// analyzer.Analyze.
func Analyze(ctx context.Context, opts analyzer.Options) (*analyzer.Document, error) {
	if opts.Input != "" && opts.MappingInput == "" && isAnalysisDocument(opts.Input) {
		return LoadDocument(opts.Input)
	}
	return analyzer.Analyze(ctx, opts)
}

// LoadDocument reads a saved analysis document.
func LoadDocument(path string) (*analyzer.Document, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read analysis %s: %w", path, err)
	}
	var doc analyzer.Document
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("read analysis %s: %w", path, err)
	}
	if doc.SchemaVersion != analyzer.SchemaVersion {
		return nil, fmt.Errorf("read analysis %s: schema_version %d, this build reads %d", path, doc.SchemaVersion, analyzer.SchemaVersion)
	}
	return &doc, nil
}

// isAnalysisDocument reports whether path is an uncompressed JSON file
// whose first key is "schema_version", as the analysis document writes it
// (Kineto traces start with "schemaVersion" or "traceEvents", or are an
// array).
func isAnalysisDocument(path string) bool {
	if !strings.HasSuffix(path, ".json") {
		return false
	}
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return false
	}
	t, err := dec.Token()
	return err == nil && t == "schema_version"
}

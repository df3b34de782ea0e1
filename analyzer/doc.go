// Package analyzer is the triage engine of tracetriage. It loads a PyTorch
// profiler (Kineto) trace or a profile directory, splits it by serving stage
// (extend/prefill, decode) and builds the analysis Document: kernels with the
// Python lines that launched them, overlap opportunities and fusion
// opportunities. It knows nothing of the CLI, MCP or LSP front-ends; they all
// call Analyze and read the Document.
package analyzer

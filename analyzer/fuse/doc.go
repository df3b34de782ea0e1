// Package fuse finds fusion opportunities in the kernel table of one serving
// stage: kernels that run separately although SGLang, vLLM or TensorRT-LLM
// (or an open upstream change) has a fused implementation of them, and fused
// kernels that already run.
//
// The knowledge lives in a catalogue of patterns, catalog.yaml, embedded in
// the binary (Default). Each pattern names the fused implementation by
// "active" keywords (the fused kernel or the Python function that calls it)
// and the unfused pieces by split groups (one keyword group per piece, e.g.
// rotary embedding and KV-cache write). Gates restrict a pattern to a
// framework, a tensor-parallel size or a model. A user file can add patterns
// or replace embedded ones by name (Catalog.Extend, DefaultWith).
//
// Catalog.Match applies the catalogue to the kernel rows of a stage and
// returns the selected opportunities, best first. The rules follow the
// reference triage tool (triage-behaviour.md §10) where it is right; the
// places where it deliberately differs are listed in docs/fusion.md.
//
// The package knows nothing of traces or of the analysis document: the engine
// (package analyzer) converts its kernel rows into Kernel values and the
// returned Opportunity values into its fuse rows.
package fuse

// Tracetriage reads PyTorch profiler (Kineto) traces of LLM serving engines
// (SGLang, vLLM, TensorRT-LLM) and says which GPU kernels take the time,
// which Python line launched each one, what could overlap and which kernels
// already have a fused implementation.
//
// Usage:
//
//	tracetriage <command> [flags]
//
// The commands are:
//
//	analyze          triage a trace file, a profile directory or a live server
//	compare          compare traces captured before and after a change
//	gen              write a synthetic SGLang-, vLLM- or TensorRT-LLM-shaped trace
//	probe            send a few requests to a live server and report latency
//	bundle           merge saved analyses into one Markdown document
//	trtllm-override  patch TensorRT-LLM's py_executor.py to record Python stacks
//	ci-runners       check CI docs against the workflows that really run
//	mcp              serve the analysis tools over the Model Context Protocol
//	lsp              serve GPU time on source lines over the Language Server Protocol
//	version          print the version
//
// Run "tracetriage <command> -h" for the flags of one command.
package main

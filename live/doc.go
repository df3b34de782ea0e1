// Package live drives running LLM inference servers (SGLang, vLLM and
// TensorRT-LLM) over HTTP: it starts and stops their torch profiler, sends a
// few generations so the profiler records decode steps, and waits for the
// trace files the server writes (Capture); it measures a server's answers and
// latency (Probe); it tells which framework serves a URL (DetectFramework);
// and it patches TensorRT-LLM's py_executor.py so its traces carry Python
// stacks (PatchTRTLLMExecutor).
//
// Every request goes to the host of the URL the caller gave and nowhere else:
// redirects to another host are refused, proxies from the environment are not
// used, each request has its own timeout and every call stops when its
// context is cancelled. Errors are one line that says what to do; they wrap
// the sentinel errors of this package (ErrUnreachable, ErrTimeout, ...) so a
// front-end can tell them apart with errors.Is.
package live

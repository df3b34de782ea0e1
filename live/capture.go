package live

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Switch is a three-way option: automatic (the zero value), on or off.
type Switch int

// Values of a Switch.
const (
	SwitchAuto Switch = iota
	SwitchOn
	SwitchOff
)

// String returns "auto", "on" or "off".
func (s Switch) String() string {
	switch s {
	case SwitchOn:
		return "on"
	case SwitchOff:
		return "off"
	}
	return "auto"
}

// ParseSwitch reads "auto", "on"/"true"/"yes"/"1" or "off"/"false"/"no"/"0".
func ParseSwitch(s string) (Switch, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return SwitchAuto, nil
	case "on", "true", "yes", "1":
		return SwitchOn, nil
	case "off", "false", "no", "0":
		return SwitchOff, nil
	}
	return SwitchAuto, newError(ErrBadOptions, nil, "%q is not auto, on or off", s)
}

// Defaults of CaptureOptions.
const (
	DefaultNumSteps       = 5
	DefaultProfilePrefix  = "triage-trace"
	DefaultProbePrompt    = "Repeat the word profiler many times with spaces so the server performs several decode steps. Do not add explanations."
	DefaultRequestTimeout = 300 * time.Second
	// DefaultSGLangTraceTimeout is how long Capture waits for SGLang's
	// traces, which it writes after num_steps forward steps.
	DefaultSGLangTraceTimeout = 180 * time.Second
	// DefaultServerTraceTimeout is how long Capture waits for vLLM's and
	// TensorRT-LLM's traces, which they write when the profiler stops.
	DefaultServerTraceTimeout = 60 * time.Second
	DefaultPollInterval       = 500 * time.Millisecond
	// DefaultSGLangProbeDelay and DefaultServerProbeDelay separate the
	// profiler start from the first probe generation.
	DefaultSGLangProbeDelay = 500 * time.Millisecond
	DefaultServerProbeDelay = 5 * time.Second
)

// CaptureOptions says which server to profile and how.
type CaptureOptions struct {
	// URL is the server's base URL, e.g. http://127.0.0.1:30000.
	URL string
	// Framework is "auto" (or "") to detect it (see DetectFramework), or
	// sglang, vllm, trtllm or an alias CanonicalFramework accepts.
	Framework string
	// OutputDir is where the traces land. SGLang: the directory the server
	// is asked to write under (a fresh temporary directory when empty); a
	// new <unix time> subdirectory is made in it. vLLM: required, the
	// server's torch_profiler_dir. TensorRT-LLM: required, the path of the
	// server's TLLM_TORCH_PROFILE_TRACE (a file when it ends in .json or
	// .gz, else a directory). The server writes the files, so the path must
	// be the same on this machine and the server's.
	OutputDir string
	// ProfilePrefix is SGLang's profile_prefix (DefaultProfilePrefix when
	// empty). vLLM and TensorRT-LLM cannot take one; it is ignored for them
	// (a front-end may tell the user when they set it).
	ProfilePrefix string
	// NumSteps is the number of profiler steps (DefaultNumSteps when 0).
	NumSteps int
	// ProfileByStage is SGLang's profile_by_stage (separate EXTEND and DECODE
	// traces). Auto means on for SGLang and off for vLLM and TensorRT-LLM;
	// SwitchOn with vLLM or TensorRT-LLM is an error, since they cannot.
	ProfileByStage Switch
	// MergeProfiles is SGLang's merge_profiles; an error with the others.
	MergeProfiles bool
	// StartStep is SGLang's start_step, nil to leave it unset; set with
	// the others it is an error.
	StartStep *int
	// ProbeRequests is the number of generations sent while profiling: 0
	// means 1, a negative value means none.
	ProbeRequests int
	// ProbePrompt is the prompt of the probes (DefaultProbePrompt if empty).
	ProbePrompt string
	// ProbeMaxNewTokens bounds each probe's answer; 0 means
	// max(64, 8*NumSteps), enough decode steps for the profiler.
	ProbeMaxNewTokens int
	// ProbeDelay separates the profiler start from the first probe; 0 means
	// DefaultSGLangProbeDelay or DefaultServerProbeDelay, negative none.
	ProbeDelay time.Duration
	// RequestTimeout bounds each request (DefaultRequestTimeout when 0);
	// the small GET requests and vLLM's start use at most 60 s.
	RequestTimeout time.Duration
	// TraceTimeout bounds the wait for trace files; 0 means
	// DefaultSGLangTraceTimeout or DefaultServerTraceTimeout.
	TraceTimeout time.Duration
	// PollInterval is how often the output path is checked for new traces
	// (DefaultPollInterval when 0).
	PollInterval time.Duration
	// HTTPClient is the client to use (nil: NewClient). Its redirect policy
	// is replaced by the same-host one.
	HTTPClient *http.Client
	// Progress, when set, receives one-line notes on what the capture is
	// doing, every few seconds while it waits.
	Progress func(msg string)
}

// CaptureResult says where the capture's files are.
type CaptureResult struct {
	// Framework is the framework that served the capture.
	Framework string
	// TracePath is a trace file or the directory holding the new traces;
	// give it to the analyser as its input.
	TracePath string
	// ServerArgsPath is the server_args.json saved beside the traces (the
	// SGLang /server_info answer), or "" when none was saved.
	ServerArgsPath string
	// Model is the served model, when the server said it.
	Model string
}

// Capture profiles a live server: it starts the torch profiler, sends probe
// generations so the profiler records decode steps, stops the profiler
// where the framework needs it, and waits for the trace files to be written
// (reporting on opts.Progress). Per framework:
//
//   - SGLang: GET /server_info (saved as server_args.json), POST
//     /start_profile with output_dir, num_steps, activities,
//     profile_by_stage, merge_profiles, profile_prefix (and start_step),
//     then POST /generate probes; SGLang stops by itself after num_steps.
//   - vLLM and TensorRT-LLM: POST /start_profile, GET /v1/models for the
//     model name, POST /v1/chat/completions probes (falling back to
//     /v1/completions), and always POST /stop_profile, even after a failed
//     probe or a cancellation. A /start_profile that fails after it may
//     have reached the server (a timeout, a dropped connection, an HTTP 5xx,
//     a cancellation) is followed by a best-effort /stop_profile before its
//     error is returned; a clear refusal (HTTP 4xx, a connection refused
//     before sending) is not.
//
// Errors are one line saying what to do and wrap this package's sentinels.
func Capture(ctx context.Context, opts CaptureOptions) (*CaptureResult, error) {
	fw := CanonicalFramework(opts.Framework)
	if fw == "" {
		return nil, newError(ErrBadOptions, nil, "unknown framework %q: use auto, sglang, vllm or trtllm", opts.Framework)
	}
	if opts.NumSteps < 0 {
		return nil, newError(ErrBadOptions, nil, "number of profiler steps %d is negative: pass --num-steps 1 or more", opts.NumSteps)
	}
	if fw != FrameworkAuto {
		if err := checkFrameworkOptions(fw, opts); err != nil {
			return nil, err
		}
	}
	srv, err := newServer(opts.URL, opts.HTTPClient)
	if err != nil {
		return nil, err
	}
	defer srv.close()
	c := &capture{srv: srv, opts: opts, fw: fw}
	c.setDefaults()
	if fw == FrameworkAuto {
		c.note("detecting the framework of %s", srv.base.String())
		c.det, err = srv.detect(ctx, c.infoTimeout())
		if err != nil {
			return nil, err
		}
		c.fw = c.det.framework
		c.note("%s serves %s", DisplayName(c.fw), srv.base.String())
		if err := checkFrameworkOptions(c.fw, opts); err != nil {
			return nil, err
		}
	}
	if c.fw == FrameworkSGLang {
		return c.sglang(ctx)
	}
	return c.openAI(ctx)
}

// checkFrameworkOptions rejects options a framework cannot honour, before
// the profiler is started.
func checkFrameworkOptions(fw string, opts CaptureOptions) error {
	if fw == FrameworkSGLang {
		return nil
	}
	name := DisplayName(fw)
	switch {
	case opts.ProfileByStage == SwitchOn:
		return newError(ErrBadOptions, nil,
			"--profile-by-stage is SGLang-only: %s profiles all stages together; drop it (the default, auto, turns it off for %s)", name, name)
	case opts.MergeProfiles:
		return newError(ErrBadOptions, nil, "--merge-profiles is SGLang-only: drop it for %s", name)
	case opts.StartStep != nil:
		return newError(ErrBadOptions, nil, "--start-step is SGLang-only: drop it for %s", name)
	case strings.TrimSpace(opts.OutputDir) == "" && fw == FrameworkVLLM:
		return newError(ErrBadOptions, nil,
			"vLLM writes its traces to the server's torch_profiler_dir: pass that directory with --output-dir (it must be visible from this machine)")
	case strings.TrimSpace(opts.OutputDir) == "":
		return newError(ErrBadOptions, nil,
			"TensorRT-LLM writes its trace to the path in the server's TLLM_TORCH_PROFILE_TRACE: pass that path with --output-dir (it must be visible from this machine)")
	}
	return nil
}

// capture is one Capture call in progress.
type capture struct {
	srv  *server
	opts CaptureOptions
	fw   string
	det  *detection
}

func (c *capture) setDefaults() {
	o := &c.opts
	if o.NumSteps == 0 {
		o.NumSteps = DefaultNumSteps
	}
	if o.ProbeRequests == 0 {
		o.ProbeRequests = 1
	}
	if o.ProbeRequests < 0 {
		o.ProbeRequests = 0
	}
	if o.ProbePrompt == "" {
		o.ProbePrompt = DefaultProbePrompt
	}
	if o.ProbeMaxNewTokens <= 0 {
		o.ProbeMaxNewTokens = max(64, 8*o.NumSteps)
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = DefaultRequestTimeout
	}
	if o.PollInterval <= 0 {
		o.PollInterval = DefaultPollInterval
	}
}

func (c *capture) infoTimeout() time.Duration { return min(infoTimeout, c.opts.RequestTimeout) }

func (c *capture) note(format string, a ...any) {
	if c.opts.Progress != nil {
		c.opts.Progress(fmt.Sprintf(format, a...))
	}
}

func (c *capture) probeDelay(def time.Duration) time.Duration {
	switch {
	case c.opts.ProbeDelay < 0:
		return 0
	case c.opts.ProbeDelay == 0:
		return def
	}
	return c.opts.ProbeDelay
}

func (c *capture) traceTimeout(def time.Duration) time.Duration {
	if c.opts.TraceTimeout > 0 {
		return c.opts.TraceTimeout
	}
	return def
}

// sglang runs the SGLang capture.
func (c *capture) sglang(ctx context.Context) (_ *CaptureResult, err error) {
	o := c.opts
	root := strings.TrimSpace(o.OutputDir)
	tempRoot := root == ""
	if tempRoot {
		if root, err = os.MkdirTemp("", "sglang-torch-profile-*"); err != nil {
			return nil, fmt.Errorf("make a temporary trace directory: %w", err)
		}
	}
	if root, err = filepath.Abs(root); err != nil {
		return nil, fmt.Errorf("output directory %s: %w", o.OutputDir, err)
	}
	dir := filepath.Join(root, strconv.FormatFloat(float64(time.Now().UnixNano())/1e9, 'f', -1, 64))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create trace directory %s: %w (pass a writable --output-dir)", dir, err)
	}
	defer func() {
		// A failed capture removes what it made, as long as no trace
		// landed there: os.Remove leaves a non-empty directory alone.
		if err != nil {
			_ = os.Remove(filepath.Join(dir, "server_args.json"))
			_ = os.Remove(dir)
			if tempRoot {
				_ = os.Remove(root)
			}
		}
	}()
	res := &CaptureResult{Framework: FrameworkSGLang}

	info := map[string]any(nil)
	if c.det != nil {
		info = c.det.serverInfo
	}
	if info == nil {
		r, err := c.srv.do(ctx, http.MethodGet, "/server_info", nil, c.infoTimeout())
		if err != nil {
			return nil, err
		}
		if r.ok() {
			if v, err := c.srv.decodeJSON(http.MethodGet, "/server_info", r); err == nil {
				info, _ = v.(map[string]any)
			}
		}
	}
	if info != nil {
		p := filepath.Join(dir, "server_args.json")
		data, err := json.MarshalIndent(info, "", "  ")
		if err == nil {
			err = os.WriteFile(p, append(data, '\n'), 0o644)
		}
		if err != nil {
			return nil, fmt.Errorf("save server args %s: %w", p, err)
		}
		res.ServerArgsPath = p
		for _, k := range []string{"model_path", "model"} {
			if s, ok := info[k].(string); ok && s != "" {
				res.Model = s
				break
			}
		}
	} else {
		c.note("the server did not answer GET /server_info with JSON: no server_args.json saved, the analysis will not know the model")
	}

	prefix := o.ProfilePrefix
	if prefix == "" {
		prefix = DefaultProfilePrefix
	}
	body := map[string]any{
		"output_dir":       dir,
		"num_steps":        strconv.Itoa(o.NumSteps),
		"activities":       []string{"CPU", "GPU"},
		"profile_by_stage": o.ProfileByStage != SwitchOff,
		"merge_profiles":   o.MergeProfiles,
		"profile_prefix":   prefix,
	}
	if o.StartStep != nil {
		body["start_step"] = strconv.Itoa(*o.StartStep)
	}
	c.note("starting the SGLang profiler (%d steps) writing to %s", o.NumSteps, dir)
	r, err := c.srv.do(ctx, http.MethodPost, "/start_profile", body, o.RequestTimeout)
	if err != nil {
		return nil, err
	}
	if !r.ok() {
		return nil, c.srv.statusError(ErrProfilerDisabled, http.MethodPost, "/start_profile", r,
			"SGLang did not start its profiler; check the server log (a profile may still be running: wait for it to end)")
	}
	if err := sleep(ctx, c.probeDelay(DefaultSGLangProbeDelay)); err != nil {
		return nil, newError(err, nil, "capture from %s: cancelled", c.srv.base.String())
	}
	for i := 0; i < o.ProbeRequests; i++ {
		c.note("probe generation %d of %d", i+1, o.ProbeRequests)
		gen := map[string]any{
			"text": o.ProbePrompt,
			"sampling_params": map[string]any{
				"sampling_seed":  i,
				"temperature":    0.0,
				"max_new_tokens": o.ProbeMaxNewTokens,
			},
			"stream": false,
		}
		if err := c.post(ctx, "/generate", gen); err != nil {
			return nil, err
		}
	}
	res.TracePath, err = waitForTraces(ctx, traceTarget{path: dir}, nil, waitOptions{
		timeout:    c.traceTimeout(DefaultSGLangTraceTimeout),
		poll:       o.PollInterval,
		progress:   o.Progress,
		bothStages: o.ProfileByStage != SwitchOff,
		advice: "SGLang writes traces on the server's own disk after --num-steps forward steps; run tracetriage on the server's host " +
			"(or share the directory at the same path), send more --probe-requests, or raise --trace-timeout",
	})
	if err != nil {
		return nil, err
	}
	c.note("traces ready in %s", res.TracePath)
	return res, nil
}

// post sends a JSON request whose answer must be a 2xx JSON document.
func (c *capture) post(ctx context.Context, path string, body any) error {
	r, err := c.srv.do(ctx, http.MethodPost, path, body, c.opts.RequestTimeout)
	if err != nil {
		return err
	}
	if !r.ok() {
		return c.srv.statusError(ErrHTTPStatus, http.MethodPost, path, r, "the server refused the probe generation; check its log")
	}
	_, err = c.srv.decodeJSON(http.MethodPost, path, r)
	return err
}

// openAI runs the vLLM or TensorRT-LLM capture.
func (c *capture) openAI(ctx context.Context) (res *CaptureResult, err error) {
	o := c.opts
	name := DisplayName(c.fw)
	out, err := filepath.Abs(strings.TrimSpace(o.OutputDir))
	if err != nil {
		return nil, fmt.Errorf("output path %s: %w", o.OutputDir, err)
	}
	target := traceTarget{path: out, isFile: traceFileTarget(out)}
	mk := out
	if target.isFile {
		mk = filepath.Dir(out)
	}
	if err := os.MkdirAll(mk, 0o755); err != nil {
		return nil, fmt.Errorf("create trace directory %s: %w (pass a writable --output-dir)", mk, err)
	}
	before := target.scan()

	var advice string
	if c.fw == FrameworkVLLM {
		advice = fmt.Sprintf(`its profiler is not enabled: relaunch vLLM with --profiler-config '{"profiler":"torch","torch_profiler_dir":"%s"}' (older vLLM: VLLM_TORCH_PROFILER_DIR=%s) and pass the same directory as --output-dir`, out, out)
	} else {
		advice = fmt.Sprintf("its profiler is not enabled: relaunch trtllm-serve with TLLM_PROFILE_START_STOP=1 and TLLM_TORCH_PROFILE_TRACE=%s, and pass the same path as --output-dir", out)
	}
	if err := ctx.Err(); err != nil {
		return nil, newError(err, nil, "capture from %s: cancelled before the profiler was started", c.srv.base.String())
	}
	c.note("starting the %s profiler", name)
	var sent sendTrace
	r, err := c.srv.do(sent.watch(ctx), http.MethodPost, "/start_profile", nil, c.infoTimeout())
	if err != nil {
		reached := sent.mayHaveReached(err)
		if ctx.Err() != nil {
			if !reached {
				return nil, newError(ctx.Err(), err, "capture from %s: cancelled during /start_profile, before the request was sent (no profiler stop needed)", c.srv.base.String())
			}
			// The server may have started profiling before the request
			// was cancelled: ask it to stop, so it is not left profiling.
			c.stopAfterFailedStart(ctx, name, "cancelled while /start_profile was in flight")
			return nil, newError(ctx.Err(), err, "capture from %s: cancelled during /start_profile (profiler stop requested)", c.srv.base.String())
		}
		if reached {
			// A timeout or a dropped connection after the request went
			// out says nothing of whether the profiler started: a server
			// that started it and answered too late would go on
			// profiling and fill its disk.
			c.stopAfterFailedStart(ctx, name, startFailure(err, c.infoTimeout()))
		}
		return nil, err
	}
	if !r.ok() {
		switch {
		case r.status == http.StatusNotFound, r.status == http.StatusMethodNotAllowed, r.status == http.StatusNotImplemented, r.status == http.StatusBadRequest:
			return nil, c.srv.statusError(ErrProfilerDisabled, http.MethodPost, "/start_profile", r, advice)
		case r.status >= 500:
			// A 5xx is a failure while handling the start (a worker of
			// several that raised, a gateway whose upstream timed out):
			// part of the server may be profiling. A 4xx is a refusal
			// before anything started, and needs no stop.
			c.stopAfterFailedStart(ctx, name, fmt.Sprintf("/start_profile answered HTTP %d", r.status))
		}
		return nil, c.srv.statusError(ErrHTTPStatus, http.MethodPost, "/start_profile", r,
			name+" did not start its profiler; check the server log")
	}

	model, probeErr := c.openAIProbes(ctx)

	// The profiler was started: stop it whatever happened, even when ctx
	// was cancelled, so the server is not left profiling.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.RequestTimeout)
	if ctx.Err() != nil {
		cancel()
		sctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	}
	c.note("stopping the %s profiler", name)
	sr, stopErr := c.srv.do(sctx, http.MethodPost, "/stop_profile", nil, 0)
	cancel()
	if stopErr == nil && !sr.ok() {
		stopErr = c.srv.statusError(ErrHTTPStatus, http.MethodPost, "/stop_profile", sr, name+" did not stop its profiler; check the server log")
	}
	switch {
	case ctx.Err() != nil:
		return nil, newError(ctx.Err(), nil, "capture from %s: cancelled (profiler stop requested)", c.srv.base.String())
	case probeErr != nil:
		return nil, probeErr
	case stopErr != nil:
		return nil, stopErr
	}

	res = &CaptureResult{Framework: c.fw, Model: model}
	var place string
	if c.fw == FrameworkVLLM {
		place = "check that --output-dir is the server's torch_profiler_dir and that this machine sees the server's files there, or raise --trace-timeout"
	} else {
		place = "check that --output-dir is the server's TLLM_TORCH_PROFILE_TRACE path, that TLLM_PROFILE_START_STOP is set, and that this machine sees the server's files there, or raise --trace-timeout"
	}
	res.TracePath, err = waitForTraces(ctx, target, before, waitOptions{
		timeout:  c.traceTimeout(DefaultServerTraceTimeout),
		poll:     o.PollInterval,
		progress: o.Progress,
		advice:   place,
	})
	if err != nil {
		return nil, err
	}
	c.note("traces ready: %s", res.TracePath)
	return res, nil
}

// cancelStopTimeout bounds the best-effort /stop_profile sent after a
// /start_profile that failed or was cancelled once it may have reached the
// server.
const cancelStopTimeout = 5 * time.Second

// stopAfterFailedStart sends a best-effort /stop_profile, on a fresh
// context with a short timeout, after a /start_profile that may have
// started the profiler did not succeed (why says how it failed), and
// reports the outcome on the progress line. It returns once the stop is
// answered or has failed, so nothing of it outlives the capture.
func (c *capture) stopAfterFailedStart(ctx context.Context, name, why string) {
	c.note("%s: sending /stop_profile in case the %s profiler started", why, name)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cancelStopTimeout)
	defer cancel()
	r, err := c.srv.do(sctx, http.MethodPost, "/stop_profile", nil, 0)
	switch {
	case err != nil:
		c.note("could not stop the %s profiler (%v): check the server log", name, err)
	case !r.ok():
		c.note("/stop_profile answered HTTP %d: the %s profiler may not have started; if the server log shows it running, POST /stop_profile again", r.status, name)
	default:
		c.note("the %s profiler is stopped", name)
	}
}

// startFailure says, for the progress line, how a /start_profile that may
// have reached the server failed.
func startFailure(err error, timeout time.Duration) string {
	if errors.Is(err, ErrTimeout) {
		return fmt.Sprintf("/start_profile got no answer within %s", timeout)
	}
	return "the connection dropped after /start_profile was sent"
}

// sendTrace watches one request through net/http's client trace hooks, to
// tell a request that never left this machine from one the server may
// have received.
type sendTrace struct {
	traced  atomic.Bool // the transport reported a step (net/http's does)
	written atomic.Bool // the request's headers were written to a connection
}

// watch returns ctx carrying the hooks.
func (t *sendTrace) watch(ctx context.Context) context.Context {
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GetConn:      func(string) { t.traced.Store(true) },
		WroteHeaders: func() { t.written.Store(true) },
	})
}

// mayHaveReached reports whether the request that failed with err may have
// reached the server. It did not when the server answered with a redirect
// (refused: the answer is a clear one, and the other host was not asked),
// and when no header was written: with a transport that reports its steps
// that is known exactly; with one that does not, an error from dialling or
// resolving the host, or from building the request, still shows it.
// Anything else may have: a spurious /stop_profile costs an error answer,
// a missing one leaves the server profiling.
func (t *sendTrace) mayHaveReached(err error) bool {
	switch {
	case errors.Is(err, ErrRedirect):
		return false
	case t.written.Load():
		return true
	case t.traced.Load():
		return false
	}
	return !failedBeforeSending(err)
}

// failedBeforeSending reports whether err shows a request that could not
// have been sent: bad options, a host that does not resolve, a refused or
// failed dial, a TLS handshake that failed.
func failedBeforeSending(err error) bool {
	var (
		oe  *net.OpError
		de  *net.DNSError
		rhe tls.RecordHeaderError
		cve *tls.CertificateVerificationError
	)
	switch {
	case errors.Is(err, ErrBadOptions), errors.As(err, &de), errors.As(err, &rhe), errors.As(err, &cve):
		return true
	case errors.As(err, &oe):
		return oe.Op == "dial"
	}
	return false
}

// openAIProbes sends the probe generations of a vLLM or TensorRT-LLM
// capture and returns the model name used.
func (c *capture) openAIProbes(ctx context.Context) (string, error) {
	o := c.opts
	if o.ProbeRequests == 0 {
		return "", nil
	}
	if err := sleep(ctx, c.probeDelay(DefaultServerProbeDelay)); err != nil {
		return "", newError(err, nil, "capture from %s: cancelled", c.srv.base.String())
	}
	var models []string
	if c.det != nil {
		models = c.det.models
	}
	if len(models) == 0 {
		var err error
		if models, err = c.srv.listModels(ctx, c.infoTimeout()); err != nil {
			return "", err
		}
	}
	model := models[0]
	for i := 0; i < o.ProbeRequests; i++ {
		c.note("probe generation %d of %d", i+1, o.ProbeRequests)
		chat := map[string]any{
			"model":       model,
			"messages":    []map[string]string{{"role": "user", "content": o.ProbePrompt}},
			"temperature": 0.0,
			"max_tokens":  o.ProbeMaxNewTokens,
			"stream":      false,
		}
		err := c.post(ctx, "/v1/chat/completions", chat)
		if err == nil {
			continue
		}
		if ctx.Err() != nil {
			return model, err
		}
		comp := map[string]any{
			"model":       model,
			"prompt":      o.ProbePrompt,
			"temperature": 0.0,
			"max_tokens":  o.ProbeMaxNewTokens,
			"stream":      false,
		}
		if err2 := c.post(ctx, "/v1/completions", comp); err2 != nil {
			return model, newError(err2, err, "probe generation failed on both endpoints: %v; fallback: %v", err, err2)
		}
	}
	return model, nil
}

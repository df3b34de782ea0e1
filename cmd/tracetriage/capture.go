package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"time"

	"github.com/tracetriage/tracetriage/live"
)

// captureFlags are the live-capture flags of `tracetriage analyze`: they
// profile a running server instead of reading a trace from disk.
//
// Contract with the analyze command:
//
//   - Before parsing, analyze calls c := addCaptureFlags(fs). It registers
//     --url, --mapping-url, --formal-url, --output-dir,
//     --mapping-output-dir, --formal-output-dir, --profile-prefix,
//     --mapping-profile-prefix, --formal-profile-prefix, --num-steps,
//     --profile-by-stage auto|on|off, --no-profile-by-stage,
//     --merge-profiles, --start-step, --probe-requests, --probe-prompt,
//     --probe-max-new-tokens, --probe-delay, --request-timeout and
//     --trace-timeout. analyze must not register these names itself.
//   - analyze keeps its own --framework flag; capture reads it through the
//     flag set (fs.Lookup("framework")), and takes "auto" when it is absent.
//   - After parsing, analyze checks the modes of triage-behaviour §1.2 with
//     c.url (single-trace) and c.mappingURL / c.formalURL (two-trace), then
//     for each URL calls
//     path, err := c.capture(ctx, role, url, io)
//     with role "" for --url, "mapping" or "formal". path is the trace file
//     or directory to analyse as that role's input; a server_args.json, when
//     the server gave one, lies in that directory. err is one line that
//     says what to do: return it as it is.
//   - While it runs, capture prints progress lines on io.err
//     ("tracetriage analyze: [mapping] waiting for trace files ..."), and
//     nothing on io.out. It honours ctx (Ctrl-C), stopping the server's
//     profiler where the framework needs it.
type captureFlags struct {
	fs *flag.FlagSet

	url, mappingURL, formalURL                               string
	outputDir, mappingOutputDir, formalOutputDir             string
	profilePrefix, mappingProfilePrefix, formalProfilePrefix string

	numSteps          int
	profileByStage    string
	noProfileByStage  bool
	mergeProfiles     bool
	startStep         int
	probeRequests     int
	probePrompt       string
	probeMaxNewTokens int
	probeDelay        liveDuration
	requestTimeout    liveDuration
	traceTimeout      liveDuration

	// client replaces the HTTP client (tests); nil means live.NewClient.
	client *http.Client
}

// addCaptureFlags registers the live-capture flags on fs.
func addCaptureFlags(fs *flag.FlagSet) *captureFlags {
	c := &captureFlags{fs: fs, startStep: -1}
	fs.StringVar(&c.url, "url", "", "profile the live server at this base URL (single-trace mode)")
	fs.StringVar(&c.mappingURL, "mapping-url", "", "profile this server for the mapping trace (graphs off)")
	fs.StringVar(&c.formalURL, "formal-url", "", "profile this server for the formal trace (real serving setup)")
	fs.StringVar(&c.outputDir, "output-dir", "", "where traces land: SGLang writes under it (default: a temporary directory); "+
		"vLLM: the server's torch_profiler_dir; TensorRT-LLM: the server's TLLM_TORCH_PROFILE_TRACE path")
	fs.StringVar(&c.mappingOutputDir, "mapping-output-dir", "", "--output-dir for --mapping-url (default: --output-dir)")
	fs.StringVar(&c.formalOutputDir, "formal-output-dir", "", "--output-dir for --formal-url (default: --output-dir)")
	fs.StringVar(&c.profilePrefix, "profile-prefix", "", "SGLang trace file prefix (default triage-trace)")
	fs.StringVar(&c.mappingProfilePrefix, "mapping-profile-prefix", "", "SGLang trace file prefix for --mapping-url (default mapping-trace)")
	fs.StringVar(&c.formalProfilePrefix, "formal-profile-prefix", "", "SGLang trace file prefix for --formal-url (default formal-trace)")
	fs.IntVar(&c.numSteps, "num-steps", live.DefaultNumSteps, "profiler steps to record")
	fs.StringVar(&c.profileByStage, "profile-by-stage", "auto", "SGLang: separate EXTEND and DECODE traces: auto (on for SGLang, off otherwise), on or off")
	fs.BoolVar(&c.noProfileByStage, "no-profile-by-stage", false, "same as --profile-by-stage off")
	fs.BoolVar(&c.mergeProfiles, "merge-profiles", false, "SGLang: merge the ranks' traces")
	fs.IntVar(&c.startStep, "start-step", -1, "SGLang: forward step at which profiling starts (default: now)")
	fs.IntVar(&c.probeRequests, "probe-requests", 1, "generations sent while profiling (0: none)")
	fs.StringVar(&c.probePrompt, "probe-prompt", live.DefaultProbePrompt, "prompt of the probe generations")
	fs.IntVar(&c.probeMaxNewTokens, "probe-max-new-tokens", 0, "maximum new tokens per probe (default max(64, 8*num-steps))")
	c.probeDelay = 0
	fs.Var(&c.probeDelay, "probe-delay", "wait between profiler start and the first probe (default 0.5s for SGLang, 5s for vLLM/TensorRT-LLM)")
	c.requestTimeout = liveDuration(live.DefaultRequestTimeout)
	fs.Var(&c.requestTimeout, "request-timeout", "timeout of each HTTP request: a duration or seconds")
	c.traceTimeout = 0
	fs.Var(&c.traceTimeout, "trace-timeout", "how long to wait for the trace files (default 3m for SGLang, 1m for vLLM/TensorRT-LLM)")
	return c
}

// isSet reports whether the user gave flag name on the command line.
func (c *captureFlags) isSet(name string) bool {
	set := false
	c.fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}

// options turns the flags into live.CaptureOptions for one role.
func (c *captureFlags) options(role, url string) (live.CaptureOptions, error) {
	var o live.CaptureOptions
	outDir, prefix, prefixDefault := c.outputDir, c.profilePrefix, live.DefaultProfilePrefix
	switch role {
	case "":
	case "mapping":
		prefix, prefixDefault = c.mappingProfilePrefix, "mapping-trace"
		if c.mappingOutputDir != "" {
			outDir = c.mappingOutputDir
		}
	case "formal":
		prefix, prefixDefault = c.formalProfilePrefix, "formal-trace"
		if c.formalOutputDir != "" {
			outDir = c.formalOutputDir
		}
	default:
		return o, fmt.Errorf("internal error: capture role %q is not \"\", mapping or formal", role)
	}
	if prefix == "" {
		prefix = prefixDefault
	}
	framework := "auto"
	if f := c.fs.Lookup("framework"); f != nil && f.Value.String() != "" {
		framework = f.Value.String()
	}
	if live.CanonicalFramework(framework) == "" {
		return o, usagef("--framework %q: use auto, sglang, vllm or trtllm", framework)
	}
	byStage, err := live.ParseSwitch(c.profileByStage)
	if err != nil {
		return o, usagef("--profile-by-stage %q: use auto, on or off", c.profileByStage)
	}
	if c.noProfileByStage {
		if byStage == live.SwitchOn {
			return o, usagef("--profile-by-stage on and --no-profile-by-stage contradict each other: keep one")
		}
		byStage = live.SwitchOff
	}
	switch {
	case c.numSteps < 1:
		return o, usagef("--num-steps %d: pass 1 or more", c.numSteps)
	case c.probeRequests < 0:
		return o, usagef("--probe-requests %d: pass 0 or more", c.probeRequests)
	case c.probeMaxNewTokens < 0:
		return o, usagef("--probe-max-new-tokens %d: pass 1 or more", c.probeMaxNewTokens)
	case c.requestTimeout <= 0:
		return o, usagef("--request-timeout must be positive")
	case c.traceTimeout < 0:
		return o, usagef("--trace-timeout must be positive")
	case c.probeDelay < 0:
		return o, usagef("--probe-delay %s: pass 0 or a positive duration", time.Duration(c.probeDelay))
	case c.isSet("start-step") && c.startStep < 0:
		return o, usagef("--start-step %d: pass 0 or more", c.startStep)
	}
	o = live.CaptureOptions{
		URL:               url,
		Framework:         framework,
		OutputDir:         outDir,
		ProfilePrefix:     prefix,
		NumSteps:          c.numSteps,
		ProfileByStage:    byStage,
		MergeProfiles:     c.mergeProfiles,
		ProbeRequests:     c.probeRequests,
		ProbePrompt:       c.probePrompt,
		ProbeMaxNewTokens: c.probeMaxNewTokens,
		ProbeDelay:        time.Duration(c.probeDelay),
		RequestTimeout:    time.Duration(c.requestTimeout),
		TraceTimeout:      time.Duration(c.traceTimeout),
		HTTPClient:        c.client,
	}
	if o.ProbeRequests == 0 {
		o.ProbeRequests = -1 // live: negative means no probes, 0 the default
	}
	if c.isSet("start-step") {
		s := c.startStep
		o.StartStep = &s
	}
	return o, nil
}

// capture profiles the server at url for role ("", "mapping" or "formal")
// and returns the trace file or directory to analyse. See captureFlags for
// the contract with the analyze command.
func (c *captureFlags) capture(ctx context.Context, role string, url string, io stdio) (tracePath string, err error) {
	opts, err := c.options(role, url)
	if err != nil {
		return "", err
	}
	tag := ""
	if role != "" {
		tag = "[" + role + "] "
	}
	opts.Progress = func(msg string) {
		fmt.Fprintf(io.err, "tracetriage analyze: %s%s\n", tag, oneLine(msg))
	}
	res, err := live.Capture(ctx, opts)
	if err != nil {
		if role != "" {
			return "", fmt.Errorf("%s capture: %w", role, err)
		}
		return "", err
	}
	prefixFlag := map[string]string{"": "profile-prefix", "mapping": "mapping-profile-prefix", "formal": "formal-profile-prefix"}[role]
	if res.Framework != live.FrameworkSGLang && c.isSet(prefixFlag) {
		opts.Progress(fmt.Sprintf("note: %s ignores --%s on the HTTP profiler control path", live.DisplayName(res.Framework), prefixFlag))
	}
	return res.TracePath, nil
}

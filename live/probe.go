package live

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// Defaults of ProbeOptions.
const (
	DefaultProbeRequests  = 6
	DefaultProbeMaxTokens = 48
	DefaultProbeTimeout   = 180 * time.Second
	// MaxProbeRequests bounds ProbeOptions.Requests: the report keeps one
	// result per request, so an absurd count would exhaust memory.
	MaxProbeRequests = 1_000_000
)

// DefaultProbePrompts returns the prompts Probe cycles through when none is
// given: a Chinese one, a short arithmetic question and a haiku request.
func DefaultProbePrompts() []string {
	return []string{
		"请用一句话介绍上海。",
		"What is 2+2? Answer briefly.",
		"Write one short haiku about GPUs.",
	}
}

// ProbeOptions says which server to probe and how.
type ProbeOptions struct {
	// Framework is sglang, vllm or trtllm (or an alias); "auto" or ""
	// detects it with DetectFramework.
	Framework string
	// URL is the server's base URL.
	URL string
	// Model is the model name sent to vLLM and TensorRT-LLM; when empty it
	// is the first model of GET /v1/models. SGLang does not need one.
	Model string
	// Requests is the number of requests (DefaultProbeRequests when 0).
	Requests int
	// MaxTokens bounds each answer (DefaultProbeMaxTokens when 0).
	MaxTokens int
	// Prompts are used round-robin (DefaultProbePrompts() when empty).
	Prompts []string
	// Timeout bounds each request (DefaultProbeTimeout when 0).
	Timeout time.Duration
	// Concurrency is how many requests run at once (1 when 0).
	Concurrency int
	// HTTPClient is the client to use (nil: NewClient).
	HTTPClient *http.Client
}

// ProbeReport is the result of a probe, written as JSON by the CLI.
type ProbeReport struct {
	Framework string `json:"framework"`
	URL       string `json:"url"`
	// Model is the model asked for; "" for SGLang.
	Model    string `json:"model"`
	Requests int    `json:"requests"`
	// Success counts requests answered with a 2xx JSON document.
	Success int `json:"success"`
	// Errors counts the other requests.
	Errors int `json:"errors"`
	// AllNonEmpty is true when every request succeeded with a non-blank
	// answer text.
	AllNonEmpty bool `json:"all_non_empty"`
	// AvgLatencyS is the mean latency of the successful requests, in
	// seconds rounded to 3 decimals (0 when none succeeded).
	AvgLatencyS float64 `json:"avg_latency_s"`
	// P95LatencyS is the nearest-rank 95th percentile (rank
	// ceil(0.95*n)) of the successful requests' latencies.
	P95LatencyS float64 `json:"p95_latency_s"`
	// Samples are the first 3 successful answers, in request order.
	Samples []ProbeSample `json:"samples"`
	// ErrorSamples are the first 3 failures, in request order.
	ErrorSamples []ProbeError `json:"error_samples"`
}

// ProbeSample is one successful request of a probe.
type ProbeSample struct {
	Prompt   string  `json:"prompt"`
	LatencyS float64 `json:"latency_s"`
	// Content is the answer text, cut to 240 characters.
	Content string `json:"content"`
	// Source says where the text was found: generate.text,
	// message.content, choice.text, delta.content, body.output_text, ...,
	// or empty, missing_choices, invalid_choice, invalid_body.
	Source   string `json:"source"`
	NonEmpty bool   `json:"non_empty"`
}

// ProbeError is one failed request of a probe.
type ProbeError struct {
	Prompt string `json:"prompt"`
	Error  string `json:"error"`
}

// probeResult is the outcome of one request.
type probeResult struct {
	done    bool
	prompt  string
	latency time.Duration
	text    string
	source  string
	err     error
}

// Probe sends opts.Requests generations to the server, at most
// opts.Concurrency at a time, and reports how many succeeded, whether every
// answer had text, and the latencies. Failed requests are counted in the
// report, not returned as errors; the error is for options that cannot work
// and for a model name that cannot be learnt. When ctx is cancelled Probe
// stops sending, cancels the requests in flight and returns the report of
// the requests that finished together with an error wrapping ctx.Err().
func Probe(ctx context.Context, opts ProbeOptions) (*ProbeReport, error) {
	fw := CanonicalFramework(opts.Framework)
	if fw == "" {
		return nil, newError(ErrBadOptions, nil, "unknown framework %q: use sglang, vllm or trtllm", opts.Framework)
	}
	switch {
	case opts.Requests < 0:
		return nil, newError(ErrBadOptions, nil, "--requests %d is negative: pass 1 or more", opts.Requests)
	case opts.Requests > MaxProbeRequests:
		return nil, newError(ErrBadOptions, nil, "--requests %d is more than a probe sends (%d): pass a smaller count", opts.Requests, MaxProbeRequests)
	case opts.MaxTokens < 0:
		return nil, newError(ErrBadOptions, nil, "--max-tokens %d is negative: pass 1 or more", opts.MaxTokens)
	case opts.Concurrency < 0:
		return nil, newError(ErrBadOptions, nil, "--concurrency %d is negative: pass 1 or more", opts.Concurrency)
	case opts.Timeout < 0:
		return nil, newError(ErrBadOptions, nil, "--timeout %s is negative", opts.Timeout)
	}
	if opts.Requests == 0 {
		opts.Requests = DefaultProbeRequests
	}
	if opts.MaxTokens == 0 {
		opts.MaxTokens = DefaultProbeMaxTokens
	}
	if len(opts.Prompts) == 0 {
		opts.Prompts = DefaultProbePrompts()
	}
	if opts.Timeout == 0 {
		opts.Timeout = DefaultProbeTimeout
	}
	if opts.Concurrency == 0 {
		opts.Concurrency = 1
	}
	srv, err := newServer(opts.URL, opts.HTTPClient)
	if err != nil {
		return nil, err
	}
	defer srv.close()
	var det *detection
	if fw == FrameworkAuto {
		if det, err = srv.detect(ctx, min(infoTimeout, opts.Timeout)); err != nil {
			return nil, err
		}
		fw = det.framework
	}
	model := opts.Model
	if fw != FrameworkSGLang && model == "" {
		if det != nil && len(det.models) > 0 {
			model = det.models[0]
		} else {
			ids, err := srv.listModels(ctx, min(infoTimeout, opts.Timeout))
			if err != nil {
				return nil, err
			}
			model = ids[0]
		}
	}

	results := make([]probeResult, opts.Requests)
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(opts.Concurrency, opts.Requests) {
		wg.Go(func() {
			for i := range jobs {
				results[i] = probeOne(ctx, srv, fw, model, opts, i)
			}
		})
	}
send:
	for i := range opts.Requests {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break send
		}
	}
	close(jobs)
	wg.Wait()

	rep := summarize(fw, srv.base.String(), model, results)
	if ctx.Err() != nil {
		finished := 0
		for _, r := range results {
			if r.done && r.err == nil {
				finished++
			}
		}
		return rep, newError(ctx.Err(), nil, "probe of %s cancelled after %d of %d requests succeeded", srv.base.String(), finished, opts.Requests)
	}
	return rep, nil
}

// probeOne sends request i.
func probeOne(ctx context.Context, srv *server, fw, model string, opts ProbeOptions, i int) probeResult {
	prompt := opts.Prompts[i%len(opts.Prompts)]
	res := probeResult{prompt: prompt}
	var path string
	var body any
	if fw == FrameworkSGLang {
		path = "/generate"
		body = map[string]any{
			"text":            prompt,
			"sampling_params": map[string]any{"temperature": 0.0, "max_new_tokens": opts.MaxTokens},
			"stream":          false,
		}
	} else {
		path = "/v1/chat/completions"
		body = map[string]any{
			"model":       model,
			"messages":    []map[string]string{{"role": "user", "content": prompt}},
			"temperature": 0.0,
			"max_tokens":  opts.MaxTokens,
			"stream":      false,
		}
	}
	start := time.Now()
	r, err := srv.do(ctx, http.MethodPost, path, body, opts.Timeout)
	res.latency = time.Since(start)
	if ctx.Err() != nil {
		return res // cancelled: not counted
	}
	res.done = true
	if err != nil {
		res.err = err
		return res
	}
	if !r.ok() {
		advice := "check the server log"
		if r.status == http.StatusNotFound && fw != FrameworkSGLang {
			advice = "check --model (GET /v1/models lists the served names) and that the server has a chat template"
		}
		res.err = srv.statusError(ErrHTTPStatus, http.MethodPost, path, r, advice)
		return res
	}
	v, err := srv.decodeJSON(http.MethodPost, path, r)
	if err != nil {
		res.err = err
		return res
	}
	if fw == FrameworkSGLang {
		res.text, res.source = extractGenerateText(v)
	} else {
		res.text, res.source = extractOpenAIText(v)
	}
	return res
}

// summarize builds the report from the per-request results.
func summarize(fw, url, model string, results []probeResult) *ProbeReport {
	rep := &ProbeReport{
		Framework:    fw,
		URL:          url,
		Model:        model,
		Requests:     len(results),
		Samples:      []ProbeSample{},
		ErrorSamples: []ProbeError{},
	}
	var lat []float64
	allNonEmpty := true
	for _, r := range results {
		if !r.done {
			allNonEmpty = false
			continue
		}
		if r.err != nil {
			rep.Errors++
			allNonEmpty = false
			if len(rep.ErrorSamples) < 3 {
				rep.ErrorSamples = append(rep.ErrorSamples, ProbeError{Prompt: r.prompt, Error: r.err.Error()})
			}
			continue
		}
		rep.Success++
		s := r.latency.Seconds()
		lat = append(lat, s)
		nonEmpty := strings.TrimSpace(r.text) != ""
		if !nonEmpty {
			allNonEmpty = false
		}
		if len(rep.Samples) < 3 {
			rep.Samples = append(rep.Samples, ProbeSample{
				Prompt:   r.prompt,
				LatencyS: round3(s),
				Content:  cutRunes(r.text, 240),
				Source:   r.source,
				NonEmpty: nonEmpty,
			})
		}
	}
	rep.AllNonEmpty = allNonEmpty && rep.Success == rep.Requests && rep.Requests > 0
	if len(lat) > 0 {
		sum := 0.0
		for _, l := range lat {
			sum += l
		}
		rep.AvgLatencyS = round3(sum / float64(len(lat)))
		rep.P95LatencyS = round3(nearestRank(lat, 0.95))
	}
	return rep
}

// nearestRank returns the p-quantile of xs by the nearest-rank method: the
// value of rank ceil(p*n) in ascending order.
func nearestRank(xs []float64, p float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	k := int(math.Ceil(p*float64(len(s)))) - 1
	k = max(0, min(k, len(s)-1))
	return s[k]
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

func cutRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}

// extractGenerateText reads SGLang's /generate answer: {"text": ...} (or a
// list of such objects).
func extractGenerateText(v any) (string, string) {
	if l, ok := v.([]any); ok && len(l) > 0 {
		v = l[0]
	}
	m, ok := v.(map[string]any)
	if !ok {
		return "", "invalid_body"
	}
	if t := flattenText(m["text"]); t != "" {
		return t, "generate.text"
	}
	return "", "empty"
}

// textKeys are the keys looked at, in order, in a message, a choice and a
// delta.
var textKeys = []string{"content", "reasoning_content", "reasoning"}

// extractOpenAIText reads an OpenAI-style completion answer. Order:
// choices[0].message.{content, reasoning_content, reasoning}, then
// choices[0].{text, content, reasoning_content, reasoning}, then
// choices[0].delta.{content, reasoning_content, reasoning}, then the body's
// output_text. Content given as a list of parts or an object is flattened.
// The source names where the text was found, or why there was none.
func extractOpenAIText(v any) (string, string) {
	body, ok := v.(map[string]any)
	if !ok {
		return "", "invalid_body"
	}
	bodyText := func(why string) (string, string) {
		if t := flattenText(body["output_text"]); t != "" {
			return t, "body.output_text"
		}
		return "", why
	}
	choices, ok := body["choices"].([]any)
	if !ok || len(choices) == 0 {
		return bodyText("missing_choices")
	}
	choice, ok := choices[0].(map[string]any)
	if !ok {
		return bodyText("invalid_choice")
	}
	if msg, ok := choice["message"].(map[string]any); ok {
		for _, k := range textKeys {
			if t := flattenText(msg[k]); t != "" {
				return t, "message." + k
			}
		}
	}
	for _, k := range append([]string{"text"}, textKeys...) {
		if t := flattenText(choice[k]); t != "" {
			return t, "choice." + k
		}
	}
	if delta, ok := choice["delta"].(map[string]any); ok {
		for _, k := range textKeys {
			if t := flattenText(delta[k]); t != "" {
				return t, "delta." + k
			}
		}
	}
	return bodyText("empty")
}

// flattenText turns a content value into text: a string as is; a list of
// parts joined; a typed part ({"type":"text"|"output_text"|"input_text",
// "text":...} or {"type":"reasoning"|"thinking", ...}) by its text; another
// object by its first non-empty text, content, reasoning_content, reasoning
// or output_text.
func flattenText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []any:
		var b strings.Builder
		for _, item := range x {
			b.WriteString(flattenText(item))
		}
		return b.String()
	case map[string]any:
		switch typ, _ := x["type"].(string); typ {
		case "text", "output_text", "input_text":
			return flattenText(x["text"])
		case "reasoning", "thinking":
			for _, k := range []string{"text", "reasoning", "thinking", "content", "summary"} {
				if t := flattenText(x[k]); t != "" {
					return t
				}
			}
			return ""
		}
		for _, k := range []string{"text", "content", "reasoning_content", "reasoning", "output_text"} {
			if t := flattenText(x[k]); t != "" {
				return t
			}
		}
	}
	return ""
}

// String summarises a report on one line.
func (r *ProbeReport) String() string {
	return fmt.Sprintf("%d of %d requests succeeded, %d errors, avg %.3fs, p95 %.3fs",
		r.Success, r.Requests, r.Errors, r.AvgLatencyS, r.P95LatencyS)
}

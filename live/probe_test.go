package live

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestExtractOpenAIText(t *testing.T) {
	tests := []struct {
		name, body, text, source string
	}{
		{"message content", `{"choices":[{"message":{"content":"hi"}}]}`, "hi", "message.content"},
		{"reasoning only", `{"choices":[{"message":{"content":null,"reasoning_content":"think"}}]}`, "think", "message.reasoning_content"},
		{"message reasoning", `{"choices":[{"message":{"content":"","reasoning":"r"}}]}`, "r", "message.reasoning"},
		{"content parts", `{"choices":[{"message":{"content":[{"type":"text","text":"a"},{"type":"output_text","text":"b"},{"type":"image_url","image_url":{}}]}}]}`, "ab", "message.content"},
		{"thinking part", `{"choices":[{"message":{"content":[{"type":"thinking","thinking":"hmm"}]}}]}`, "hmm", "message.content"},
		{"nested object", `{"choices":[{"message":{"content":{"content":{"text":"deep"}}}}]}`, "deep", "message.content"},
		{"completion text", `{"choices":[{"text":" four"}]}`, " four", "choice.text"},
		{"choice content", `{"choices":[{"content":"c"}]}`, "c", "choice.content"},
		{"delta", `{"choices":[{"delta":{"content":"d"}}]}`, "d", "delta.content"},
		{"delta reasoning", `{"choices":[{"delta":{"reasoning_content":"dr"}}]}`, "dr", "delta.reasoning_content"},
		{"responses API", `{"output_text":"o"}`, "o", "body.output_text"},
		{"empty choices with output_text", `{"choices":[],"output_text":"o"}`, "o", "body.output_text"},
		{"empty answer", `{"choices":[{"message":{"content":""}}]}`, "", "empty"},
		{"no choices", `{"id":"x"}`, "", "missing_choices"},
		{"choice not an object", `{"choices":["x"]}`, "", "invalid_choice"},
		{"body not an object", `["x"]`, "", "invalid_body"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var v any
			if err := json.Unmarshal([]byte(tc.body), &v); err != nil {
				t.Fatal(err)
			}
			text, source := extractOpenAIText(v)
			if text != tc.text || source != tc.source {
				t.Errorf("got %q from %s, want %q from %s", text, source, tc.text, tc.source)
			}
		})
	}
}

func TestExtractGenerateText(t *testing.T) {
	for body, want := range map[string][2]string{
		`{"text":"a b"}`:   {"a b", "generate.text"},
		`[{"text":"x"}]`:   {"x", "generate.text"},
		`{"text":""}`:      {"", "empty"},
		`"just a string"`:  {"", "invalid_body"},
		`{"meta_info":{}}`: {"", "empty"},
	} {
		var v any
		_ = json.Unmarshal([]byte(body), &v)
		text, source := extractGenerateText(v)
		if text != want[0] || source != want[1] {
			t.Errorf("%s: got %q %s, want %q %s", body, text, source, want[0], want[1])
		}
	}
}

func TestNearestRank(t *testing.T) {
	xs := []float64{5, 1, 4, 2, 3, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}
	if got := nearestRank(xs, 0.95); got != 19 {
		t.Errorf("p95 of 1..20 = %v, want 19 (rank ceil(19))", got)
	}
	if got := nearestRank([]float64{0.3, 0.1}, 0.95); got != 0.3 {
		t.Errorf("p95 of two = %v, want the larger", got)
	}
}

func TestProbeSGLang(t *testing.T) {
	srv := newFakeServer(t, fakeConfig{framework: "sglang"})
	rep, err := Probe(context.Background(), ProbeOptions{Framework: "sglang", URL: srv.URL, Requests: 4, MaxTokens: 16, Prompts: []string{"p1", "p2"}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Success != 4 || rep.Errors != 0 || !rep.AllNonEmpty || rep.Model != "" || rep.Framework != "sglang" || rep.URL != srv.URL {
		t.Errorf("report = %+v", rep)
	}
	if len(rep.Samples) != 3 || rep.Samples[0].Prompt != "p1" || rep.Samples[1].Prompt != "p2" || rep.Samples[2].Prompt != "p1" {
		t.Errorf("samples = %+v", rep.Samples)
	}
	if s := rep.Samples[0]; s.Source != "generate.text" || s.Content != " profiler profiler profiler" || !s.NonEmpty {
		t.Errorf("sample = %+v", s)
	}
	body := srv.body("/generate", 0)
	if body["text"] != "p1" || body["sampling_params"].(map[string]any)["max_new_tokens"] != 16.0 {
		t.Errorf("generate body = %v", body)
	}
	if rep.AvgLatencyS < 0 || rep.P95LatencyS < rep.AvgLatencyS {
		t.Errorf("latencies avg %v p95 %v", rep.AvgLatencyS, rep.P95LatencyS)
	}
	want := []string{"POST /generate", "POST /generate", "POST /generate", "POST /generate"}
	if got := srv.Calls(); !reflect.DeepEqual(got, want) {
		t.Errorf("requests = %v", got)
	}
}

func TestProbeVLLMConcurrentWithErrors(t *testing.T) {
	srv := newFakeServer(t, fakeConfig{
		framework: "vllm",
		chatDelay: 30 * time.Millisecond,
		chatStatus: func(n int) int {
			if n%3 == 2 {
				return 503
			}
			return 0
		},
		chatReply: func(n int) any {
			if n == 1 {
				return map[string]any{"choices": []any{map[string]any{"message": map[string]any{"content": "  "}}}}
			}
			return map[string]any{"choices": []any{map[string]any{"message": map[string]any{"content": strings.Repeat("é", 300)}}}}
		},
	})
	rep, err := Probe(context.Background(), ProbeOptions{Framework: "vllm", URL: srv.URL, Requests: 9, Concurrency: 3})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Requests != 9 || rep.Success != 6 || rep.Errors != 3 || rep.AllNonEmpty {
		t.Errorf("report = %+v", rep)
	}
	if rep.AvgLatencyS < 0.03 || rep.P95LatencyS < rep.AvgLatencyS {
		t.Errorf("latencies avg %v p95 %v: every answer took at least 30ms", rep.AvgLatencyS, rep.P95LatencyS)
	}
	if rep.Model != "Qwen/Qwen3-8B" {
		t.Errorf("model = %q, want the one /v1/models lists", rep.Model)
	}
	if len(rep.ErrorSamples) != 3 || !strings.Contains(rep.ErrorSamples[0].Error, "answered HTTP 503") {
		t.Errorf("error samples = %+v", rep.ErrorSamples)
	}
	for _, s := range rep.Samples {
		if s.NonEmpty && len([]rune(s.Content)) != 240 {
			t.Errorf("content of %d runes, want cut to 240", len([]rune(s.Content)))
		}
	}
	srv.mu.Lock()
	peak := srv.maxInFlight
	srv.mu.Unlock()
	if peak < 2 || peak > 3 {
		t.Errorf("peak concurrency %d, want 2..3", peak)
	}
	if calls := srv.Calls(); calls[0] != "GET /v1/models" || len(calls) != 10 {
		t.Errorf("requests = %v", calls)
	}
	data, _ := json.Marshal(rep)
	for _, k := range []string{"framework", "url", "model", "requests", "success", "errors", "all_non_empty", "avg_latency_s", "p95_latency_s", "samples", "error_samples"} {
		if !strings.Contains(string(data), `"`+k+`":`) {
			t.Errorf("JSON lacks %q: %s", k, data)
		}
	}
}

func TestProbeTRTLLMAutoAndTimeouts(t *testing.T) {
	srv := newFakeServer(t, fakeConfig{framework: "trtllm", hang: map[string]bool{"/v1/chat/completions": true}})
	start := time.Now()
	rep, err := Probe(context.Background(), ProbeOptions{URL: srv.URL, Requests: 2, Timeout: 80 * time.Millisecond, Concurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > 3*time.Second {
		t.Errorf("took %s", time.Since(start))
	}
	if rep.Framework != FrameworkTRTLLM || rep.Success != 0 || rep.Errors != 2 || rep.AllNonEmpty || rep.AvgLatencyS != 0 {
		t.Errorf("report = %+v", rep)
	}
	if rep.ErrorSamples[0].Prompt != DefaultProbePrompts()[0] || rep.ErrorSamples[1].Prompt != DefaultProbePrompts()[1] {
		t.Errorf("default prompts not used in turn: %+v", rep.ErrorSamples)
	}
	if !strings.Contains(rep.ErrorSamples[0].Error, "no answer within 80ms") {
		t.Errorf("error sample = %+v", rep.ErrorSamples[0])
	}
	if rep.Samples == nil || rep.ErrorSamples == nil {
		t.Error("samples must be [] not null")
	}
}

func TestProbeFailures(t *testing.T) {
	t.Run("server down", func(t *testing.T) {
		rep, err := Probe(context.Background(), ProbeOptions{Framework: "sglang", URL: downURL(t), Requests: 2})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Errors != 2 || !strings.Contains(rep.ErrorSamples[0].Error, "is the server running") {
			t.Errorf("report = %+v", rep)
		}
	})
	t.Run("model list down", func(t *testing.T) {
		_, err := Probe(context.Background(), ProbeOptions{Framework: "vllm", URL: downURL(t)})
		if !errors.Is(err, ErrUnreachable) {
			t.Errorf("got %v", err)
		}
	})
	t.Run("model list not JSON", func(t *testing.T) {
		srv := newFakeServer(t, fakeConfig{framework: "vllm", html: map[string]bool{"/v1/models": true}})
		_, err := Probe(context.Background(), ProbeOptions{Framework: "vllm", URL: srv.URL})
		if !errors.Is(err, ErrNotJSON) {
			t.Errorf("got %v", err)
		}
	})
	t.Run("model given skips the list", func(t *testing.T) {
		srv := newFakeServer(t, fakeConfig{framework: "vllm"})
		rep, err := Probe(context.Background(), ProbeOptions{Framework: "vllm", URL: srv.URL, Model: "m", Requests: 1})
		if err != nil || rep.Success != 1 || srv.body("/v1/chat/completions", 0)["model"] != "m" {
			t.Errorf("got %+v, %v; calls %v", rep, err, srv.Calls())
		}
	})
	t.Run("bad options", func(t *testing.T) {
		for _, o := range []ProbeOptions{
			{Framework: "tgi", URL: "http://127.0.0.1:1"},
			{Framework: "sglang", URL: "http://127.0.0.1:1", Requests: -1},
			{Framework: "sglang", URL: "http://127.0.0.1:1", Concurrency: -2},
			{Framework: "sglang", URL: "ftp://x"},
			{Framework: "sglang", URL: "http://127.0.0.1:1", Requests: 99999999999},
		} {
			if _, err := Probe(context.Background(), o); !errors.Is(err, ErrBadOptions) {
				t.Errorf("%+v: got %v", o, err)
			}
		}
	})
}

func TestProbeCancel(t *testing.T) {
	srv := newFakeServer(t, fakeConfig{framework: "sglang", hang: map[string]bool{"/generate": true}})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	rep, err := Probe(ctx, ProbeOptions{Framework: "sglang", URL: srv.URL, Requests: 50, Concurrency: 2})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want the context's error", err)
	}
	if time.Since(start) > 3*time.Second {
		t.Errorf("took %s", time.Since(start))
	}
	if rep == nil || rep.Success != 0 || rep.Errors != 0 {
		t.Errorf("cancelled requests must not count as errors: %+v", rep)
	}
	if n := len(srv.Calls()); n > 2 {
		t.Errorf("%d requests sent after cancellation, want at most the 2 in flight", n)
	}
}

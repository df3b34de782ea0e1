package live

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/tracetriage/tracetriage/analyzer"
)

// Framework names, as DetectFramework returns them: the engine's names.
const (
	FrameworkSGLang = analyzer.FrameworkSGLang
	FrameworkVLLM   = analyzer.FrameworkVLLM
	FrameworkTRTLLM = analyzer.FrameworkTRTLLM
	// FrameworkAuto asks Capture and Probe to detect the framework.
	FrameworkAuto = analyzer.FrameworkAuto
)

// infoTimeout bounds the small GET requests (model list, server info).
const infoTimeout = 60 * time.Second

// CanonicalFramework maps a framework name or alias (sgl, tllm, trt,
// tensorrt-llm, ...; case and '_' / '-' do not matter) to "auto", "sglang",
// "vllm" or "trtllm", as the engine does. An empty name means "auto"; an
// unknown one returns "" so the caller can report it (the reference tool
// silently took it as auto).
func CanonicalFramework(name string) string {
	fw, err := analyzer.CanonicalFramework(name)
	if err != nil {
		return ""
	}
	return fw
}

// DisplayName returns the name a framework is shown under: SGLang, vLLM,
// TensorRT-LLM; other values come back unchanged.
func DisplayName(framework string) string { return analyzer.FrameworkDisplayName(framework) }

// detection is what framework detection learnt; the answers are kept so
// that capture and probe do not ask for them again.
type detection struct {
	framework  string
	models     []string       // ids from /v1/models, when asked
	serverInfo map[string]any // /server_info, when asked and a JSON object
}

// DetectFramework asks the server at baseURL which framework serves it and
// returns "sglang", "vllm" or "trtllm". It sends as few requests as it can,
// stopping at the first decisive answer:
//
//  1. GET /v1/models: the owned_by field of the model cards is "sglang",
//     "vllm" or "tensorrt_llm" on the three servers' OpenAI-compatible
//     endpoints, which tells TensorRT-LLM apart from vLLM.
//  2. Only when that is not decisive, GET /server_info: an object holding
//     one of internal_states, tokenizer_path, prefill or decode is SGLang.
//
// Otherwise the error wraps ErrUnknownFramework and asks for --framework. A
// server that cannot be reached, a timeout (60 s per request) or a redirect
// to another host ends detection at once with that error. hc may be nil; a
// caller's client is used through a copy with the same-host redirect policy.
func DetectFramework(ctx context.Context, baseURL string, hc *http.Client) (string, error) {
	srv, err := newServer(baseURL, hc)
	if err != nil {
		return "", err
	}
	defer srv.close()
	d, err := srv.detect(ctx, infoTimeout)
	if err != nil {
		return "", err
	}
	return d.framework, nil
}

// ownerFramework maps a model card's owned_by to a framework.
func ownerFramework(owner string) string {
	switch strings.ToLower(strings.TrimSpace(owner)) {
	case "sglang":
		return FrameworkSGLang
	case "vllm":
		return FrameworkVLLM
	case "tensorrt_llm", "tensorrt-llm", "trtllm", "trt-llm":
		return FrameworkTRTLLM
	}
	return ""
}

// sglangInfoKeys are /server_info keys only SGLang answers with.
var sglangInfoKeys = []string{"internal_states", "tokenizer_path", "prefill", "decode"}

// detect runs the detection of DetectFramework.
func (s *server) detect(ctx context.Context, timeout time.Duration) (*detection, error) {
	d := &detection{}
	var notes []string
	notJSON := false

	r, err := s.do(ctx, http.MethodGet, "/v1/models", nil, timeout)
	if err != nil {
		return nil, err
	}
	switch {
	case !r.ok():
		notes = append(notes, fmt.Sprintf("GET /v1/models answered HTTP %d", r.status))
	default:
		v, err := s.decodeJSON(http.MethodGet, "/v1/models", r)
		if err != nil {
			notJSON = true
			notes = append(notes, "GET /v1/models answered something that is not JSON ("+snippet(r.body)+")")
			break
		}
		ids, owners := modelCards(v)
		d.models = ids
		for _, o := range owners {
			if fw := ownerFramework(o); fw != "" {
				d.framework = fw
				return d, nil
			}
		}
		if len(owners) > 0 {
			notes = append(notes, fmt.Sprintf("GET /v1/models names owner %q", owners[0]))
		} else {
			notes = append(notes, "GET /v1/models lists no model owner")
		}
	}

	r, err = s.do(ctx, http.MethodGet, "/server_info", nil, timeout)
	if err != nil {
		return nil, err
	}
	switch {
	case !r.ok():
		notes = append(notes, fmt.Sprintf("GET /server_info answered HTTP %d", r.status))
	default:
		v, err := s.decodeJSON(http.MethodGet, "/server_info", r)
		if err != nil {
			notJSON = true
			notes = append(notes, "GET /server_info answered something that is not JSON ("+snippet(r.body)+")")
			break
		}
		if m, ok := v.(map[string]any); ok {
			d.serverInfo = m
			for _, k := range sglangInfoKeys {
				if _, ok := m[k]; ok {
					d.framework = FrameworkSGLang
					return d, nil
				}
			}
		}
		notes = append(notes, "GET /server_info holds no SGLang fields")
	}
	msg := fmt.Sprintf("cannot tell which framework serves %s (%s): pass --framework sglang, vllm or trtllm",
		s.base.String(), strings.Join(notes, "; "))
	if notJSON {
		msg += "; answers that are not JSON suggest --url is a proxy or web page, not the inference server"
		return nil, &liveError{msg: msg, sentinel: ErrUnknownFramework, cause: ErrNotJSON}
	}
	return nil, newError(ErrUnknownFramework, nil, "%s", msg)
}

// modelCards returns the ids and owned_by values of an OpenAI model list.
func modelCards(v any) (ids, owners []string) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, nil
	}
	data, _ := m["data"].([]any)
	for _, item := range data {
		card, ok := item.(map[string]any)
		if !ok {
			continue
		}
		if id, ok := card["id"].(string); ok && id != "" {
			ids = append(ids, id)
		}
		if o, ok := card["owned_by"].(string); ok && o != "" {
			owners = append(owners, o)
		}
	}
	return ids, owners
}

// listModels asks /v1/models for the served model ids.
func (s *server) listModels(ctx context.Context, timeout time.Duration) ([]string, error) {
	const path = "/v1/models"
	r, err := s.do(ctx, http.MethodGet, path, nil, timeout)
	if err != nil {
		return nil, err
	}
	if !r.ok() {
		return nil, s.statusError(ErrHTTPStatus, http.MethodGet, path, r, "cannot learn the model name: pass --model")
	}
	v, err := s.decodeJSON(http.MethodGet, path, r)
	if err != nil {
		return nil, err
	}
	ids, _ := modelCards(v)
	if len(ids) == 0 {
		return nil, newError(ErrHTTPStatus, nil, "GET %s%s lists no model: pass --model", s.base.Host, path)
	}
	return ids, nil
}

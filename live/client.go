package live

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// maxBodyBytes bounds how much of an answer is read; answers of the
// endpoints used here are small.
const maxBodyBytes = 16 << 20

// NewClient returns an HTTP client for talking to the server at baseURL. It
// connects directly (HTTP_PROXY and HTTPS_PROXY are ignored) and follows a
// redirect only when it stays on the same scheme, host and port; a redirect
// elsewhere fails with an error wrapping ErrRedirect. It sets no overall
// timeout: every call of this package bounds each request with its own.
func NewClient(baseURL string) (*http.Client, error) {
	base, err := parseBaseURL(baseURL)
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	return &http.Client{Transport: tr, CheckRedirect: sameHostRedirects(base)}, nil
}

// parseBaseURL checks a server URL given by the user. A URL without a scheme
// is taken as http://.
func parseBaseURL(raw string) (*url.URL, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return nil, newError(ErrBadOptions, nil, "no server URL given: pass --url http://HOST:PORT")
	}
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, newError(ErrBadOptions, err, "server URL %q is not a URL (%v): pass --url http://HOST:PORT", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, newError(ErrBadOptions, nil, "server URL %q has scheme %q: use http:// or https://", raw, u.Scheme)
	}
	if u.Host == "" {
		return nil, newError(ErrBadOptions, nil, "server URL %q has no host: pass --url http://HOST:PORT", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, newError(ErrBadOptions, nil, "server URL %q has a query or fragment: pass the server's base URL only", raw)
	}
	u.User = nil
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// sameHostRedirects is a CheckRedirect policy that refuses any redirect
// leaving base's scheme, host and port.
func sameHostRedirects(base *url.URL) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if req.URL.Scheme != base.Scheme || !strings.EqualFold(req.URL.Host, base.Host) {
			from := base.String()
			if len(via) > 0 {
				from = via[len(via)-1].URL.String()
			}
			return newError(ErrRedirect, nil,
				"%s redirected to %s, another host; tracetriage only sends requests to %s: pass the server's own address with --url",
				from, req.URL.Redacted(), base.Host)
		}
		if len(via) >= 10 {
			return newError(ErrRedirect, nil, "%s redirected more than 10 times: check --url", base.String())
		}
		return nil
	}
}

// server is one inference server reached over HTTP.
type server struct {
	base *url.URL
	hc   *http.Client
	own  bool // hc was made here, so its idle connections are ours to close
}

// newServer checks baseURL and prepares the client. A client given by the
// caller is used through a copy whose redirect policy is the same-host one,
// so the caller's transport (and its test hooks) still apply.
func newServer(baseURL string, hc *http.Client) (*server, error) {
	base, err := parseBaseURL(baseURL)
	if err != nil {
		return nil, err
	}
	own := hc == nil
	if own {
		hc, err = NewClient(base.String())
		if err != nil {
			return nil, err
		}
	} else {
		c := *hc
		c.CheckRedirect = sameHostRedirects(base)
		hc = &c
	}
	return &server{base: base, hc: hc, own: own}, nil
}

// close closes the kept-alive connections of a client made by newServer,
// so that no connection or transport goroutine outlives the call that made
// it. A caller's client is left alone: its pool is the caller's.
func (s *server) close() {
	if s.own {
		s.hc.CloseIdleConnections()
	}
}

// endpoint returns the absolute URL of path on the server.
func (s *server) endpoint(path string) string {
	return s.base.JoinPath(path).String()
}

// response is an answer read in full.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r *response) ok() bool { return r.status >= 200 && r.status < 300 }

// do sends one request with its own timeout (none when timeout <= 0) and
// reads the answer. A transport failure comes back as a one-line error
// wrapping ErrUnreachable, ErrTimeout, ErrRedirect or the context's error.
func (s *server) do(ctx context.Context, method, path string, payload any, timeout time.Duration) (*response, error) {
	target := s.endpoint(path)
	var body io.Reader
	if payload != nil {
		data, err := json.Marshal(payload)
		if err != nil {
			return nil, fmt.Errorf("encode %s %s body: %w", method, path, err)
		}
		body = bytes.NewReader(data)
	}
	rctx, cancel := ctx, context.CancelFunc(func() {})
	if timeout > 0 {
		rctx, cancel = context.WithTimeout(ctx, timeout)
	}
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, method, target, body)
	if err != nil {
		return nil, newError(ErrBadOptions, err, "build %s %s: %v", method, target, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "tracetriage")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return nil, s.transportError(ctx, method, path, timeout, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes))
	if err != nil {
		return nil, s.transportError(ctx, method, path, timeout, err)
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: data}, nil
}

// transportError turns a failed round trip into a one-line error.
func (s *server) transportError(ctx context.Context, method, path string, timeout time.Duration, err error) error {
	var le *liveError
	if errors.As(err, &le) {
		return le
	}
	if ctx.Err() != nil {
		return newError(ctx.Err(), err, "%s %s: cancelled", method, path)
	}
	if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
		return newError(ErrTimeout, err,
			"%s %s%s: no answer within %s: the server is busy or stuck; check its log or raise the request timeout",
			method, s.base.Host, path, timeout)
	}
	cause := err
	var ue *url.Error
	if errors.As(err, &ue) {
		cause = ue.Err
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return newError(ErrUnreachable, err,
			"cannot connect to %s (%v): is the server running and listening there? check --url",
			s.base.String(), oe.Err)
	}
	var de *net.DNSError
	if errors.As(err, &de) {
		return newError(ErrUnreachable, err, "cannot resolve host %q of %s: check --url", de.Name, s.base.String())
	}
	return newError(ErrUnreachable, err,
		"%s %s%s failed (%v): the server dropped the connection; check that it is running and look at its log",
		method, s.base.Host, path, cause)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// statusError describes a non-2xx answer, followed by advice.
func (s *server) statusError(sentinel error, method, path string, r *response, advice string) error {
	msg := fmt.Sprintf("%s %s%s answered HTTP %d", method, s.base.Host, path, r.status)
	if snip := snippet(r.body); snip != "" {
		msg += fmt.Sprintf(" (%s)", snip)
	}
	if advice != "" {
		msg += ": " + advice
	}
	return newError(sentinel, nil, "%s", msg)
}

// decodeJSON parses an answer's body as JSON.
func (s *server) decodeJSON(method, path string, r *response) (any, error) {
	var v any
	if err := json.Unmarshal(r.body, &v); err != nil {
		ct := r.header.Get("Content-Type")
		if ct == "" {
			ct = "no content type"
		}
		return nil, newError(ErrNotJSON, err,
			"%s %s%s answered something that is not JSON (%s, starts %q): check that --url is the inference server itself, not a proxy, gateway or web page",
			method, s.base.Host, path, ct, snippet(r.body))
	}
	return v, nil
}

// snippet returns the start of a body on one line, for error messages.
func snippet(b []byte) string {
	const max = 80
	s := strings.Join(strings.Fields(strings.ToValidUTF8(string(b), "\ufffd")), " ")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '?' // no terminal escapes from the server's answer
		}
		return r
	}, s)
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

package live

import (
	"errors"
	"fmt"
)

// Sentinel errors. The errors returned by this package wrap one of them
// (test with errors.Is); their text already says what the user can do.
var (
	// ErrBadOptions reports options that cannot work, found before any
	// request is sent.
	ErrBadOptions = errors.New("invalid options")
	// ErrUnreachable reports a server that does not accept connections.
	ErrUnreachable = errors.New("server unreachable")
	// ErrTimeout reports a request that got no answer within its timeout.
	ErrTimeout = errors.New("request timed out")
	// ErrRedirect reports a redirect to another host, which is refused.
	ErrRedirect = errors.New("redirect to another host refused")
	// ErrHTTPStatus reports an answer with a non-2xx status.
	ErrHTTPStatus = errors.New("unexpected HTTP status")
	// ErrNotJSON reports an answer that should be JSON and is not.
	ErrNotJSON = errors.New("answer is not JSON")
	// ErrProfilerDisabled reports a server whose profiler endpoints are
	// not enabled.
	ErrProfilerDisabled = errors.New("profiler not enabled on the server")
	// ErrNoTrace reports that no new trace file appeared in time.
	ErrNoTrace = errors.New("no trace file appeared")
	// ErrUnknownFramework reports a server whose framework could not be
	// told from its answers.
	ErrUnknownFramework = errors.New("framework not recognised")
	// ErrPatch reports a py_executor.py that does not have the shape the
	// TensorRT-LLM patch expects.
	ErrPatch = errors.New("unexpected py_executor.py shape")
)

// liveError is an error with its own one-line message that wraps a sentinel
// and, optionally, the underlying cause.
type liveError struct {
	msg      string
	sentinel error
	cause    error
}

func (e *liveError) Error() string { return e.msg }

func (e *liveError) Unwrap() []error {
	if e.cause == nil {
		return []error{e.sentinel}
	}
	return []error{e.sentinel, e.cause}
}

// newError builds a liveError with a formatted message.
func newError(sentinel, cause error, format string, a ...any) error {
	return &liveError{msg: fmt.Sprintf(format, a...), sentinel: sentinel, cause: cause}
}

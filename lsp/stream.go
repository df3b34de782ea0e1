package lsp

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"

	"go.lsp.dev/jsonrpc2"
)

// frameIO is the raw-frame side of the jsonrpc2 header stream.
type frameIO interface {
	ReadFrame(ctx context.Context) ([]byte, int64, error)
	WriteFrame(ctx context.Context, data []byte) (int64, error)
}

// tolerantStream wraps a framed stream so that a frame that is not a
// JSON-RPC message is answered with a parse error and skipped: jsonrpc2
// otherwise ends the connection on the first undecodable frame.
type tolerantStream struct {
	jsonrpc2.Stream
	frames frameIO
	log    *slog.Logger
}

// newTolerantStream wraps s; a stream without raw frame access is returned
// as it is.
func newTolerantStream(s jsonrpc2.Stream, log *slog.Logger) jsonrpc2.Stream {
	f, ok := s.(frameIO)
	if !ok {
		return s
	}
	return &tolerantStream{Stream: s, frames: f, log: log}
}

// parseErrorFrame is the response to an unreadable frame (its id is
// unknowable, so null, as JSON-RPC 2.0 prescribes).
const parseErrorFrame = `{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error: the message is not valid JSON-RPC"}}`

// ReadFrame returns the next frame that decodes as a JSON-RPC message or
// batch, answering the others.
func (t *tolerantStream) ReadFrame(ctx context.Context) ([]byte, int64, error) {
	for {
		frame, n, err := t.frames.ReadFrame(ctx)
		if err != nil {
			return frame, n, err
		}
		if validFrame(frame) {
			return frame, n, nil
		}
		t.log.Warn("skipped a malformed message", "bytes", len(frame))
		if _, werr := t.frames.WriteFrame(ctx, []byte(parseErrorFrame)); werr != nil {
			return nil, n, werr
		}
	}
}

// WriteFrame writes an encoded frame.
func (t *tolerantStream) WriteFrame(ctx context.Context, data []byte) (int64, error) {
	return t.frames.WriteFrame(ctx, data)
}

// validFrame reports whether frame is a JSON object the jsonrpc2 decoder
// accepts, or a JSON array (a batch, whose members it answers one by one).
func validFrame(frame []byte) bool {
	if !json.Valid(frame) {
		return false
	}
	if t := bytes.TrimLeft(frame, " \t\r\n"); len(t) > 0 && t[0] == '[' {
		return true
	}
	_, err := jsonrpc2.DecodeMessage(frame)
	return err == nil
}

// readFileText reads a source file that is not open in the editor.
func readFileText(p string) (string, bool) {
	if p == "" {
		return "", false
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return "", false
	}
	return string(b), true
}

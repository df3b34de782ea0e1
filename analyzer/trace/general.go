package trace

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/tidwall/gjson"
)

// eventPaths are the gjson paths of RawEvent's fields, in fill order.
var eventPaths = []string{
	"ph", "cat", "name", "pid", "tid", "ts", "dur",
	"args.External id", "args.correlation", "args.stream", "args.cuda_stream",
	"args.graph id", "args.graph node id",
	"args.kernel", "args.name", "args",
}

// parseGeneral reads any valid Chrome-trace JSON (an object with
// traceEvents, or a bare array of events) one event at a time with a
// streaming decoder, and feeds b. It is the correct fallback for layouts
// the fast scanner does not handle.
func parseGeneral(ctx context.Context, r io.Reader, b *Builder) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	br, first, lead, err := firstByte(r)
	if err != nil {
		return err
	}
	d := newTextDecoder(br, lead)
	if _, err := d.Token(); err != nil { // '[' or '{'
		return d.fail(err)
	}
	if first == '[' {
		if err := d.events(ctx, b); err != nil {
			return err
		}
		return d.expectEnd()
	}
	return d.objectRest(ctx, b, false)
}

// resumePrefix{Object,Bare} put a decoder in the state it is in inside
// the traceEvents array: inside an object's array, or a bare array.
const (
	resumePrefixObject = `{"traceEvents":[`
	resumePrefixBare   = `[`
)

// resumeGeneral takes over a parse the fast path began (see resumeFrom):
// r is the JSON text from offset at, where an entry of the traceEvents
// array (or its closing ']') begins, and b holds the entries before it.
// It reads the rest as parseGeneral would, with the same results, errors
// and byte offsets: a decoder reading a prefix that opens the array is in
// the same state as one that read the text up to at, since at is where a
// value of the array starts.
func resumeGeneral(ctx context.Context, r io.Reader, b *Builder, bare bool, at int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	prefix, tokens := resumePrefixObject, 3 // '{', the key, '['
	if bare {
		prefix, tokens = resumePrefixBare, 1
	}
	d := newTextDecoder(io.MultiReader(strings.NewReader(prefix), r), at-int64(len(prefix)))
	for range tokens {
		if _, err := d.Token(); err != nil {
			return d.fail(err)
		}
	}
	if err := d.events(ctx, b); err != nil {
		return err
	}
	if bare {
		return d.expectEnd()
	}
	return d.objectRest(ctx, b, true)
}

// textDecoder is the general parser's streaming decoder, with what it
// needs to place an error in the JSON text: its input, and lead, the
// offset in the JSON text of the first byte it reads.
type textDecoder struct {
	*json.Decoder
	src  io.Reader
	lead int64
}

func newTextDecoder(src io.Reader, lead int64) *textDecoder {
	d := &textDecoder{Decoder: json.NewDecoder(src), src: src, lead: lead}
	d.UseNumber()
	return d
}

// objectRest reads the members of a trace's top-level object from the
// decoder's position to its closing '}' and the end of the text.
// sawEvents says whether a traceEvents array was read already.
func (d *textDecoder) objectRest(ctx context.Context, b *Builder, sawEvents bool) error {
	for d.More() {
		tok, err := d.Token()
		if err != nil {
			return d.fail(err)
		}
		key, _ := tok.(string)
		if key == "traceEvents" {
			tok, err := d.Token()
			if err != nil {
				return d.fail(err)
			}
			if dl, ok := tok.(json.Delim); !ok || dl != '[' {
				return fmt.Errorf("%w: traceEvents is not an array", ErrNotTrace)
			}
			sawEvents = true
			if err := d.events(ctx, b); err != nil {
				return err
			}
			continue
		}
		var raw json.RawMessage
		if err := d.Decode(&raw); err != nil {
			return d.fail(err)
		}
		readMeta(key, raw, &b.t.Meta)
	}
	if _, err := d.Token(); err != nil { // }
		return d.fail(err)
	}
	if !sawEvents {
		return fmt.Errorf("%w: the JSON object has no traceEvents array", ErrNotTrace)
	}
	return d.expectEnd()
}

func (d *textDecoder) expectEnd() error {
	if _, err := d.Token(); err != io.EOF {
		if err == nil {
			return fmt.Errorf("%w at byte offset %d of the JSON text: unexpected data after the end of the trace", ErrInvalidJSON, d.lead+d.InputOffset())
		}
		return d.fail(err)
	}
	return nil
}

// events reads the entries of an array up to its closing ']' and feeds
// the event objects to b.
func (d *textDecoder) events(ctx context.Context, b *Builder) error {
	var raw json.RawMessage
	var ev RawEvent
	n := 0
	for d.More() {
		if n++; n&0xffff == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		raw = raw[:0]
		if err := d.Decode(&raw); err != nil {
			return d.fail(err)
		}
		if len(raw) == 0 || raw[0] != '{' {
			b.t.Events++
			b.t.Malformed++
			continue
		}
		fillRaw(raw, &ev)
		b.Add(&ev)
	}
	if _, err := d.Token(); err != nil { // ]
		return d.fail(err)
	}
	return nil
}

// fillRaw extracts the RawEvent fields of one event object.
func fillRaw(raw []byte, ev *RawEvent) {
	ev.Reset()
	res := gjson.GetManyBytes(raw, eventPaths...)
	dst := []*[]byte{
		&ev.Ph, &ev.Cat, &ev.Name, &ev.PID, &ev.TID, &ev.TS, &ev.Dur,
		&ev.ExternalID, &ev.Correlation, &ev.Stream, &ev.CudaStream,
		&ev.GraphID, &ev.GraphNodeID,
		&ev.Kernel, &ev.ArgName,
	}
	for i, p := range dst {
		*p = resultBytes(res[i])
	}
	ev.HasArgs = res[len(res)-1].Exists()
}

func resultBytes(r gjson.Result) []byte {
	switch r.Type {
	case gjson.Null:
		return nil
	case gjson.String:
		return []byte(r.Str)
	default:
		if r.Raw == "" {
			return nil
		}
		return []byte(r.Raw)
	}
}

// readMeta records the trace-level fields Meta keeps.
func readMeta(key string, raw []byte, m *Meta) {
	switch key {
	case "schemaVersion":
		m.SchemaVersion = int(gjson.ParseBytes(raw).Int())
	case "displayTimeUnit":
		m.DisplayTimeUnit = gjson.ParseBytes(raw).String()
	case "with_stack":
		m.WithStack = gjson.ParseBytes(raw).Bool()
	case "distributedInfo":
		d := gjson.ParseBytes(raw)
		if r := d.Get("rank"); r.Exists() {
			m.Rank = int(r.Int())
		}
		m.WorldSize = int(d.Get("world_size").Int())
	case "deviceProperties":
		gjson.ParseBytes(raw).ForEach(func(_, v gjson.Result) bool {
			m.DeviceNames = append(m.DeviceNames, v.Get("name").String())
			return true
		})
	}
}

// fail turns a decoder error into one that names the byte offset in the
// JSON text.
func (d *textDecoder) fail(err error) error {
	var se *json.SyntaxError
	switch {
	case errors.Is(err, ErrTruncated) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.As(err, &se):
		// SyntaxError.Offset is not an offset in the input; find the bad
		// byte from the decoder's position.
		off := d.lead + d.InputOffset() + d.errorPos(se.Error())
		return fmt.Errorf("%w at byte offset %d of the JSON text: %s", ErrInvalidJSON, off, se.Error())
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		rest, _ := io.Copy(io.Discard, d.Buffered())
		return fmt.Errorf("%w: the JSON text ends early at byte offset %d (the file is incomplete)", ErrTruncated, d.lead+d.InputOffset()+rest)
	}
	return err
}

// errorScanMax bounds the text read past the decoder's position to find
// the byte a syntax error is about.
const errorScanMax = fastMaxHold

// errorPos returns the position, from the decoder's, of the byte the
// syntax error msg is about. It reads the text from the decoder's position
// (what the decoder buffered, then the rest of its input, as far as the
// value there extends) so that the answer does not depend on how much the
// decoder had buffered.
func (d *textDecoder) errorPos(msg string) int64 {
	data, _ := io.ReadAll(d.Buffered())
	eof := false
	for {
		pos, known := syntaxErrorPos(data, msg, eof)
		if known || eof || len(data) >= errorScanMax {
			return int64(pos)
		}
		more := make([]byte, max(64<<10, len(data)))
		n, err := io.ReadFull(d.src, more)
		data = append(data, more[:n]...)
		eof = err != nil
	}
}

// syntaxErrorPos finds, in data (the text from a decoder's position), the
// byte the decoder's syntax error msg is about. The decoder stops just
// before a value or a separator; the bad byte is
//   - for "expected comma/colon ...", the next byte after whitespace (a
//     value where a separator must be);
//   - the first invalid byte of the value there, when it has one;
//   - the byte after that value, for "... after top-level value" (junk
//     after a number or literal the decoder read);
//   - else the value's first byte (a valid value where a separator or a
//     close must be).
//
// known is false when the value runs past the end of data and eof is not
// set: more text is needed.
func syntaxErrorPos(data []byte, msg string, eof bool) (pos int, known bool) {
	i := skipWS(data, 0)
	if strings.HasPrefix(msg, "expected ") {
		return i, i < len(data) || eof
	}
	if i >= len(data) {
		return i, eof
	}
	end, ok := skipValue(data, i, 0)
	switch {
	case !ok && end >= len(data):
		return end, eof // the value runs on past data
	case !ok:
		return end, true
	case strings.HasSuffix(msg, "after top-level value"):
		j := skipWS(data, end)
		return j, j < len(data) || eof
	default:
		return i, true
	}
}

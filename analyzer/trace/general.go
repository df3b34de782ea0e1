package trace

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

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
	dec := json.NewDecoder(br)
	dec.UseNumber()
	if first == '[' {
		if _, err := dec.Token(); err != nil {
			return jsonErr(dec, err, lead)
		}
		if err := decodeEvents(ctx, dec, b, lead); err != nil {
			return err
		}
		return expectEnd(dec, lead)
	}
	if _, err := dec.Token(); err != nil { // {
		return jsonErr(dec, err, lead)
	}
	sawEvents := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return jsonErr(dec, err, lead)
		}
		key, _ := tok.(string)
		if key == "traceEvents" {
			tok, err := dec.Token()
			if err != nil {
				return jsonErr(dec, err, lead)
			}
			if d, ok := tok.(json.Delim); !ok || d != '[' {
				return fmt.Errorf("%w: traceEvents is not an array", ErrNotTrace)
			}
			sawEvents = true
			if err := decodeEvents(ctx, dec, b, lead); err != nil {
				return err
			}
			continue
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return jsonErr(dec, err, lead)
		}
		readMeta(key, raw, &b.t.Meta)
	}
	if _, err := dec.Token(); err != nil { // }
		return jsonErr(dec, err, lead)
	}
	if !sawEvents {
		return fmt.Errorf("%w: the JSON object has no traceEvents array", ErrNotTrace)
	}
	return expectEnd(dec, lead)
}

func expectEnd(dec *json.Decoder, lead int64) error {
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			return fmt.Errorf("%w at byte offset %d of the JSON text: unexpected data after the end of the trace", ErrInvalidJSON, lead+dec.InputOffset())
		}
		return jsonErr(dec, err, lead)
	}
	return nil
}

func decodeEvents(ctx context.Context, dec *json.Decoder, b *Builder, lead int64) error {
	var raw json.RawMessage
	var ev RawEvent
	n := 0
	for dec.More() {
		if n++; n&0xffff == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		raw = raw[:0]
		if err := dec.Decode(&raw); err != nil {
			return jsonErr(dec, err, lead)
		}
		if len(raw) == 0 || raw[0] != '{' {
			b.t.Events++
			b.t.Malformed++
			continue
		}
		fillRaw(raw, &ev)
		b.Add(&ev)
	}
	if _, err := dec.Token(); err != nil { // ]
		return jsonErr(dec, err, lead)
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

// jsonErr turns a decoder error into one that names the byte offset in the
// JSON text (lead is the whitespace skipped before the decoder started).
func jsonErr(dec *json.Decoder, err error, lead int64) error {
	var se *json.SyntaxError
	switch {
	case errors.Is(err, ErrTruncated) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.As(err, &se):
		// SyntaxError.Offset is relative to the decoder's internal buffer;
		// find the bad byte by scanning the value the decoder stopped at.
		off := lead + dec.InputOffset() + errorPos(dec.Buffered())
		return fmt.Errorf("%w at byte offset %d of the JSON text: %s", ErrInvalidJSON, off, se.Error())
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		rest, _ := io.Copy(io.Discard, dec.Buffered())
		return fmt.Errorf("%w: the JSON text ends early at byte offset %d (the file is incomplete)", ErrTruncated, lead+dec.InputOffset()+rest)
	}
	return err
}

// errorPos returns the position of the first invalid byte in the text the
// decoder had buffered from the start of the value it failed on.
func errorPos(r io.Reader) int64 {
	data, _ := io.ReadAll(r)
	i := skipWS(data, 0)
	if i >= len(data) {
		return int64(i)
	}
	end, ok := skipValue(data, i, 0)
	if !ok {
		return int64(end)
	}
	return int64(skipWS(data, end)) // a valid value, then an unexpected byte
}

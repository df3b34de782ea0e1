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
	"args.graph id", "args.graph node id", "args.Python id", "args.Python parent id",
	"args.kernel", "args.name", "args",
}

// parseGeneral reads any valid Chrome-trace JSON (an object with
// traceEvents, or a bare array of events) one event at a time with a
// streaming decoder, and feeds b. It is the correct fallback for layouts
// the fast scanner does not handle.
func parseGeneral(ctx context.Context, r io.Reader, b *Builder) error {
	br, first, err := firstByte(r)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(br)
	dec.UseNumber()
	if first == '[' {
		if _, err := dec.Token(); err != nil {
			return jsonErr(dec, err)
		}
		if err := decodeEvents(ctx, dec, b); err != nil {
			return err
		}
		return expectEnd(dec)
	}
	if _, err := dec.Token(); err != nil { // {
		return jsonErr(dec, err)
	}
	sawEvents := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return jsonErr(dec, err)
		}
		key, _ := tok.(string)
		if key == "traceEvents" {
			tok, err := dec.Token()
			if err != nil {
				return jsonErr(dec, err)
			}
			if d, ok := tok.(json.Delim); !ok || d != '[' {
				return fmt.Errorf("%w: traceEvents is not an array", ErrNotTrace)
			}
			sawEvents = true
			if err := decodeEvents(ctx, dec, b); err != nil {
				return err
			}
			continue
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return jsonErr(dec, err)
		}
		readMeta(key, raw, &b.t.Meta)
	}
	if _, err := dec.Token(); err != nil { // }
		return jsonErr(dec, err)
	}
	if !sawEvents {
		return fmt.Errorf("%w: the JSON object has no traceEvents array", ErrNotTrace)
	}
	return expectEnd(dec)
}

func expectEnd(dec *json.Decoder) error {
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			return fmt.Errorf("%w at byte offset %d: unexpected data after the end of the trace", ErrInvalidJSON, dec.InputOffset())
		}
		return jsonErr(dec, err)
	}
	return nil
}

func decodeEvents(ctx context.Context, dec *json.Decoder, b *Builder) error {
	var raw json.RawMessage
	var ev RawEvent
	n := 0
	for dec.More() {
		if n++; n&0xffff == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		raw = raw[:0]
		if err := dec.Decode(&raw); err != nil {
			return jsonErr(dec, err)
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
		return jsonErr(dec, err)
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
		&ev.GraphID, &ev.GraphNodeID, &ev.PythonID, &ev.PythonParent,
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

// jsonErr turns a decoder error into one that names the byte offset.
func jsonErr(dec *json.Decoder, err error) error {
	var se *json.SyntaxError
	switch {
	case errors.Is(err, ErrTruncated) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.As(err, &se):
		return fmt.Errorf("%w at byte offset %d of the JSON text: %s", ErrInvalidJSON, se.Offset, se.Error())
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: the JSON text ends early at byte offset %d (the file is incomplete)", ErrTruncated, dec.InputOffset())
	}
	return err
}

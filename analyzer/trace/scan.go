package trace

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
)

// This file holds the fast scanner's JSON layer: a validating scanner over
// an in-memory chunk of the traceEvents array. It accepts exactly the JSON
// grammar encoding/json accepts (RFC 8259 with any bytes >= 0x20 inside
// strings) so that the fast path never succeeds on text the general parser
// rejects. Functions take the chunk and a position and return the position
// after what they scanned and whether the text was valid and complete; a
// false result makes the caller give the chunk (or the file) to the general
// parser, which reports the error with its offset.

// maxScanDepth bounds nesting inside one event; deeper events are left to
// the general parser (encoding/json allows 10000 levels).
const maxScanDepth = 512

const (
	swarLo = 0x0101010101010101
	swarHi = 0x8080808080808080
)

// skipWS returns the position of the first byte at or after i that is not
// JSON whitespace.
func skipWS(b []byte, i int) int {
	for ; i < len(b); i++ {
		if c := b[i]; c > ' ' || c != ' ' && c != '\n' && c != '\r' && c != '\t' {
			return i
		}
	}
	return i
}

// skipDigits returns the position of the first byte at or after i that is
// not an ASCII digit, looking at eight bytes at a time.
func skipDigits(b []byte, i int) int {
	for i+8 <= len(b) {
		v := binary.LittleEndian.Uint64(b[i:])
		// A byte is a digit when its high nibble is 3 and adding 6 keeps
		// it so. A carry between bytes only comes from a byte >= 0xFA,
		// which is already marked, and only reaches higher bytes.
		nd := ((v & (swarLo * 0xF0)) ^ (swarLo * '0')) | (((v + swarLo*6) & (swarLo * 0xF0)) ^ (swarLo * '0'))
		if nd != 0 {
			return i + bits.TrailingZeros64(nd)>>3
		}
		i += 8
	}
	for i < len(b) && b[i]-'0' <= 9 {
		i++
	}
	return i
}

// scanString scans the string starting at b[i] == '"'. It returns the
// position after the closing quote, whether the string holds escapes, and
// whether it is valid (no control bytes, valid escapes, closed).
func scanString(b []byte, i int) (end int, esc bool, ok bool) {
	i++
	for {
		// Eight bytes at a time: stop at the first '"', '\\' or byte < 0x20.
		for i+8 <= len(b) {
			v := binary.LittleEndian.Uint64(b[i:])
			q := v ^ (swarLo * '"')
			s := v ^ (swarLo * '\\')
			t := ((q - swarLo) &^ q) | ((s - swarLo) &^ s) | ((v - swarLo*0x20) &^ v)
			t &= swarHi
			if t != 0 {
				i += bits.TrailingZeros64(t) >> 3
				break
			}
			i += 8
		}
		if i >= len(b) {
			return i, esc, false
		}
		c := b[i]
		switch {
		case c == '"':
			return i + 1, esc, true
		case c == '\\':
			esc = true
			if i+1 >= len(b) {
				return len(b), esc, false // incomplete
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) {
					return len(b), esc, false // incomplete
				}
				if !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return i, esc, false
				}
				i += 6
			default:
				return i, esc, false
			}
		case c < 0x20:
			return i, esc, false
		default:
			i++
		}
	}
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func hexVal(c byte) rune {
	switch {
	case c <= '9':
		return rune(c - '0')
	case c >= 'a':
		return rune(c-'a') + 10
	}
	return rune(c-'A') + 10
}

func hex4(b []byte) rune {
	return hexVal(b[0])<<12 | hexVal(b[1])<<8 | hexVal(b[2])<<4 | hexVal(b[3])
}

// unescapeTo appends the contents of a validated JSON string (without its
// quotes) to dst with escapes decoded. It decodes exactly as gjson does
// (the general parser's field extractor): a surrogate pair becomes one
// rune, a lone surrogate becomes U+FFFD, other bytes are copied as they are.
func unescapeTo(dst, s []byte) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			dst = append(dst, c)
			continue
		}
		i++
		switch s[i] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := hex4(s[i+1:])
			i += 4
			if r >= 0xD800 && r < 0xDC00 && i+6 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
				if r2 := hex4(s[i+3:]); r2 >= 0xDC00 && r2 < 0xE000 {
					r = utf16.DecodeRune(r, r2)
					i += 6
				}
			}
			dst = utf8.AppendRune(dst, r)
		default: // '"', '\\', '/'
			dst = append(dst, s[i])
		}
	}
	return dst
}

// scanNumber scans a JSON number starting at b[i].
func scanNumber(b []byte, i int) (int, bool) {
	if i < len(b) && b[i] == '-' {
		i++
	}
	if i >= len(b) {
		return i, false
	}
	switch c := b[i]; {
	case c == '0':
		i++
	case '1' <= c && c <= '9':
		i = skipDigits(b, i+1)
	default:
		return i, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return i, false
		}
		i = skipDigits(b, i+1)
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return i, false
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	// A number ends the chunk only when the text is incomplete.
	return i, i < len(b)
}

func scanLiteral(b []byte, i int, lit string) (int, bool) {
	if len(b)-i < len(lit) {
		return len(b), false // incomplete (or invalid: the caller cannot tell yet)
	}
	if string(b[i:i+len(lit)]) != lit {
		return i, false
	}
	return i + len(lit), true
}

// skipValue scans any JSON value starting at b[i] (no leading whitespace).
func skipValue(b []byte, i, depth int) (int, bool) {
	if i >= len(b) {
		return i, false
	}
	switch c := b[i]; c {
	case '"':
		end, _, ok := scanString(b, i)
		return end, ok
	case '{':
		return skipObject(b, i, depth+1)
	case '[':
		return skipArray(b, i, depth+1)
	case 't':
		return scanLiteral(b, i, "true")
	case 'f':
		return scanLiteral(b, i, "false")
	case 'n':
		return scanLiteral(b, i, "null")
	default:
		return scanNumber(b, i)
	}
}

func skipObject(b []byte, i, depth int) (int, bool) {
	if depth > maxScanDepth {
		return i, false
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, true
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return i, false
		}
		var ok bool
		if i, _, ok = scanString(b, i); !ok {
			return i, false
		}
		i = skipWS(b, i)
		if i >= len(b) || b[i] != ':' {
			return i, false
		}
		if i, ok = skipValue(b, skipWS(b, i+1), depth); !ok {
			return i, false
		}
		i = skipWS(b, i)
		if i >= len(b) {
			return i, false
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case '}':
			return i + 1, true
		default:
			return i, false
		}
	}
}

// The rest of a flow event after its "ph" value, as Kineto writes it:
// `, "id": N, "pid": N, "tid": N, "ts": N,` then `"cat": "ac2g", "name":
// "ac2g"` on the next line, `, "bp": "e"` on flow ends, and the close.
const (
	flowID    = ", \"id\": "
	flowPID   = ", \"pid\": "
	flowTID   = ", \"tid\": "
	flowTS    = ", \"ts\": "
	flowCat   = ",\n    \"cat\": \"ac2g\", \"name\": \"ac2g\""
	flowBP    = ", \"bp\": \"e\""
	flowClose = "\n  }"
)

// skipKinetoFlow validates the rest of a flow event from b[i], just after
// its "ph" value, when it is written exactly as Kineto writes it (numeric
// id, pid, tid and ts), comparing the text between the values as a whole;
// it returns the position after the closing '}', or false for any other
// spelling (skipObjectRest then scans it).
func skipKinetoFlow(b []byte, i int) (int, bool) {
	for _, sep := range [...]string{flowID, flowPID, flowTID, flowTS} {
		if !hasAt(b, i, sep) {
			return 0, false
		}
		i += len(sep)
		if i >= len(b) || b[i] != '-' && b[i]-'0' > 9 {
			return 0, false
		}
		var ok bool
		if i, ok = scanNumber(b, i); !ok {
			return 0, false
		}
	}
	if !hasAt(b, i, flowCat) {
		return 0, false
	}
	i += len(flowCat)
	if hasAt(b, i, flowBP) {
		i += len(flowBP)
	}
	if !hasAt(b, i, flowClose) {
		return 0, false
	}
	return i + len(flowClose), true
}

// skipObjectRest scans the rest of an object at depth 1 from b[i], just
// after one of its values: the remaining members and the closing '}'.
func skipObjectRest(b []byte, i int) (int, bool) {
	i = skipWS(b, i)
	if i >= len(b) {
		return i, false
	}
	switch b[i] {
	case '}':
		return i + 1, true
	case ',':
		// skipObject expects the text just after a '{': the ',' stands
		// in for it, but unlike a '{' it must be followed by a member
		// (skipObject would take `,}` for an empty object).
		if j := skipWS(b, i+1); j >= len(b) || b[j] != '"' {
			return j, false
		}
		return skipObject(b, i, 1)
	}
	return i, false
}

func skipArray(b []byte, i, depth int) (int, bool) {
	if depth > maxScanDepth {
		return i, false
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1, true
	}
	for {
		var ok bool
		if i, ok = skipValue(b, i, depth); !ok {
			return i, false
		}
		i = skipWS(b, i)
		if i >= len(b) {
			return i, false
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case ']':
			return i + 1, true
		default:
			return i, false
		}
	}
}

// Field bits of an event, to detect duplicate keys (left to the general
// parser, whose extractor keeps the first occurrence).
const (
	fPh = 1 << iota
	fCat
	fName
	fPID
	fTID
	fTS
	fDur
	fArgs
	fExternalID
	fCorrelation
	fStream
	fCudaStream
	fGraphID
	fGraphNodeID
	fKernel
	fArgName
)

// eventScanner extracts RawEvents from the objects of a traceEvents chunk.
type eventScanner struct {
	ev      RawEvent
	scratch []byte // unescaped strings of the current event
	generic int    // events handed to the general extractor (for tests)
}

// Event-level keys as Kineto writes them, `"key":`, as little-endian
// words, with the masks of their lengths.
const (
	mask5 = 1<<40 - 1
	mask6 = 1<<48 - 1
	mask7 = 1<<56 - 1
	kwPh  = '"' | 'p'<<8 | 'h'<<16 | '"'<<24 | ':'<<32
	kwTS  = '"' | 't'<<8 | 's'<<16 | '"'<<24 | ':'<<32
	kwCat = '"' | 'c'<<8 | 'a'<<16 | 't'<<24 | '"'<<32 | ':'<<40
	kwPID = '"' | 'p'<<8 | 'i'<<16 | 'd'<<24 | '"'<<32 | ':'<<40
	kwTID = '"' | 't'<<8 | 'i'<<16 | 'd'<<24 | '"'<<32 | ':'<<40
	kwDur = '"' | 'd'<<8 | 'u'<<16 | 'r'<<24 | '"'<<32 | ':'<<40
	kwNam = '"' | 'n'<<8 | 'a'<<16 | 'm'<<24 | 'e'<<32 | '"'<<40 | ':'<<48
	kwArg = '"' | 'a'<<8 | 'r'<<16 | 'g'<<24 | 's'<<32 | '"'<<40 | ':'<<48
)

// knownKey recognises the event-level keys the analysis reads, written
// without escapes and followed directly by ':', with one eight-byte load
// instead of a string scan. It returns the key's RawEvent slot and bit (a
// nil slot for "args") and the length of `"key":`, or n == 0 when the key
// is another one (or written otherwise), for the general key scan.
func (s *eventScanner) knownKey(b []byte, i int) (dst *[]byte, bit uint32, n int) {
	if i+8 > len(b) {
		return nil, 0, 0
	}
	w := binary.LittleEndian.Uint64(b[i:])
	ev := &s.ev
	switch {
	case w&mask5 == kwPh:
		return &ev.Ph, fPh, 5
	case w&mask6 == kwCat:
		return &ev.Cat, fCat, 6
	case w&mask7 == kwNam:
		return &ev.Name, fName, 7
	case w&mask6 == kwPID:
		return &ev.PID, fPID, 6
	case w&mask6 == kwTID:
		return &ev.TID, fTID, 6
	case w&mask5 == kwTS:
		return &ev.TS, fTS, 5
	case w&mask6 == kwDur:
		return &ev.Dur, fDur, 6
	case w&mask7 == kwArg:
		return nil, fArgs, 7
	}
	return nil, 0, 0
}

// The first eight bytes of the args keys the analysis reads most often,
// as little-endian words.
const (
	awExternal = '"' | 'E'<<8 | 'x'<<16 | 't'<<24 | 'e'<<32 | 'r'<<40 | 'n'<<48 | 'a'<<56
	awCorrela  = '"' | 'c'<<8 | 'o'<<16 | 'r'<<24 | 'r'<<32 | 'e'<<40 | 'l'<<48 | 'a'<<56
	awStream   = '"' | 's'<<8 | 't'<<16 | 'r'<<24 | 'e'<<32 | 'a'<<40 | 'm'<<48 | '"'<<56
	awPython   = '"' | 'P'<<8 | 'y'<<16 | 't'<<24 | 'h'<<32 | 'o'<<40 | 'n'<<48 | ' '<<56
)

// Args keys Kineto writes that the analysis skips, recognised the same way
// so that their key is not scanned as a string: `"key":` as one word (with
// the space after the colon for the shorter ones) plus the rest of the key.
const (
	awQueued    = '"' | 'q'<<8 | 'u'<<16 | 'e'<<24 | 'u'<<32 | 'e'<<40 | 'd'<<48 | '"'<<56
	awDevice    = '"' | 'd'<<8 | 'e'<<16 | 'v'<<24 | 'i'<<32 | 'c'<<40 | 'e'<<48 | '"'<<56
	awContext   = '"' | 'c'<<8 | 'o'<<16 | 'n'<<24 | 't'<<32 | 'e'<<40 | 'x'<<48 | 't'<<56
	awEvIdx     = '"' | 'E'<<8 | 'v'<<16 | ' '<<24 | 'I'<<32 | 'd'<<40 | 'x'<<48 | '"'<<56
	awRecord    = '"' | 'R'<<8 | 'e'<<16 | 'c'<<24 | 'o'<<32 | 'r'<<40 | 'd'<<48 | ' '<<56
	awRegs      = '"' | 'r'<<8 | 'e'<<16 | 'g'<<24 | 'i'<<32 | 's'<<40 | 't'<<48 | 'e'<<56
	awBlock     = '"' | 'b'<<8 | 'l'<<16 | 'o'<<24 | 'c'<<32 | 'k'<<40 | '"'<<48 | ':'<<56
	awShared    = '"' | 's'<<8 | 'h'<<16 | 'a'<<24 | 'r'<<32 | 'e'<<40 | 'd'<<48 | ' '<<56
	awBlocksPer = '"' | 'b'<<8 | 'l'<<16 | 'o'<<24 | 'c'<<32 | 'k'<<40 | 's'<<48 | ' '<<56
	awWarps     = '"' | 'w'<<8 | 'a'<<16 | 'r'<<24 | 'p'<<32 | 's'<<40 | ' '<<48 | 'p'<<56
	awOccupancy = '"' | 'e'<<8 | 's'<<16 | 't'<<24 | '.'<<32 | ' '<<40 | 'a'<<48 | 'c'<<56
	awCbid      = '"' | 'c'<<8 | 'b'<<16 | 'i'<<24 | 'd'<<32 | '"'<<40 | ':'<<48 | ' '<<56
	awGrid      = '"' | 'g'<<8 | 'r'<<16 | 'i'<<24 | 'd'<<32 | '"'<<40 | ':'<<48 | ' '<<56
	// record_shapes=True adds these to every CPU op.
	awConcrete     = '"' | 'C'<<8 | 'o'<<16 | 'n'<<24 | 'c'<<32 | 'r'<<40 | 'e'<<48 | 't'<<56
	awInputType    = '"' | 'I'<<8 | 'n'<<16 | 'p'<<24 | 'u'<<32 | 't'<<40 | ' '<<48 | 't'<<56
	awInputStrides = '"' | 'I'<<8 | 'n'<<16 | 'p'<<24 | 'u'<<32 | 't'<<40 | ' '<<48 | 'S'<<56
	awInputDims    = '"' | 'I'<<8 | 'n'<<16 | 'p'<<24 | 'u'<<32 | 't'<<40 | ' '<<48 | 'D'<<56
)

// knownArg is knownKey for the args keys "External id", "correlation" and
// "stream": it returns the slot, the bit and the length of `"key":`, or
// n == 0 for any other key or spelling. For the args keys Kineto writes
// that the analysis skips ("Python id", "queued", "Input Dims", ...)
// it returns a nil slot and the length, so that the key is passed over
// without a scan.
func (s *eventScanner) knownArg(b []byte, i int) (dst *[]byte, bit uint32, n int) {
	if i+8 > len(b) {
		return nil, 0, 0
	}
	rest := b[i+8:]
	ev := &s.ev
	switch binary.LittleEndian.Uint64(b[i:]) {
	case awExternal:
		if len(rest) >= 6 && string(rest[:6]) == `l id":` {
			return &ev.ExternalID, fExternalID, 14
		}
	case awCorrela:
		if len(rest) >= 6 && string(rest[:6]) == `tion":` {
			return &ev.Correlation, fCorrelation, 14
		}
	case awStream:
		if len(rest) >= 1 && rest[0] == ':' {
			return &ev.Stream, fStream, 9
		}
	case awPython: // "Python id", "Python parent id": frames are nested by time, not by these
		if len(rest) >= 4 && string(rest[:4]) == `id":` {
			return nil, 0, 12
		}
		if len(rest) >= 11 && string(rest[:11]) == `parent id":` {
			return nil, 0, 19
		}
		if len(rest) >= 11 && string(rest[:11]) == `module id":` {
			return nil, 0, 19
		}
	case awConcrete:
		if len(rest) >= 10 && string(rest[:10]) == `e Inputs":` {
			return nil, 0, 18
		}
	case awInputType:
		if len(rest) >= 5 && string(rest[:5]) == `ype":` {
			return nil, 0, 13
		}
	case awInputStrides:
		if len(rest) >= 8 && string(rest[:8]) == `trides":` {
			return nil, 0, 16
		}
	case awInputDims:
		if len(rest) >= 5 && string(rest[:5]) == `ims":` {
			return nil, 0, 13
		}
	case awQueued:
		if len(rest) >= 1 && rest[0] == ':' {
			return nil, 0, 9
		}
	case awDevice:
		if len(rest) >= 1 && rest[0] == ':' {
			return nil, 0, 9
		}
	case awContext:
		if len(rest) >= 2 && string(rest[:2]) == `":` {
			return nil, 0, 10
		}
	case awEvIdx:
		if len(rest) >= 1 && rest[0] == ':' {
			return nil, 0, 9
		}
	case awRecord:
		if len(rest) >= 13 && string(rest[:13]) == `function id":` {
			return nil, 0, 21
		}
	case awRegs:
		if len(rest) >= 15 && string(rest[:15]) == `rs per thread":` {
			return nil, 0, 23
		}
	case awBlock:
		return nil, 0, 8
	case awShared:
		if len(rest) >= 8 && string(rest[:8]) == `memory":` {
			return nil, 0, 16
		}
	case awBlocksPer:
		if len(rest) >= 8 && string(rest[:8]) == `per SM":` {
			return nil, 0, 16
		}
	case awWarps:
		if len(rest) >= 7 && string(rest[:7]) == `er SM":` {
			return nil, 0, 15
		}
	case awOccupancy:
		if len(rest) >= 20 && string(rest[:20]) == `hieved occupancy %":` {
			return nil, 0, 28
		}
	case awCbid, awGrid:
		return nil, 0, 7
	}
	return nil, 0, 0
}

// field returns the RawEvent slot and bit of an event-level key.
func (s *eventScanner) field(key []byte) (*[]byte, uint32) {
	ev := &s.ev
	switch string(key) {
	case "ph":
		return &ev.Ph, fPh
	case "cat":
		return &ev.Cat, fCat
	case "name":
		return &ev.Name, fName
	case "pid":
		return &ev.PID, fPID
	case "tid":
		return &ev.TID, fTID
	case "ts":
		return &ev.TS, fTS
	case "dur":
		return &ev.Dur, fDur
	}
	return nil, 0
}

// argField returns the RawEvent slot and bit of an args key.
func (s *eventScanner) argField(key []byte) (*[]byte, uint32) {
	ev := &s.ev
	switch string(key) {
	case "External id":
		return &ev.ExternalID, fExternalID
	case "correlation":
		return &ev.Correlation, fCorrelation
	case "stream":
		return &ev.Stream, fStream
	case "cuda_stream":
		return &ev.CudaStream, fCudaStream
	case "graph id":
		return &ev.GraphID, fGraphID
	case "graph node id":
		return &ev.GraphNodeID, fGraphNodeID
	case "kernel":
		return &ev.Kernel, fKernel
	case "name":
		return &ev.ArgName, fArgName
	}
	return nil, 0
}

// value scans a value into *dst as the general extractor would see it:
// string contents (unescaped), the text of a number or literal, nil for
// null. It reports generic=true for objects and arrays, which it leaves to
// the general extractor.
func (s *eventScanner) value(b []byte, i int, dst *[]byte) (end int, generic, ok bool) {
	if i >= len(b) {
		return i, false, false
	}
	switch c := b[i]; c {
	case '"':
		end, esc, ok := scanString(b, i)
		if !ok {
			return end, false, false
		}
		raw := b[i+1 : end-1]
		if !esc {
			*dst = raw
			return end, false, true
		}
		if cap(s.scratch)-len(s.scratch) < len(raw) {
			// Never grow in place: earlier fields of this event view the
			// old array.
			s.scratch = make([]byte, 0, max(2*cap(s.scratch), len(raw), 256))
		}
		n := len(s.scratch)
		s.scratch = unescapeTo(s.scratch, raw)
		*dst = s.scratch[n:len(s.scratch):len(s.scratch)]
		return end, false, true
	case '{', '[':
		end, ok := skipValue(b, i, 1)
		return end, true, ok
	case 'n':
		end, ok := scanLiteral(b, i, "null")
		*dst = nil
		return end, false, ok
	case 't', 'f':
		end, ok := skipValue(b, i, 0)
		*dst = b[i:end]
		return end, false, ok
	default:
		end, ok := scanNumber(b, i)
		*dst = b[i:end]
		return end, false, ok
	}
}

// event scans the event object at b[i] == '{' into s.ev. It returns the
// position after the object, whether the event must go through the general
// extractor (escaped keys, duplicate keys, structured values where strings
// or numbers are expected, non-object args), and whether the text is valid.
func (s *eventScanner) event(b []byte, i int) (end int, generic, ok bool) {
	s.ev = RawEvent{}
	s.scratch = s.scratch[:0]
	if j, seen := s.kinetoHead(b, i); j > 0 {
		// After dur: the rest of the members, or the end.
		j = skipWS(b, j)
		if j < len(b) && b[j] == '}' {
			return j + 1, false, true
		}
		if j >= len(b) || b[j] != ',' {
			return j, false, false
		}
		return s.members(b, skipWS(b, j+1), seen)
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, false, true
	}
	return s.members(b, i, 0)
}

// The first two lines of an "X" event as Kineto writes them, up to the
// values: `{`, then `"ph": "X", "cat": …, "name": …, "pid": …, "tid": …,`
// and `"ts": …, "dur": …` on the next line.
const (
	kinetoHeadStart = "{\n    \"ph\": \"X\", \"cat\": \""
	kinetoName      = ", \"name\": \""
	kinetoPID       = ", \"pid\": "
	kinetoTID       = ", \"tid\": "
	kinetoTS        = ",\n    \"ts\": "
	kinetoDur       = ", \"dur\": "
)

// kinetoHead reads the members ph, cat, name, pid, tid, ts and dur of the
// event at b[i] == '{' when they are written exactly as Kineto writes them
// (strings without escapes, numeric pid, tid, ts and dur), comparing the
// text between the values as a whole instead of scanning it token by
// token. It fills s.ev as the member loop would and returns the position
// after dur's value and the members' bits, or 0 when the event is written
// any other way (the member loop then reads it from the start).
func (s *eventScanner) kinetoHead(b []byte, i int) (int, uint32) {
	j := i + len(kinetoHeadStart)
	if j > len(b) || string(b[i:j]) != kinetoHeadStart {
		return 0, 0
	}
	ev := &s.ev
	ph := j - len(`X", "cat": "`)
	ev.Ph = b[ph : ph+1]
	var ok bool
	if ev.Cat, j, ok = plainString(b, j-1); !ok || !hasAt(b, j, kinetoName) {
		return 0, 0
	}
	if ev.Name, j, ok = plainString(b, j+len(kinetoName)-1); !ok {
		return 0, 0
	}
	for _, f := range [...]struct {
		sep string
		dst *[]byte
	}{{kinetoPID, &ev.PID}, {kinetoTID, &ev.TID}, {kinetoTS, &ev.TS}, {kinetoDur, &ev.Dur}} {
		if !hasAt(b, j, f.sep) {
			return 0, 0
		}
		j += len(f.sep)
		if j >= len(b) || (b[j] != '-' && b[j]-'0' > 9) {
			return 0, 0
		}
		end, ok := scanNumber(b, j)
		if !ok {
			return 0, 0
		}
		*f.dst, j = b[j:end], end
	}
	return j, fPh | fCat | fName | fPID | fTID | fTS | fDur
}

// plainString scans the string at b[i] == '"' and returns its contents,
// the position after it, and false when it holds escapes or is invalid.
func plainString(b []byte, i int) ([]byte, int, bool) {
	end, esc, ok := scanString(b, i)
	if !ok || esc {
		return nil, 0, false
	}
	return b[i+1 : end-1], end, true
}

func hasAt(b []byte, i int, lit string) bool {
	return i+len(lit) <= len(b) && string(b[i:i+len(lit)]) == lit
}

// members scans the members of an event object from b[i], the start of a
// key, into s.ev; seen holds the bits of the members already read.
func (s *eventScanner) members(b []byte, i int, seen uint32) (end int, generic, ok bool) {
	for {
		if i >= len(b) || b[i] != '"' {
			return i, generic, false
		}
		dst, bit, n := s.knownKey(b, i)
		var kesc, isArgs, ok bool
		if n > 0 {
			i = skipWS(b, i+n)
			isArgs = dst == nil
		} else {
			ks := i + 1
			var ke int
			ke, kesc, ok = scanString(b, i)
			if !ok {
				return ke, generic, false
			}
			i = skipWS(b, ke)
			if i >= len(b) || b[i] != ':' {
				return i, generic, false
			}
			i = skipWS(b, i+1)
			key := b[ks : ke-1]
			if !kesc {
				isArgs = string(key) == "args"
				dst, bit = s.field(key)
			}
		}
		switch {
		case kesc:
			generic = true
			i, ok = skipValue(b, i, 1)
		case isArgs:
			if seen&fArgs != 0 {
				generic = true
			}
			seen |= fArgs
			s.ev.HasArgs = true
			if i < len(b) && b[i] == '{' && !generic {
				var g bool
				i, g, ok = s.args(b, i, &seen)
				generic = generic || g
			} else {
				generic = true
				i, ok = skipValue(b, i, 1)
			}
		default:
			switch {
			case dst == nil:
				i, ok = skipValue(b, i, 1)
			case seen&bit != 0:
				generic = true
				i, ok = skipValue(b, i, 1)
			default:
				seen |= bit
				var g bool
				i, g, ok = s.value(b, i, dst)
				generic = generic || g
				if ok && bit == fPh && seen == fPh && !generic && !phKept(s.ev.Ph) {
					// The first key says the event is neither "X" nor
					// "M" (a flow or instant event): the Builder only
					// counts it, and the general extractor, which keeps
					// the first of duplicate keys, would see the same
					// ph. The rest needs only validating.
					if end, ok := skipKinetoFlow(b, i); ok {
						return end, false, true
					}
					end, ok := skipObjectRest(b, i)
					return end, false, ok
				}
			}
		}
		if !ok {
			return i, generic, false
		}
		i = skipWS(b, i)
		if i >= len(b) {
			return i, generic, false
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case '}':
			return i + 1, generic, true
		default:
			return i, generic, false
		}
	}
}

// phKept reports whether the Builder keeps events of phase ph ("X"
// complete events and "M" metadata).
func phKept(ph []byte) bool {
	return len(ph) == 1 && (ph[0] == 'X' || ph[0] == 'M')
}

// args scans the args object at b[i] == '{'.
func (s *eventScanner) args(b []byte, i int, seen *uint32) (end int, generic, ok bool) {
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, false, true
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return i, generic, false
		}
		var ok bool
		dst, bit, n := s.knownArg(b, i)
		if n > 0 {
			i = skipWS(b, i+n)
		} else {
			ks := i + 1
			ke, kesc, ok := scanString(b, i)
			if !ok {
				return ke, generic, false
			}
			i = skipWS(b, ke)
			if i >= len(b) || b[i] != ':' {
				return i, generic, false
			}
			i = skipWS(b, i+1)
			if kesc {
				generic = true
			} else {
				dst, bit = s.argField(b[ks : ke-1])
			}
		}
		switch {
		case dst == nil:
			i, ok = skipValue(b, i, 2)
		case *seen&bit != 0:
			generic = true
			i, ok = skipValue(b, i, 2)
		default:
			*seen |= bit
			var g bool
			i, g, ok = s.value(b, i, dst)
			generic = generic || g
		}
		if !ok {
			return i, generic, false
		}
		i = skipWS(b, i)
		if i >= len(b) {
			return i, generic, false
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case '}':
			return i + 1, generic, true
		default:
			return i, generic, false
		}
	}
}

// chunkStatus says how a chunk of the traceEvents array ended.
type chunkStatus uint8

const (
	// chunkMore: the chunk ended after a ',' (and whitespace): the next
	// chunk continues the array with a value.
	chunkMore chunkStatus = iota
	// chunkEnd: the array's ']' is in this chunk.
	chunkEnd
	// chunkBad: the text is invalid, or a value runs past the chunk's end
	// (the split was not at an event boundary).
	chunkBad
)

// parseChunk scans the entries of a traceEvents chunk and feeds them to b.
// A chunk starts at an event's '{', or, when first is set, just after the
// array's '['. For chunkEnd it also returns the position after ']'.
func (s *eventScanner) parseChunk(data []byte, first bool, b *Builder) (chunkStatus, int) {
	i := skipWS(data, 0)
	if first && i < len(data) && data[i] == ']' {
		return chunkEnd, i + 1
	}
	for {
		if i >= len(data) {
			return chunkMore, i
		}
		if data[i] == '{' {
			start := i
			end, generic, ok := s.event(data, i)
			if !ok {
				return chunkBad, end
			}
			if generic {
				s.generic++
				fillRaw(data[start:end], &s.ev)
			}
			b.Add(&s.ev)
			i = end
		} else {
			end, ok := skipValue(data, i, 0)
			if !ok {
				return chunkBad, end
			}
			b.t.Events++
			b.t.Malformed++
			i = end
		}
		i = skipWS(data, i)
		if i >= len(data) {
			return chunkBad, i // a value must be followed by ',' or ']'
		}
		switch data[i] {
		case ',':
			i = skipWS(data, i+1)
			if i < len(data) && data[i] == ']' {
				return chunkBad, i // trailing comma
			}
		case ']':
			return chunkEnd, i + 1
		default:
			return chunkBad, i
		}
	}
}

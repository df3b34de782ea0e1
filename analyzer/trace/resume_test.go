package trace

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestResumeFromLastAcceptedChunk checks that when the fast path gives up
// inside the events array (here: the text is cut short, or an event
// deep in it is invalid), it hands the general parser the events it
// accepted and the offset of the first entry it did not, so that Load
// does not read the file again from the start; and that the result is the
// general parser's, error and offset included.
func TestResumeFromLastAcceptedChunk(t *testing.T) {
	good := kinetoText(4000)
	bad := bytes.Clone(good)
	badAt := bytes.Index(bad[len(bad)/2:], []byte(`"dur": `)) + len(bad)/2 + len(`"dur": `)
	bad[badAt] = 'x'
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"truncated", good[:len(good)*3/4], "truncated: the JSON text ends early at byte offset"},
		{"invalid", bad, "invalid character 'x'"},
		// The array ends but the text after it is bad: the fast path cannot
		// resume there and gives the whole file to the general parser.
		{"bad-trailer", append(bytes.Clone(good), 'x'), "invalid character 'x' looking for beginning of value"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, ferr := fastDirect(tc.data, 2, 4096)
			rf, resumed := errors.AsType[*resumeFrom](ferr)
			if resumed != (tc.name != "bad-trailer") {
				t.Fatalf("fast path error %v: resumable %v", ferr, resumed)
			}
			if resumed {
				if rf.at < int64(len(tc.data))/4 || rf.at >= int64(len(tc.data)) {
					t.Errorf("resumes at %d of %d bytes; want past the chunks it accepted", rf.at, len(tc.data))
				}
				if c := tc.data[rf.at]; c != '{' {
					t.Errorf("resumes at %q, not at an entry", c)
				}
				if n := bytes.Count(tc.data[:rf.at], []byte(`"ph": "X"`)); len(rf.t.Kernels) != n {
					t.Errorf("%d kernels before the resume point, want %d", len(rf.t.Kernels), n)
				}
			}
			path := writeTemp(t, tc.name+".json", tc.data)
			_, werr := Load(context.Background(), path, Options{General: true})
			_, gerr := Load(context.Background(), path, Options{})
			if werr == nil || gerr == nil || werr.Error() != gerr.Error() {
				t.Fatalf("errors differ:\n general %v\n Load    %v", werr, gerr)
			}
			if !bytes.Contains([]byte(gerr.Error()), []byte(tc.want)) {
				t.Errorf("error %q lacks %q", gerr, tc.want)
			}
		})
	}
}

// TestSyntaxErrorPosition checks that errors name the byte they are about
// whatever the decoder had buffered: a missing comma before a long event
// is reported at the event, not at the end of the decoder's buffer.
func TestSyntaxErrorPosition(t *testing.T) {
	ev := `{"ph": "X", "cat": "kernel", "name": "` + string(bytes.Repeat([]byte("k"), 5000)) + `", "ts": 1, "dur": 1}`
	for _, tc := range []struct {
		name, text, at string
	}{
		{"missing-comma", `{"traceEvents": [` + ev + " " + ev + `]}`, ev + `]}`},
		{"missing-colon", `{"traceEvents" [` + ev + `]}`, `[` + ev},
		{"value-for-comma", `{"traceEvents": [` + ev + `], "a": 1 "b": 2}`, `"b": 2}`},
		{"junk-after-number", `{"traceEvents": [` + ev + `], "a": 12x}`, `x}`},
		{"inside-event", `{"traceEvents": [` + ev[:100] + "\x01" + ev[100:] + `]}`, "\x01"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := int64(len(tc.text) - len(tc.text[bytes.LastIndex([]byte(tc.text), []byte(tc.at)):]))
			err := parseGeneral(context.Background(), bytes.NewReader([]byte(tc.text)), NewBuilder("p"))
			if !errors.Is(err, ErrInvalidJSON) {
				t.Fatalf("error %v, want invalid JSON", err)
			}
			if got := offsetOf(t, err); got != want {
				t.Errorf("offset %d, want %d: %v", got, want, err)
			}
		})
	}
}

func offsetOf(t *testing.T, err error) int64 {
	t.Helper()
	var off int64
	msg := err.Error()
	i := bytes.Index([]byte(msg), []byte("byte offset "))
	if i < 0 {
		t.Fatalf("no offset in %q", msg)
	}
	for _, c := range msg[i+len("byte offset "):] {
		if c < '0' || c > '9' {
			break
		}
		off = off*10 + int64(c-'0')
	}
	return off
}

// TestLoadPartial checks Options.Partial: a file cut short gives every
// complete event before the cut and says where the text ended; a whole
// file is unchanged, and other errors still fail.
func TestLoadPartial(t *testing.T) {
	data := kinetoText(3000)
	const evEnd = "\n    }\n  }" // the end of each event of kinetoText
	for _, cut := range []int{len(data) / 10, len(data) / 2, len(data) - 40} {
		path := writeTemp(t, "cut.json", data[:cut])
		tr, err := Load(context.Background(), path, Options{Partial: true})
		if err != nil {
			t.Fatalf("cut at %d: %v", cut, err)
		}
		if want := bytes.Count(data[:cut], []byte(evEnd)); len(tr.Kernels) != want {
			t.Errorf("cut at %d: %d kernels, want the %d complete events", cut, len(tr.Kernels), want)
		}
		if want := fmt.Sprintf("the JSON text ends early at byte offset %d", cut); !strings.Contains(tr.Incomplete, want) {
			t.Errorf("cut at %d: Incomplete %q lacks %q", cut, tr.Incomplete, want)
		}
		if tr.Bytes != int64(cut) {
			t.Errorf("cut at %d: Bytes %d", cut, tr.Bytes)
		}
		if _, err := Load(context.Background(), path, Options{}); !errors.Is(err, ErrTruncated) {
			t.Errorf("cut at %d without Partial: %v, want ErrTruncated", cut, err)
		}
	}

	gz := gzipBytes(t, data)
	tr, err := Load(context.Background(), writeTemp(t, "cut.json.gz", gz[:len(gz)*2/3]), Options{Partial: true})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(tr.Kernels); n == 0 || n >= 3000 || !strings.Contains(tr.Incomplete, "the gzip stream ends early") {
		t.Errorf("cut gzip: %d kernels, Incomplete %q", n, tr.Incomplete)
	}

	whole, err := Load(context.Background(), writeTemp(t, "whole.json", data), Options{Partial: true})
	if err != nil || whole.Incomplete != "" || len(whole.Kernels) != 3000 {
		t.Errorf("whole file with Partial: err %v, Incomplete %q, %d kernels", err, whole.Incomplete, len(whole.Kernels))
	}
	bad := bytes.Replace(bytes.Clone(data), []byte(`"dur": 2.25`), []byte(`"dur": x.25`), 1)
	if _, err := Load(context.Background(), writeTemp(t, "bad.json", bad), Options{Partial: true}); !errors.Is(err, ErrInvalidJSON) {
		t.Errorf("invalid file with Partial: %v, want ErrInvalidJSON", err)
	}
}

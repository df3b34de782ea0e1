package trace

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
)

func gzipBytes(t testing.TB, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeTemp(t testing.TB, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// kinetoText returns a small trace in Kineto's layout with n kernel events.
func kinetoText(n int) []byte {
	var b bytes.Buffer
	b.WriteString("{\n  \"schemaVersion\": 1,\n  \"traceEvents\": [")
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("\n  {\n    \"ph\": \"X\", \"cat\": \"kernel\", \"name\": \"k" + strconv.Itoa(i%7) + "\", \"pid\": 0, \"tid\": 7,\n")
		b.WriteString("    \"ts\": " + strconv.Itoa(1000+i) + ".5, \"dur\": 2.25,\n    \"args\": {\n      \"correlation\": " + strconv.Itoa(i) + ", \"stream\": 7\n    }\n  }")
	}
	b.WriteString("\n  ],\n  \"traceName\": \"t\"\n}\n")
	return b.Bytes()
}

// TestLoadErrors checks that bad files give one clear line naming the file,
// through both parsers and from plain and gzip files.
func TestLoadErrors(t *testing.T) {
	good := kinetoText(2000)
	bad := bytes.Clone(good)
	badAt := bytes.Index(bad, []byte(`"k3"`)) + 30000 // an offset deep in the file
	badAt = bytes.IndexByte(bad[badAt:], ':') + badAt + 2
	bad[badAt] = 'x'
	cases := []struct {
		name string
		data []byte
		is   error
		want []string
	}{
		{"empty", nil, ErrNotTrace, []string{"empty"}},
		{"blank", []byte(" \n\t"), ErrNotTrace, []string{"empty"}},
		{"not-json", []byte("hello"), ErrNotTrace, []string{"starts with"}},
		{"no-events", []byte(`{"schemaVersion": 1}`), ErrNotTrace, []string{"no traceEvents"}},
		{"events-not-array", []byte(`{"traceEvents": {}}`), ErrNotTrace, []string{"not an array"}},
		{"truncated-json", good[:len(good)*2/3], ErrTruncated, []string{"ends early at byte offset " + strconv.Itoa(len(good)*2/3)}},
		{"invalid-json", bad, ErrInvalidJSON, []string{"byte offset " + strconv.Itoa(badAt), "invalid character 'x'"}},
		{"trailing-garbage", append(bytes.Clone(good), "x"...), ErrInvalidJSON, []string{"byte offset " + strconv.Itoa(len(good))}},
	}
	for _, tc := range cases {
		for _, gz := range []bool{false, true} {
			data, name := tc.data, tc.name+".json"
			if gz {
				data, name = gzipBytes(t, data), name+".gz"
			}
			path := writeTemp(t, name, data)
			for _, general := range []bool{false, true} {
				t.Run(name+"/general="+strconv.FormatBool(general), func(t *testing.T) {
					_, err := Load(context.Background(), path, Options{General: general})
					checkErr(t, err, path, tc.is, tc.want)
				})
			}
		}
	}
}

func checkErr(t *testing.T, err error, path string, is error, want []string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	if !errors.Is(err, is) {
		t.Errorf("error %q is not %v", msg, is)
	}
	if !strings.HasPrefix(msg, "load "+path+": ") || strings.Contains(msg, "\n") {
		t.Errorf("error %q is not one line starting with load <path>", msg)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q does not say %q", msg, w)
		}
	}
}

func TestLoadTruncatedGzip(t *testing.T) {
	z := gzipBytes(t, kinetoText(5000))
	for _, cut := range []int{len(z) / 2, len(z) - 4, 12} {
		path := writeTemp(t, "cut.json.gz", z[:cut])
		for _, general := range []bool{false, true} {
			_, err := Load(context.Background(), path, Options{General: general})
			checkErr(t, err, path, ErrTruncated, []string{"gzip stream ends early"})
		}
	}
	corrupt := bytes.Clone(z)
	corrupt[len(corrupt)-6] ^= 0xff // the CRC
	path := writeTemp(t, "crc.json.gz", corrupt)
	for _, general := range []bool{false, true} {
		_, err := Load(context.Background(), path, Options{General: general})
		if err == nil || !strings.Contains(err.Error(), "gzip") || !strings.HasPrefix(err.Error(), "load "+path) {
			t.Errorf("corrupt gzip: %v", err)
		}
	}
}

func TestLoadMissingAndDirectory(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(context.Background(), filepath.Join(dir, "nope.json"), Options{})
	checkErr(t, err, filepath.Join(dir, "nope.json"), ErrNotFound, []string{"check the path"})
	_, err = Load(context.Background(), dir, Options{})
	if err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("directory: %v", err)
	}
}

func TestLoadCancel(t *testing.T) {
	path := writeTemp(t, "c.json", kinetoText(20000))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, general := range []bool{false, true} {
		_, err := Load(ctx, path, Options{General: general})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("general=%v: got %v, want context.Canceled", general, err)
		}
	}
}

// TestLoadProgress checks that Progress reports the bytes of the file read,
// ending at its size, with both parsers.
func TestLoadProgress(t *testing.T) {
	data := kinetoText(20000) // several blocks
	for _, gz := range []bool{false, true} {
		d, name := data, "p.json"
		if gz {
			d, name = gzipBytes(t, data), "p.json.gz"
		}
		path := writeTemp(t, name, d)
		for _, general := range []bool{false, true} {
			var last, total int64
			calls := 0
			tr, err := Load(context.Background(), path, Options{General: general, Progress: func(done, size int64) {
				if done < last {
					t.Errorf("progress went back from %d to %d", last, done)
				}
				last, total = done, size
				calls++
			}})
			if err != nil {
				t.Fatal(err)
			}
			if calls == 0 || last != int64(len(d)) || total != int64(len(d)) {
				t.Errorf("%s general=%v: %d calls, last %d of %d; want the file size %d", name, general, calls, last, total, len(d))
			}
			if tr.Bytes != int64(len(data)) {
				t.Errorf("%s general=%v: Bytes %d, want %d", name, general, tr.Bytes, len(data))
			}
		}
	}
}

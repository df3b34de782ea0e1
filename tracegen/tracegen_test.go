package tracegen

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tracetriage/tracetriage/analyzer/trace"
)

// TestTruthMatchesLoadedTrace writes a trace per framework and checks that
// the loader sees exactly the kernels, durations and launch chain the
// generator recorded as ground truth.
func TestTruthMatchesLoadedTrace(t *testing.T) {
	for _, fw := range []string{"sglang", "vllm", "trtllm"} {
		for _, stage := range []string{"decode", "extend"} {
			t.Run(fw+"-"+stage, func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "t.json")
				f, err := os.Create(path)
				if err != nil {
					t.Fatal(err)
				}
				truth, err := Write(f, Options{Framework: fw, Stage: stage, Steps: 2, Layers: 3, Seed: 7})
				if err != nil {
					t.Fatal(err)
				}
				f.Close()
				tr, err := trace.Load(context.Background(), path, trace.Options{})
				if err != nil {
					t.Fatal(err)
				}
				if tr.Events != truth.Events {
					t.Errorf("events: loaded %d, truth %d", tr.Events, truth.Events)
				}
				got := map[string]int64{}
				count := map[string]int{}
				for _, k := range tr.Kernels {
					n := tr.S(k.Name)
					got[n] += k.Dur
					count[n]++
				}
				if len(got) != len(truth.Kernels) {
					t.Fatalf("distinct kernels: loaded %d, truth %d", len(got), len(truth.Kernels))
				}
				for _, k := range truth.Kernels {
					if got[k.Name] != k.TotalNS || count[k.Name] != k.Launches {
						t.Errorf("%s: loaded %d ns in %d launches, truth %d ns in %d", k.Name, got[k.Name], count[k.Name], k.TotalNS, k.Launches)
					}
				}
				if len(tr.Launches) != len(tr.Kernels) {
					t.Errorf("every kernel has one launch: %d launches, %d kernels", len(tr.Launches), len(tr.Kernels))
				}
				if tr.Meta.WorldSize != 2 || len(tr.Meta.DeviceNames) != 1 {
					t.Errorf("meta: %+v", tr.Meta)
				}
			})
		}
	}
}

func TestTargetBytes(t *testing.T) {
	var buf bytes.Buffer
	truth, err := Write(&buf, Options{Framework: "sglang", TargetBytes: 2_000_000})
	if err != nil {
		t.Fatal(err)
	}
	if n := int64(buf.Len()); n < 2_000_000 || n > 2_400_000 || n != truth.Bytes {
		t.Fatalf("wrote %d bytes (truth says %d), want about 2 MB", n, truth.Bytes)
	}
}

func TestDeterministic(t *testing.T) {
	var a, b bytes.Buffer
	if _, err := Write(&a, Options{Framework: "vllm", Seed: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(&b, Options{Framework: "vllm", Seed: 3}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("same seed wrote different traces")
	}
}

func TestBadOptions(t *testing.T) {
	for _, o := range []Options{{Framework: "tgi"}, {Framework: "sglang", Stage: "train"}, {Framework: "vllm", TargetBytes: -1}} {
		if _, err := Write(&bytes.Buffer{}, o); !errors.Is(err, ErrOptions) {
			t.Errorf("%+v: got %v, want ErrOptions", o, err)
		}
	}
}

func TestParseSize(t *testing.T) {
	cases := map[string]int64{"100MB": 100e6, "1GB": 1e9, "1.5g": 1.5e9, "512k": 512e3, "2048": 2048, "1MiB": 1 << 20}
	for in, want := range cases {
		got, err := ParseSize(in)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "abc", "-1MB", "1TBB"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) succeeded", bad)
		}
	}
}

// failAfter accepts n bytes, then fails every write, like a full disk.
type failAfter struct{ n int }

func (f *failAfter) Write(p []byte) (int, error) {
	if len(p) > f.n {
		k := f.n
		f.n = 0
		return k, errors.New("no space left on device")
	}
	f.n -= len(p)
	return len(p), nil
}

// A write error with a target size ends the run with that error instead
// of generating steps forever.
func TestWriteErrorStopsSizedRun(t *testing.T) {
	done := make(chan error, 1)
	go func() {
		_, err := Write(&failAfter{n: 3 << 20}, Options{Framework: "sglang", TargetBytes: 1 << 40})
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "no space left") {
			t.Errorf("err = %v; want the writer's error", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Write kept going after its writer failed")
	}
}

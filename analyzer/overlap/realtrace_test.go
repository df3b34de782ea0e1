package overlap

import (
	"bufio"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/tracetriage/tracetriage/internal/testutil"
)

// sourcesComm is the communication characterisation of one trace in
// traces/SOURCES.md: communication kernel time and the part of it that
// compute on other streams overlaps (trace units, µs).
type sourcesComm struct {
	kernels          int
	time, overlapped float64
}

var sourcesCommLine = regexp.MustCompile(`comm kernels: (\d+) on \[[^\]]*\], time ([0-9.]+), overlap ([0-9.]+)`)

// readSourcesComm parses SOURCES.md into trace path (relative to traces/)
// → communication characterisation.
func readSourcesComm(t *testing.T) map[string]sourcesComm {
	t.Helper()
	f, err := os.Open(testutil.SharedFile(t, "traces/SOURCES.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]sourcesComm{}
	var current string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "## `") {
			current = strings.Trim(strings.TrimPrefix(line, "## "), "`")
			continue
		}
		if m := sourcesCommLine.FindStringSubmatch(line); m != nil && current != "" {
			n, _ := strconv.Atoi(m[1])
			tm, _ := strconv.ParseFloat(m[2], 64)
			ov, _ := strconv.ParseFloat(m[3], 64)
			out[current] = sourcesComm{kernels: n, time: tm, overlapped: ov}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRealTracesCommOverlapMatchesSources checks, on every real trace with
// GPU kernels, that the share of communication time overlapped by
// computation on other streams agrees with the characterisation in
// traces/SOURCES.md within 1 percentage point, and that the communication
// kernel time itself agrees within 1%.
func TestRealTracesCommOverlapMatchesSources(t *testing.T) {
	want := readSourcesComm(t)
	if len(want) < 20 {
		t.Fatalf("SOURCES.md: parsed %d trace characterisations, want at least 20", len(want))
	}
	files := []string{
		"distributed/hta_sampled_rank-0.json.gz",
		"distributed/hta_sampled_rank-1.json.gz",
		"distributed/hta_rank0_ws16_sendrecv_6streams.json.gz",
		"distributed/hta_nccl_metadata_rank0_ws2.json.gz",
		"distributed/hta_rank1_ws2_2020_nccl_allreduce.json.gz",
		"format-edge/hta_event_sync_multi_stream.json.gz",
		"format-edge/hta_large_integer_rank-70.pt.trace.json.gz",
	}
	serving, _ := filepath.Glob(filepath.Join(testutil.SharedDir(t), "traces", "llm-serving", "*.json*"))
	for _, p := range serving {
		files = append(files, "llm-serving/"+filepath.Base(p))
	}
	for _, rel := range files {
		t.Run(rel, func(t *testing.T) {
			w, ok := want[rel]
			if !ok {
				t.Fatalf("SOURCES.md has no characterisation of %s", rel)
			}
			kernels := loadTestKernels(t, testutil.SharedFile(t, "traces/"+rel))
			if len(kernels) == 0 {
				t.Fatal("no kernels loaded")
			}
			b := BreakdownOf(kernels)
			t.Logf("comm %.1f us (SOURCES %.1f), overlapped %.1f us = %.2f%% (SOURCES %.1f = %.2f%%), exposed %.1f us",
				b.CommunicationKernelUS, w.time, b.CommunicationOverlappedUS, b.CommunicationOverlappedPct,
				w.overlapped, 100*ratio(w.overlapped, w.time), b.ExposedCommunicationUS)
			if w.time == 0 {
				if b.CommunicationKernelUS != 0 {
					t.Errorf("communication kernel time = %.1f us, SOURCES.md has none", b.CommunicationKernelUS)
				}
				return
			}
			if math.Abs(b.CommunicationKernelUS-w.time) > 0.01*w.time {
				t.Errorf("communication kernel time = %.1f us, SOURCES.md %.1f", b.CommunicationKernelUS, w.time)
			}
			wantPct := 100 * w.overlapped / w.time
			if math.Abs(b.CommunicationOverlappedPct-wantPct) > 1 {
				t.Errorf("communication overlapped by computation = %.2f%%, SOURCES.md %.2f%% (more than 1 point apart)",
					b.CommunicationOverlappedPct, wantPct)
			}
			if b.ExposedCommunicationUS > b.CommunicationUS+1e-6 {
				t.Errorf("exposed communication %.1f > communication %.1f", b.ExposedCommunicationUS, b.CommunicationUS)
			}
		})
	}
}

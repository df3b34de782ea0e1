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
	files := realTraceFiles(t)
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

// realTraceFiles lists the real traces with GPU kernels (paths relative to
// traces/): the distributed ones, the multi-stream and large-integer
// format edges, and every llm-serving trace.
func realTraceFiles(t *testing.T) []string {
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
	if len(serving) < 10 {
		t.Fatalf("found %d llm-serving traces, want 10", len(serving))
	}
	return files
}

// TestRealTracesAnalyze runs the whole analysis on every real trace and
// checks what must hold on any input: the sweep accounts for every
// nanosecond, the rows obey the selection rules, and the analysis and the
// breakdown agree.
func TestRealTracesAnalyze(t *testing.T) {
	for _, rel := range realTraceFiles(t) {
		t.Run(rel, func(t *testing.T) {
			kernels := loadTestKernels(t, testutil.SharedFile(t, "traces/"+rel))
			res := Analyze(kernels, Options{})
			b := res.Breakdown
			if res.BusyUS != b.BusyUS || res.ConcurrentUS != b.ConcurrentUS {
				t.Errorf("analysis busy/concurrent %v/%v, breakdown %v/%v", res.BusyUS, res.ConcurrentUS, b.BusyUS, b.ConcurrentUS)
			}
			if b.BusyUS > b.SpanUS || b.BusyUS > b.KernelTimeUS+1e-6 || b.IdleUS < 0 {
				t.Errorf("busy %v, span %v, kernel time %v, idle %v", b.BusyUS, b.SpanUS, b.KernelTimeUS, b.IdleUS)
			}
			var sumNS int64
			launches := 0
			for _, f := range res.Families {
				if f.hiddenNS+f.exclNS != f.totalNS {
					t.Errorf("%s: hidden %d + exclusive %d ns != total %d ns", f.Name, f.hiddenNS, f.exclNS, f.totalNS)
				}
				if f.hbcNS > f.hiddenNS {
					t.Errorf("%s: hidden by compute %d > hidden %d", f.Name, f.hbcNS, f.hiddenNS)
				}
				sumNS += f.totalNS
				launches += f.Launches
			}
			if us(sumNS) != b.KernelTimeUS || launches != len(kernels) {
				t.Errorf("families hold %v us in %d launches, breakdown %v us, %d kernels", us(sumNS), launches, b.KernelTimeUS, len(kernels))
			}
			if b.Streams == 1 && (res.ConcurrentUS != 0 || b.CommunicationOverlappedUS != 0) {
				t.Errorf("one stream but %v us concurrent, %v us comm overlapped", res.ConcurrentUS, b.CommunicationOverlappedUS)
			}
			verdicts := map[string]int{}
			for i, r := range res.Rows {
				verdicts[r.Verdict]++
				if r.SharePct < MinSharePct || r.GPUTimeUS < minFamilyUS {
					t.Errorf("row %d %s: share %.2f%%, %.1f us", i, r.Kernel, r.SharePct, r.GPUTimeUS)
				}
				switch r.Verdict {
				case VerdictHeadroom:
					if r.ExclusivePct < 100*headroomExclusiveRatio {
						t.Errorf("headroom row %s is %.1f%% exclusive", r.Kernel, r.ExclusivePct)
					}
				case VerdictLowROIHidden:
					if r.HiddenPct < 100*hiddenRatioLowROI || (r.Category != Elementwise && r.Category != Memory) {
						t.Errorf("low-roi-hidden row %s: %s, %.1f%% hidden", r.Kernel, r.Category, r.HiddenPct)
					}
				default:
					t.Errorf("row %s has verdict %q", r.Kernel, r.Verdict)
				}
				if i > 0 && r.Verdict == VerdictHeadroom && res.Rows[i-1].Verdict != VerdictHeadroom {
					t.Errorf("headroom row %s after a low-roi-hidden row", r.Kernel)
				}
				if kernels[r.Representative].Name != r.Kernel {
					t.Errorf("row %s: representative is %s", r.Kernel, kernels[r.Representative].Name)
				}
				if math.Abs(r.ExclusivePct+r.HiddenPct-100) > 1e-6 {
					t.Errorf("row %s: exclusive %.3f + hidden %.3f != 100", r.Kernel, r.ExclusivePct, r.HiddenPct)
				}
			}
			if verdicts[VerdictHeadroom] > maxRowsPerVerdict || verdicts[VerdictLowROIHidden] > maxRowsPerVerdict {
				t.Errorf("verdict counts %v exceed %d", verdicts, maxRowsPerVerdict)
			}
		})
	}
}

// TestRealTraceNCCLStreamRows checks the rows where the answer is known
// from the trace's characterisation: on hta_sampled_rank-0 the NCCL
// send/recv kernels run on their own streams and compute hides about 15% of
// them, so they are the top row, exposed, and worth overlapping; on the
// vLLM B200 trace everything runs on one stream, so nothing is hidden and
// the inline all-reduce is exposed with its neighbours depending on it.
func TestRealTraceNCCLStreamRows(t *testing.T) {
	ks := loadTestKernels(t, testutil.SharedFile(t, "traces/distributed/hta_sampled_rank-0.json.gz"))
	res := Analyze(ks, Options{})
	top := res.Rows[0]
	if !strings.HasPrefix(top.Kernel, "ncclKernel_SendRecv") || top.Category != Communication ||
		top.Verdict != VerdictHeadroom || top.Priority != "P1" || top.Recommendation != "try overlap" {
		t.Fatalf("top row = %+v, want the NCCL send/recv, communication headroom, P1 try overlap", top)
	}
	b := res.Breakdown
	// The family holds all the communication: hidden by strict compute
	// <= overlapped by computation <= hidden by anything.
	if top.GPUTimeUS != b.CommunicationKernelUS ||
		top.HiddenByComputeUS > b.CommunicationOverlappedUS+1e-6 || b.CommunicationOverlappedUS > top.HiddenUS+1e-6 {
		t.Errorf("NCCL row %.1f us, hidden %.1f (by compute %.1f); breakdown comm %.1f, overlapped %.1f",
			top.GPUTimeUS, top.HiddenUS, top.HiddenByComputeUS, b.CommunicationKernelUS, b.CommunicationOverlappedUS)
	}
	if top.HiddenPct < 14 || top.HiddenPct > 20 {
		t.Errorf("NCCL hidden %.1f%%, want about 15%% (SOURCES.md: 14.9%% by compute)", top.HiddenPct)
	}

	ks = loadTestKernels(t, testutil.SharedFile(t, "traces/llm-serving/vllm_b200_gptoss_tp8_rank0_eager.json.gz"))
	res = Analyze(ks, Options{})
	for _, f := range res.Families {
		if f.HiddenUS != 0 {
			t.Errorf("%s hidden %v us on a one-stream trace", f.Name, f.HiddenUS)
		}
	}
	top = res.Rows[0]
	if !strings.Contains(top.Kernel, "multimem_all_reduce_kernel") || top.Category != Communication ||
		top.ExclusivePct != 100 || top.DepRisk != RiskHigh || top.Recommendation != "check deps" {
		t.Errorf("vLLM top row = %+v, want the exposed multimem all-reduce with high dependency risk", top)
	}
}

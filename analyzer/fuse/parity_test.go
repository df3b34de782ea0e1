package fuse

import (
	"fmt"
	"strings"
	"testing"
)

// Parity with the reference outputs (../shared/reference/python-skill).
//
// Each output's Kernel Table rows are the input (rows under 1% are not
// printed there, so Match sees only the printed ones); the expected rows are
// the output's Fuse Opportunity Table, changed only by the documented
// differences (docs/fusion.md, D1-D10, each with its own test in
// differences_test.go). A reference row that Match must not return is listed
// with the reason.

type parityRow struct {
	pattern, confidence string
	sharePct            float64
	evidence            []string // substrings of the evidence kernels, in order
	// diff names the documented differences that make this row differ from
	// the reference; "" means the row must equal the reference's.
	diff string
}

type parityCase struct {
	file string
	// want lists, per stage, the rows Match must return, in order.
	want map[string][]parityRow
	// absent lists, per stage, reference rows Match must not return here, with
	// the reason: a documented difference, or kernels under 1% that the
	// reference output does not print.
	absent map[string]map[string]string
}

const (
	diffKV      = "D1 attention is not a KV-cache write"
	diffApplied = "D2 applied fusions are Already fused"
	diffQuant   = "D3 quantisation keywords"
	diffByName  = "D4 fused kernels recognised by name"
	diffVendor  = "D5 vendor fused add + RMSNorm"
)

var parityCases = []parityCase{
	{file: "hf-transformers_h100_qwen1.5-0.5b-chat.json.gz.txt", want: map[string][]parityRow{"": nil}},
	{file: "nanovllm_rtx4080_qwen3_decode_gpu_0.json.txt", want: map[string][]parityRow{"": nil}},
	{file: "sglang_b300_deepseek-r1_1782843274.7730265-TP-0-DECODE.trace.json.gz.txt", want: map[string][]parityRow{
		"decode": {
			{patRopeKV, ConfidenceConfirmed, 12.5 - 8.8, []string{"fused_rope_kernel", "store_kvcache"}, diffKV},
			{patRMSNorm, ConfidenceAlreadyFused, 6.5, []string{"FusedAddRMSNormKernel"}, diffApplied},
			{patActMul, ConfidenceAlreadyFused, 3.0, []string{"act_and_mul_kernel"}, diffByName},
		},
	}},
	{file: "sglang_mi300x_deepseek-r1_1782841132.2905657-TP-0-DECODE.trace.json.gz.txt", want: map[string][]parityRow{
		"decode": {
			{patRopeKV, ConfidenceConfirmed, 3.6 + 4.9, []string{"rotary_embedding_kernel", "store_kvcache"}, diffKV},
			{patRMSNorm, ConfidenceAlreadyFused, 10.9, []string{"add_rmsnorm_quant_kernel"}, diffVendor},
			{patActMul, ConfidenceAlreadyFused, 5.1, []string{"act_and_mul_kernel"}, diffByName},
		},
	}},
	{file: "sglang_mi300x_qwen3-8b_decode_graph_capture_bs32_rank0.json.gz.txt", want: map[string][]parityRow{"decode": nil}},
	{file: "sglang_mi300x_qwen3-8b_decode_graph_replay.json.gz.txt", want: map[string][]parityRow{
		"decode": {
			{patRopeKV, ConfidenceConfirmed, 23.7 - 19.9, []string{"rotary_embedding_kernel", "store_kvcache"}, diffKV},
			{patRMSNorm, ConfidenceAlreadyFused, 3.5, []string{"add_rmsnorm_quant_kernelIDF16bDF16bLi256ELi16ELb1"}, diffVendor},
			{patActMul, ConfidenceAlreadyFused, 3.3, []string{"act_and_mul_kernel"}, diffByName},
		},
	}},
	{file: "sglang_mi300x_qwen3-8b_prefilldecode.json.gz.txt",
		want: map[string][]parityRow{
			"extend/prefill": {
				{patActMul, ConfidenceAlreadyFused, 2.6, []string{"act_and_mul_kernel"}, diffApplied},
				{patRMSNorm, ConfidenceAlreadyFused, 1.6, []string{"add_rmsnorm_quant_kernelIDF16bDF16bLi256ELi16ELb1"}, diffVendor},
			},
			"all": {
				{patActMul, ConfidenceAlreadyFused, 3.4, []string{"act_and_mul_kernel"}, diffApplied},
				{patRMSNorm, ConfidenceAlreadyFused, 1.8, []string{"add_rmsnorm_quant_kernelIDF16bDF16bLi256ELi16ELb1"}, diffVendor},
			},
		},
		absent: map[string]map[string]string{
			// 6.3% = rotary 1.0% + attention 4.3% (D1) + 1.0% of rows under 1%.
			"extend/prefill": {patRopeKV: "without the attention kernel (D1) its KV-cache writes are all under 1% and not printed"},
			// 5.9% = attention 4.0% (D1) + 1.9% of rows under 1%.
			"all": {patRopeKV: "without the attention kernel (D1) every related row is under 1% and not printed"},
		}},
	{file: "vllm_b200_gptoss_tp8_rank0_eager.json.gz.txt",
		want: map[string][]parityRow{
			"extend/prefill": {
				{patVLLMAddNorm, ConfidenceAlreadyFused, 3.9, []string{"fused_add_rms_norm_kernel"}, diffApplied},
			},
		},
		absent: map[string]map[string]string{
			// D3 removes the unquantised GEMMs, the MoE's input quantisation,
			// the KV-cache write and the metadata copies; the only quantisation
			// kernel left (scaled_fp8_quant, 0.9%) is not printed.
			"extend/prefill": {patAttnQuant: "D3 leaves only an unprinted quantisation kernel (under 1%)"},
		}},
	{file: "vllm_mi300_gptoss_full-graph_capture_rank_0.1773709742341309550.pt.trace.json.gz.txt", want: map[string][]parityRow{"": nil}},
	{file: "vllm_mi300_gptoss_full-graph_decode_replay.json.gz.txt",
		want: map[string][]parityRow{
			"": {
				{patVLLMAddNorm, ConfidenceAlreadyFused, 3.0, []string{"Rmsnorm2dFusedAddEnumE1"}, diffVendor},
			},
		},
		absent: map[string]map[string]string{
			// The trace has no quantisation kernel at all (reference README, item 6).
			"": {patRMSQuant: "D3: no quantisation kernel is left"},
		}},
}

// shareTol allows for the one-decimal rounding of each printed share.
func shareTol(n int) float64 { return 0.05*float64(n+1) + 1e-9 }

func TestParityWithReference(t *testing.T) {
	c := mustDefault(t)
	for _, pc := range parityCases {
		t.Run(strings.TrimSuffix(pc.file, ".txt"), func(t *testing.T) {
			ref := readReference(t, referencePath(t, pc.file))
			if len(ref.order) != len(pc.want) {
				t.Fatalf("reference stages %q, expectations for %d", ref.order, len(pc.want))
			}
			for _, stage := range ref.order {
				want, ok := pc.want[stage]
				if !ok {
					t.Fatalf("no expectation for stage %q", stage)
				}
				st := ref.stages[stage]
				ks, total := st.input()
				got := c.Match(ks, Context{Framework: ref.framework, StageTotalUS: total})
				checkParityStage(t, stage, st, got, want, pc.absent[stage])
			}
		})
	}
}

func checkParityStage(t *testing.T, stage string, st *refStage, got []Opportunity, want []parityRow, absent map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("[%s] got %q, want %d rows", stage, patterns(got), len(want))
		return
	}
	refByName := map[string]refFuse{}
	for _, r := range st.fuse {
		refByName[r.pattern] = r
	}
	// Every reference row is either expected or explained.
	for _, r := range st.fuse {
		found := false
		for _, w := range want {
			found = found || w.pattern == r.pattern
		}
		if !found && absent[r.pattern] == "" {
			t.Errorf("[%s] reference row %q is neither expected nor explained", stage, r.pattern)
		}
	}
	for i, w := range want {
		o := got[i]
		prefix := fmt.Sprintf("[%s] row %d %q", stage, i, w.pattern)
		if o.Pattern != w.pattern || o.Confidence != w.confidence {
			t.Errorf("%s: got %s|%s, want %s", prefix, o.Pattern, o.Confidence, w.confidence)
			continue
		}
		if !near(o.SharePct, w.sharePct, shareTol(len(w.evidence))) {
			t.Errorf("%s: share %.2f%%, want %.1f%%", prefix, o.SharePct, w.sharePct)
		}
		if len(o.Evidence) != len(w.evidence) {
			t.Errorf("%s: evidence %q, want %d kernels", prefix, evidenceNames(o), len(w.evidence))
		} else {
			for j, sub := range w.evidence {
				if !strings.Contains(o.Evidence[j].Kernel, sub) {
					t.Errorf("%s: evidence %d is %q, want one containing %q", prefix, j, o.Evidence[j].Kernel, sub)
				}
			}
		}
		r, inRef := refByName[w.pattern]
		if !inRef {
			if w.diff == "" {
				t.Errorf("%s: not in the reference, so it must name the difference that adds it", prefix)
			}
			continue
		}
		// Cells that no documented difference touches must equal the
		// reference's.
		if strings.Join(o.CandidatePaths, "\n") != strings.Join(r.candidatePaths, "\n") {
			t.Errorf("%s: candidate paths %q, reference %q", prefix, o.CandidatePaths, r.candidatePaths)
		}
		for _, e := range o.Evidence {
			ok := false
			for _, re := range r.evidence {
				ok = ok || (re.Kernel == e.Kernel && near(re.SharePct, e.SharePct, 0.05+1e-9))
			}
			if !ok {
				t.Errorf("%s: evidence %q (%.2f%%) is not among the reference's", prefix, e.Kernel, e.SharePct)
			}
		}
		for _, l := range o.CurrentLocations {
			ok := false
			for _, rl := range r.locations {
				ok = ok || rl == l
			}
			if !ok {
				t.Errorf("%s: location %q is not among the reference's %q", prefix, l, r.locations)
			}
		}
		if w.diff == "" && (o.Confidence != r.confidence || !near(o.SharePct, r.sharePct, shareTol(len(w.evidence)))) {
			t.Errorf("%s: %s %.1f%%, reference %s %.1f%%", prefix, o.Confidence, o.SharePct, r.confidence, r.sharePct)
		}
	}
}

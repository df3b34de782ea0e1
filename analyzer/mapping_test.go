package analyzer

import "testing"

func mappingPayload(rows ...string) *stageAgg {
	s := newStageAgg(StageDecode)
	for _, name := range rows {
		s.add(name, Categorize(name), 0, 1000)
	}
	return s
}

func TestRelaxedMatch(t *testing.T) {
	longA := "void cutlass::device_kernel<flash::FlashAttnFwdSm90<flash::CollectiveMainloopFwdSm90<2, cute::tuple<cute::C<1>, cute::C<1>, cute::C<1> >, cute::tuple<cute::C<128>, cute::C<176> >, 128>"
	longB := "void cutlass::device_kernel<flash::FlashAttnFwdSm90<flash::CollectiveMainloopFwdSm90<2, cute::tuple<cute::C<1>, cute::C<1>, cute::C<1> >, cute::tuple<cute::C<128>, cute::C<112> >, 64>"
	p := mappingPayload("nvjet_tst_64x16_64x16_2x1", "void at::native::vectorized_elementwise_kernel<4, at::native::FillFunctor<int>>", longA, "Memset (Device)")
	tests := []struct{ name, want string }{
		{"nvjet_tst_64x16_64x16_2x1", "nvjet_tst_64x16_64x16_2x1"}, // exact
		{"NVJET_TST_64x16", "nvjet_tst_64x16_64x16_2x1"},           // prefix, any case
		{"vectorized_elementwise_kernel<4, at::native::FillFunctor<int>>", "void at::native::vectorized_elementwise_kernel<4, at::native::FillFunctor<int>>"}, // substring
		{longB, longA},                  // long shared prefix
		{"memset32", "Memset (Device)"}, // alias group
		{"some_other_kernel", ""},
	}
	for _, tt := range tests {
		r := relaxedMatch(p, tt.name)
		got := ""
		if r != nil {
			got = r.name
		}
		if got != tt.want {
			t.Errorf("relaxedMatch(%.40q) = %.40q, want %.40q", tt.name, got, tt.want)
		}
	}
}

func TestStageAliases(t *testing.T) {
	m := &kernelMap{stages: map[string]*stageAgg{
		StageAll:    mappingPayload("k_all"),
		StageExtend: mappingPayload("k_ext"),
	}, global: mappingPayload("k_global", "k_all", "k_ext")}
	if r := m.lookup(StageDecode, "k_all"); r != m.stages[StageAll].rows["k_all"] {
		t.Error("decode did not fall back to the all payload")
	}
	if r := m.lookup(StageDecode, "k_ext"); r != m.global.rows["k_ext"] {
		t.Error("decode did not fall back to the global payload")
	}
	if r := m.lookup(StageExtend, "k_ext"); r != m.stages[StageExtend].rows["k_ext"] {
		t.Error("extend did not use its own payload first")
	}
}

package analyzer

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// Kernel names as ROCm traces of SGLang on MI300X record them.
const (
	mangledAddRMSNorm = "_ZN5aiter24add_rmsnorm_quant_kernelIDF16bDF16bLi256ELi16ELb1ELb0ELb1ELi1EEEvPT0_PT_PfS4_S4_S4_diiiiiiib"
	mangledActAndMul  = "_ZN7sgl_hip10activation18act_and_mul_kernelI14__hip_bfloat16TnPFT_RKS3_EXadL_Z4siluIS2_ES3_S5_EEEEvPS3_PS4_i"
)

func TestDemangleKernel(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"aiter template with a parameter list", mangledAddRMSNorm,
			"void aiter::add_rmsnorm_quant_kernel<std::bfloat16_t, std::bfloat16_t, 256, 16, true, false, true, 1>"},
		{"function pointer template argument", mangledActAndMul,
			"void sgl_hip::activation::act_and_mul_kernel<__hip_bfloat16, &(silu<__hip_bfloat16>)>"},
		// Without template arguments the return type is not mangled, and the
		// parameter list stays, as in readable CUDA names of such kernels
		// ("ncclDevKernel_AllReduce(ncclDevKernelArgsStorage<4096ul>)").
		{"plain function", "_Z3fooi", "foo(int)"},
		{"nested name, no template", "_ZN2at6native13reduce_kernelEv", "at::native::reduce_kernel()"},
		// Already readable names, as CUDA traces record them.
		{"readable CUDA name", "void flashinfer::BatchDecodeWithPagedKVCacheKernel<true>", ""},
		{"nvjet", "nvjet_tst_64x16_64x8_2x1_v_bz_TNT", ""},
		{"Tensile", "Cijk_Alik_Bljk_BBS_BH_Bias_HA_S_SAV_UserArgs_MT320x224x64_MI16x16x1", ""},
		{"memcpy", "Memcpy DtoD (Device -> Device)", ""},
		{"empty", "", ""},
		// Names that look mangled but are not.
		{"garbage after _Z", "_Zxyz", ""},
		{"bare _Z", "_Z", ""},
		{"truncated", mangledAddRMSNorm[:40], ""},
		{"trailing junk", "_Z3fooi)))", ""},
		{"mangled inside text", "kernel _Z3fooi", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DemangleKernel(tt.in); got != tt.want {
				t.Errorf("DemangleKernel(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// A panic inside the demangler (the library has had such bugs) gives an
// empty name instead of ending the analysis.
func TestDemangleKernelRecoversFromPanic(t *testing.T) {
	calls := 0
	got := demangleWith(mangledAddRMSNorm, func(string) (string, error) {
		calls++
		var m map[string]int
		m["x"]++ // a nil-map write panics, as a demangler bug would
		return "unreachable", nil
	})
	if calls != 1 || got != "" {
		t.Errorf("demangleWith(panicking) = %q after %d calls, want \"\" after 1", got, calls)
	}
	if got := demangleWith(mangledAddRMSNorm, func(string) (string, error) { return "", errors.New("bad") }); got != "" {
		t.Errorf("demangleWith(error) = %q, want \"\"", got)
	}
	// Output at the length cap was cut short by the demangler: not shown.
	long := strings.Repeat("a", 1<<demangleMaxPow)
	if got := demangleWith("_Z1a", func(string) (string, error) { return long, nil }); got != "" {
		t.Errorf("demangleWith(64 KiB output) = %d bytes, want \"\"", len(got))
	}
	// Names that are not mangled never reach the demangler.
	if got := demangleWith("void k<int>", func(string) (string, error) { panic("called") }); got != "" {
		t.Errorf("demangleWith(readable) = %q", got)
	}
}

func TestShortKernelName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"void aiter::add_rmsnorm_quant_kernel<std::bfloat16_t, std::bfloat16_t, 256, 16, true, false, true, 1>",
			"aiter::add_rmsnorm_quant_kernel<std::bfloat16_t, std::bfloat16_t, 256, 16, true, false, true, 1>"},
		{"void sgl_hip::activation::act_and_mul_kernel<__hip_bfloat16, &(silu<__hip_bfloat16>)>",
			"sgl_hip::activation::act_and_mul_kernel<__hip_bfloat16, &(silu<…>)>"},
		{"void ck_tile::kentry<2, ck_tile::Kernel<ck_tile::Pipeline<ck_tile::Problem<float, ck_tile::sequence<1, 2> >, true>, void>, ck_tile::Kernel<ck_tile::P<int> >::Kargs>",
			"ck_tile::kentry<2, ck_tile::Kernel<…>, ck_tile::Kernel<…>::Kargs>"},
		{"nvjet_tst_64x16_64x8_2x1_v_bz_TNT", "nvjet_tst_64x16_64x8_2x1_v_bz_TNT"},
		{"void flashinfer::norm::RMSNormKernel<8u, __nv_bfloat16>", "flashinfer::norm::RMSNormKernel<8u, __nv_bfloat16>"},
		{"ncclDevKernel_AllReduce(ncclDevKernelArgsStorage<4096ul>)", "ncclDevKernel_AllReduce(ncclDevKernelArgsStorage<4096ul>)"},
		// Unbalanced brackets: only "void " goes.
		{"void a::operator<<int>", "a::operator<<int>"},
		{"void f<a->b>", "f<a->b>"},
		{"void cut<short<", "cut<short<"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := ShortKernelName(tt.in); got != tt.want {
			t.Errorf("ShortKernelName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzDemangleKernel: any name, mangled or not, demangles without a panic
// to "" or to a readable name, and shortens without a panic.
func FuzzDemangleKernel(f *testing.F) {
	for _, s := range []string{mangledAddRMSNorm, mangledActAndMul, "_Z3fooi", "_Zxyz", "_Z", "void k<int>(int)",
		"_ZN7ck_tile6kentryILi2ENS_4KernIJNS_8sequenceIJLi1ELi2EEEEEEEEEvDpT1_", "_Z1fIS_S_S_S_EvT_"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		d := DemangleKernel(name)
		if d != "" {
			if !strings.HasPrefix(name, "_Z") {
				t.Fatalf("DemangleKernel(%q) = %q for a name that is not mangled", name, d)
			}
			if len(d) >= 1<<demangleMaxPow {
				t.Fatalf("DemangleKernel(%q): %d bytes", name, len(d))
			}
		}
		s := ShortKernelName(d)
		if len(s) > len(d)+len("<…")*strings.Count(d, "<") {
			t.Fatalf("ShortKernelName(%q) = %q grew", d, s)
		}
		if utf8.ValidString(name) && !utf8.ValidString(ShortKernelName(name)) {
			t.Fatalf("ShortKernelName(%q) is not valid UTF-8", name)
		}
	})
}

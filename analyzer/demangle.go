package analyzer

import (
	"strings"

	"github.com/ianlancetaylor/demangle"
	"github.com/tracetriage/tracetriage/analyzer/trace"
)

// demangleMaxPow caps a demangled name at 2^16 bytes: a name longer than
// that is not readable, and substitutions can make the output of a short
// symbol grow far beyond its input. The longest real kernel seen (a cuDNN
// CUTLASS convolution) demangles to 10.7 KB.
const demangleMaxPow = 16

// DemangleKernel returns the readable name of a kernel whose name is an
// Itanium C++ ABI mangled symbol ("_Z…", as ROCm traces name HIP kernels),
// in the form the Kernel Table gives readable C++ kernel names
// (CanonicalKernelName): a template kernel keeps its return type and loses
// its parameter list ("void ck_tile::kentry<2, …>"; the parameters of a
// kernel mostly repeat its template arguments), a plain function keeps its
// parameter list ("foo(int)").
// It returns "" for a name that is not mangled (CUDA traces already name
// kernels "void flashinfer::…(…)"), for one the demangler rejects or whose
// demangling would exceed 64 KiB, and if the demangler panics: a name it
// cannot read never stops an analysis.
func DemangleKernel(name string) string {
	return demangleWith(name, func(s string) (string, error) {
		return demangle.ToString(s, demangle.NoRust, demangle.MaxLength(demangleMaxPow))
	})
}

// demangleWith is DemangleKernel with the demangler passed in, so that the
// recovery from a panicking demangler can be tested.
func demangleWith(name string, fn func(string) (string, error)) (out string) {
	if !strings.HasPrefix(name, "_Z") {
		return ""
	}
	defer func() {
		if recover() != nil {
			out = ""
		}
	}()
	s, err := fn(name)
	if err != nil || s == "" || s == name || len(s) >= 1<<demangleMaxPow {
		return ""
	}
	return trace.CanonicalKernelName(s)
}

// ShortKernelName shortens a C++ kernel name (a demangled one, or a
// readable name from a CUDA trace) for one-line displays such as LSP
// hovers and diagnostics: the leading "void " is dropped and every template
// argument list nested inside another is written "<…>", so
// "void ck_tile::kentry<2, ck_tile::FmhaBatchPrefillWithPagedKVCacheKernel<ck_tile::Block…<…>>>"
// becomes "ck_tile::kentry<2, ck_tile::FmhaBatchPrefillWithPagedKVCacheKernel<…>>".
// A name whose angle brackets do not balance (operator<, a name cut short)
// comes back with only "void " dropped.
func ShortKernelName(name string) string {
	name = strings.TrimPrefix(name, "void ")
	if !strings.Contains(name, "<") {
		return name
	}
	var b strings.Builder
	b.Grow(len(name))
	depth := 0
	for i := 0; i < len(name); i++ {
		switch c := name[i]; c {
		case '<':
			depth++
			switch depth {
			case 1:
				b.WriteByte('<')
			case 2:
				b.WriteString("<…")
			}
		case '>':
			depth--
			if depth < 0 {
				return name
			}
			if depth <= 1 {
				b.WriteByte('>')
			}
		default:
			if depth <= 1 {
				b.WriteByte(c)
			}
		}
	}
	if depth != 0 {
		return name
	}
	return b.String()
}

// DisplayName is the name of a kernel to show a person: its demangled name
// when the trace records a mangled symbol (a row's Demangled), else name.
func DisplayName(name, demangled string) string {
	if demangled != "" {
		return demangled
	}
	return name
}

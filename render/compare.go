package render

import (
	"fmt"
	"io"
	"strings"

	"github.com/tracetriage/tracetriage/analyzer"
)

// Comparison writes a comparison of two analyses (analyzer.Compare) as
// Markdown: per stage, the GPU time before and after, the share of the
// span the GPU waited for the host, and the kernels that changed most,
// are new or vanished, named by their demangled names where they have
// one and cut to width characters (0: whole names).
func Comparison(w io.Writer, c analyzer.Comparison, width int) error {
	var b strings.Builder
	if c.Before != "" || c.After != "" {
		fmt.Fprintf(&b, "Before: %s\nAfter: %s\n\n", c.Before, c.After)
	}
	for _, st := range c.Stages {
		fmt.Fprintf(&b, "### %s: %.3f → %.3f ms GPU time (%+.1f%%)\n\n", st.Stage, st.BeforeGPUTimeUS/1000, st.AfterGPUTimeUS/1000, st.DeltaPct)
		if st.BeforeSpanUS > 0 || st.AfterSpanUS > 0 {
			fmt.Fprintf(&b, "GPU idle waiting for the host: %.1f%% → %.1f%% of the span (span %.3f → %.3f ms).\n\n",
				st.BeforeIdleHostPct, st.AfterIdleHostPct, st.BeforeSpanUS/1000, st.AfterSpanUS/1000)
		}
		list := func(title string, rows []analyzer.KernelDelta, total int) {
			if len(rows) == 0 {
				return
			}
			fmt.Fprintf(&b, "%s (%d):\n", title, total)
			for _, r := range rows {
				fmt.Fprintf(&b, "- `%s` %.3f → %.3f ms (%+.3f)", Shorten(analyzer.DisplayName(r.Name, r.Demangled), width), r.BeforeUS/1000, r.AfterUS/1000, r.DeltaUS/1000)
				if r.Site != "" {
					fmt.Fprintf(&b, " at %s", r.Site)
				}
				b.WriteString("\n")
			}
			b.WriteString("\n")
		}
		list("Changed most", st.Changed, st.ChangedCount)
		list("New", st.New, st.NewCount)
		list("Vanished", st.Vanished, st.VanishedCount)
	}
	if len(c.Stages) == 0 {
		b.WriteString("Neither trace has GPU kernels to compare.\n")
	}
	_, err := io.WriteString(w, strings.TrimSpace(b.String())+"\n")
	return err
}

// Shorten cuts s to n characters, the last one "…" (n <= 0: no limit),
// for names in one-line displays.
func Shorten(s string, n int) string {
	r := []rune(s)
	if n <= 0 || len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

package overlap

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
)

// TimelineOptions tunes Timeline.
type TimelineOptions struct {
	// Width is the number of character cells of the time axis; 0 means
	// DefaultTimelineWidth. Widths below 16 are raised to 16.
	Width int
	// WindowUS is the window length in microseconds; 0 means
	// max(40 µs, 6 × the centre kernel's duration).
	WindowUS float64
}

// DefaultTimelineWidth is the time axis width when TimelineOptions.Width is 0.
const DefaultTimelineWidth = 96

// legendSize is how many of the longest events get a letter.
const legendSize = 8

// legendAlphabet supplies the letters of legend events.
const legendAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// categoryChar draws events that have no legend letter.
var categoryChar = map[string]byte{
	Compute:       '#',
	Communication: '=',
	Elementwise:   '~',
	Memory:        '+',
	Other:         '*',
}

// TimelineView is the JSON-able form of a timeline: the window, the tick
// marks, one row per stream and the legend. Times are microseconds from the
// first kernel's start (the stage origin).
type TimelineView struct {
	// Center is the index of the centre kernel in the kernels given.
	Center        int     `json:"center"`
	CenterKernel  string  `json:"center_kernel"`
	WindowStartUS float64 `json:"window_start_us"`
	WindowEndUS   float64 `json:"window_end_us"`
	Width         int     `json:"width"`
	// Ticks are the times at 0, 1/4, 1/2, 3/4 and the end of the axis.
	Ticks   []float64        `json:"ticks"`
	Streams []TimelineStream `json:"streams"`
	Legend  []LegendEntry    `json:"legend"`
}

// TimelineStream is one stream's row: its cells (one character per cell,
// "." when idle) and the events drawn in it.
type TimelineStream struct {
	Stream string          `json:"stream"`
	Cells  string          `json:"cells"`
	Events []TimelineEvent `json:"events"`
}

// TimelineEvent is one kernel drawn in the window.
type TimelineEvent struct {
	Index    int     `json:"index"` // into the kernels given
	Kernel   string  `json:"kernel"`
	Category string  `json:"category"`
	StartUS  float64 `json:"start_us"`
	DurUS    float64 `json:"dur_us"`
	Mark     string  `json:"mark"` // legend letter or category character
}

// LegendEntry names the kernel behind a legend letter.
type LegendEntry struct {
	Mark     string  `json:"mark"`
	Category string  `json:"category"`
	Kernel   string  `json:"kernel"`
	DurUS    float64 `json:"dur_us"`
}

// BuildTimeline lays out the timeline around kernels[center] (spec §9.7):
// the window opens 35% of its length before the centre kernel's start and
// closes 65% after its end; every stream of the stage gets a row, sorted by
// (label length, label); the 8 longest events in the window get letters
// (listed in the legend) and are drawn over the others, which show their
// category character (compute #, communication =, elementwise ~, memory +,
// other *). A centre out of range yields an empty view.
func BuildTimeline(kernels []Kernel, center int, opts TimelineOptions) TimelineView {
	width := opts.Width
	if width == 0 {
		width = DefaultTimelineWidth
	}
	width = max(width, 16)
	v := TimelineView{Center: center, Width: width, Streams: []TimelineStream{}, Legend: []LegendEntry{}}
	if center < 0 || center >= len(kernels) {
		return v
	}
	c := kernels[center]
	v.CenterKernel = c.Name
	origin := c.Start
	for _, k := range kernels {
		origin = min(origin, k.Start)
	}
	span := opts.WindowUS * 1000
	if span <= 0 {
		span = max(40_000, 6*float64(c.dur()))
	}
	start := float64(c.Start) - span*0.35
	end := float64(c.Start+c.dur()) + span*0.65
	v.WindowStartUS = (start - float64(origin)) / 1000
	v.WindowEndUS = (end - float64(origin)) / 1000
	for _, f := range []float64{0, 0.25, 0.5, 0.75, 1} {
		v.Ticks = append(v.Ticks, v.WindowStartUS+(v.WindowEndUS-v.WindowStartUS)*f)
	}

	var inWindow []int
	streams := map[string]bool{}
	for i, k := range kernels {
		streams[k.Stream] = true
		if float64(k.Start+k.dur()) >= start && float64(k.Start) <= end {
			inWindow = append(inWindow, i)
		}
	}
	// Legend: the longest events (then earliest, then index).
	byDur := slices.Clone(inWindow)
	slices.SortStableFunc(byDur, func(a, b int) int {
		if c := cmp.Compare(kernels[b].dur(), kernels[a].dur()); c != 0 {
			return c
		}
		return cmp.Compare(kernels[a].Start, kernels[b].Start)
	})
	marks := map[int]byte{}
	for n, i := range byDur[:min(legendSize, len(byDur))] {
		marks[i] = legendAlphabet[n]
		v.Legend = append(v.Legend, LegendEntry{
			Mark: string(legendAlphabet[n]), Category: Classify(kernels[i].Name),
			Kernel: kernels[i].Name, DurUS: us(kernels[i].dur()),
		})
	}

	labels := make([]string, 0, len(streams))
	for s := range streams {
		labels = append(labels, s)
	}
	slices.SortFunc(labels, func(a, b string) int {
		if c := cmp.Compare(len(a), len(b)); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	scale := float64(width-1) / max(end-start, 1000)
	for _, s := range labels {
		row := []byte(strings.Repeat(".", width))
		st := TimelineStream{Stream: s, Events: []TimelineEvent{}}
		// Unlettered events first, lettered ones on top.
		for pass := 0; pass < 2; pass++ {
			for _, i := range inWindow {
				k := kernels[i]
				mark, lettered := marks[i]
				if k.Stream != s || lettered != (pass == 1) {
					continue
				}
				cat := Classify(k.Name)
				if !lettered {
					mark = categoryChar[cat]
				}
				left := int((float64(k.Start) - start) * scale)
				right := int(math.Ceil((float64(k.Start+k.dur()) - start) * scale))
				right = max(left+1, min(right, width-1))
				for p := max(0, left); p < min(width, right+1); p++ {
					row[p] = mark
				}
				st.Events = append(st.Events, TimelineEvent{
					Index: i, Kernel: k.Name, Category: cat,
					StartUS: us(k.Start - origin), DurUS: us(k.dur()), Mark: string(mark),
				})
			}
		}
		slices.SortFunc(st.Events, func(a, b TimelineEvent) int {
			return cmp.Or(cmp.Compare(a.StartUS, b.StartUS), cmp.Compare(a.Index, b.Index))
		})
		st.Cells = string(row)
		v.Streams = append(v.Streams, st)
	}
	return v
}

// String renders the view as text: a header with "|" at the tick marks,
// the tick values, one row per stream and the legend.
func (v TimelineView) String() string {
	if len(v.Streams) == 0 {
		return "No kernel to centre the timeline on."
	}
	width := v.Width
	labelWidth := len("time(us)")
	for _, s := range v.Streams {
		labelWidth = max(labelWidth, len(s.Stream))
	}
	positions := []int{0, width / 4, width / 2, 3 * width / 4, width - 1}
	header := []byte(strings.Repeat(" ", width))
	ticks := []byte(strings.Repeat(" ", width))
	for n, p := range positions {
		header[p] = '|'
		text := fmt.Sprintf("%.1f", v.Ticks[n])
		begin := min(max(p-len(text)/2, 0), max(0, width-len(text)))
		for o := 0; o < len(text) && begin+o < width; o++ {
			ticks[begin+o] = text[o]
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-*s %s\n", labelWidth, "time(us)", strings.TrimRight(string(header), " "))
	fmt.Fprintf(&b, "%-*s %s\n", labelWidth, "", strings.TrimRight(string(ticks), " "))
	for _, s := range v.Streams {
		fmt.Fprintf(&b, "%-*s %s\n", labelWidth, s.Stream, s.Cells)
	}
	if len(v.Legend) > 0 {
		b.WriteString("legend:\n")
		for _, l := range v.Legend {
			fmt.Fprintf(&b, "  %s [%s] %s (%.1f us)\n", l.Mark, shortCategory(l.Category), shortName(l.Kernel, 72), l.DurUS)
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// Timeline renders the ASCII timeline around kernels[center]; see
// BuildTimeline for the layout.
func Timeline(kernels []Kernel, center int, opts TimelineOptions) string {
	return BuildTimeline(kernels, center, opts).String()
}

func shortCategory(c string) string {
	if len(c) > 4 {
		return c[:4]
	}
	return c
}

// shortName cuts a name to n bytes (on a rune boundary), ending in "...".
func shortName(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - 3
	for cut > 0 && !utf8RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

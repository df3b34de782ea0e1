package tracegen

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ParseSize reads a byte size such as "100MB", "1.5GB", "512k" or "2048"
// (decimal units: k/KB = 1000, M/MB = 10^6, G/GB = 10^9; KiB/MiB/GiB binary).
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(strings.ToLower(s))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"k", 1e3}, {"m", 1e6}, {"g", 1e9}, {"b", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.m
			break
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(f) || f < 0 || f*float64(mult) > 1<<50 {
		return 0, fmt.Errorf("%w: size %q: write a number with an optional unit, such as 100MB or 1GB", ErrOptions, s)
	}
	return int64(f * float64(mult)), nil
}

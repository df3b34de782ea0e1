package trace

import "testing"

// TestSkipDigits compares the eight-bytes-at-a-time digit skip with a plain
// loop for every byte value at every position of a run of digits.
func TestSkipDigits(t *testing.T) {
	naive := func(b []byte, i int) int {
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i
	}
	for n := range 20 {
		for c := range 256 {
			b := make([]byte, n+1, n+12)
			for k := range n {
				b[k] = byte('0' + k%10)
			}
			b[n] = byte(c)
			b = append(b, "99999999999"[:c%12]...) // digits after the byte, sometimes
			for start := 0; start <= n && start < 3; start++ {
				if got, want := skipDigits(b, start), naive(b, start); got != want {
					t.Fatalf("skipDigits(%q, %d) = %d, want %d", b, start, got, want)
				}
			}
		}
	}
}

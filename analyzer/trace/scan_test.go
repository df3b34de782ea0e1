package trace

import (
	"math/rand/v2"
	"testing"
)

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

// TestParseMicrosFastForm checks the eight-digits-at-a-time conversion of
// "D.DDD" against the digit-by-digit one, on lengths 1–17 of the integer
// part, random digits, and non-digit bytes in every position.
func TestParseMicrosFastForm(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		n := 1 + rng.IntN(17)
		b := make([]byte, 0, n+4)
		for range n {
			b = append(b, byte('0'+rng.IntN(10)))
		}
		b = append(b, '.', byte('0'+rng.IntN(10)), byte('0'+rng.IntN(10)), byte('0'+rng.IntN(10)))
		if rng.IntN(4) == 0 {
			b[rng.IntN(len(b))] = byte(rng.IntN(256))
		}
		got, gok := ParseMicros(b)
		want, wok := parseMicrosSlow(b)
		if got != want || gok != wok {
			t.Fatalf("ParseMicros(%q) = %d, %v; want %d, %v", b, got, gok, want, wok)
		}
	}
}

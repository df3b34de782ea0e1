package trace

import "strings"

// CanonicalKernelName is the row key of a kernel (triage-behaviour.md §5):
// whitespace runs collapse to one space, hexadecimal addresses become
// 0xADDR, and a "void ...(...)" signature loses its parameter list.
//
// Unlike the reference, an address is rewritten only where "0x" starts a
// token (not preceded by a letter, digit or '_'), so tile sizes such as
// "MT320x224x64" are left alone (docs/differences.md).
func CanonicalKernelName(name string) string {
	s := strings.Join(strings.Fields(name), " ")
	s = replaceHexAddresses(s)
	if strings.HasPrefix(s, "void ") && strings.HasSuffix(s, ")") {
		if open := matchingOpen(s); open > 0 {
			s = strings.TrimRight(s[:open], " ")
		}
	}
	return s
}

func isWordByte(c byte) bool {
	return c == '_' || ('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

func isHexDigit(c byte) bool {
	return ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}

// replaceHexAddresses rewrites every token-initial 0x<hex digits> as 0xADDR.
func replaceHexAddresses(s string) string {
	if !strings.Contains(s, "0x") && !strings.Contains(s, "0X") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] == '0' && i+2 < len(s) && (s[i+1] == 'x' || s[i+1] == 'X') && isHexDigit(s[i+2]) &&
			(i == 0 || !isWordByte(s[i-1])) {
			j := i + 2
			for j < len(s) && isHexDigit(s[j]) {
				j++
			}
			b.WriteString("0xADDR")
			i = j
			continue
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

// matchingOpen returns the index of the '(' that balances the final ')'
// of s, or -1.
func matchingOpen(s string) int {
	depth := 0
	for i := len(s) - 1; i >= 0; i-- {
		switch s[i] {
		case ')':
			depth++
		case '(':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

package live

import (
	"strings"
	"testing"
)

// Server answers are quoted in error messages printed on the terminal: a
// hostile or broken server must not slip escape sequences into them.
func TestSnippetDropsControlCharacters(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain  text\nnext", "plain text next"},
		{"\x1b[31mred\x1b[0m \x07bell", "?[31mred?[0m ?bell"},
		{"bad utf8 \xff end", "bad utf8 \ufffd end"},
		{strings.Repeat("é", 100), strings.Repeat("é", 40) + "..."},
	}
	for _, tc := range tests {
		if got := snippet([]byte(tc.in)); got != tc.want {
			t.Errorf("snippet(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

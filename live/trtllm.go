package live

import (
	"regexp"
	"strings"
)

var (
	profileCallRE = regexp.MustCompile(`torch_profiler\s*=\s*torch\.profiler\.profile\(`)
	withStackRE   = regexp.MustCompile(`\bwith_stack\s*=\s*`)
	enableTraceRE = regexp.MustCompile(`(?m)^([ \t]*)enable_torch_trace = bool\(torch_trace_path and profile_start_stop\)[ \t]*\r?\n`)
	guardedRE     = regexp.MustCompile(`torch_trace_path and profile_start_stop and self\.dist\.rank == 0`)
	perRankPathRE = regexp.MustCompile(`torch_trace_path\s*=\s*f["'][^"'\n]*-rank-\{`)
)

// PatchTRTLLMExecutor patches the source of TensorRT-LLM's
// tensorrt_llm/_torch/pyexecutor/py_executor.py so its torch traces carry
// Python stacks and do not race between ranks:
//
//  1. The first "torch_profiler = torch.profiler.profile(...)" call gets
//     with_stack=True as its last argument (an existing with_stack=False is
//     turned to True), keeping the call's layout.
//  2. The line "enable_torch_trace = bool(torch_trace_path and
//     profile_start_stop)" also requires self.dist.rank == 0, so only rank
//     0 writes the chrome trace at TLLM_TORCH_PROFILE_TRACE. Versions that
//     already give every rank its own trace path (a "-rank-{...}" suffix)
//     are left as they are on this point.
//
// Patching a patched source returns it unchanged. A source without the
// profiler call, or without the enable_torch_trace line in a version that
// needs it, gives an error wrapping ErrPatch.
func PatchTRTLLMExecutor(src []byte) ([]byte, error) {
	text := string(src)
	newline := "\n"
	if strings.Contains(text, "\r\n") {
		newline = "\r\n"
	}
	text, err := addWithStack(text, newline)
	if err != nil {
		return nil, err
	}
	switch {
	case guardedRE.MatchString(text):
	case perRankPathRE.MatchString(text):
	default:
		m := enableTraceRE.FindStringSubmatchIndex(text)
		if m == nil {
			return nil, newError(ErrPatch, nil,
				"could not find the line 'enable_torch_trace = bool(torch_trace_path and profile_start_stop)': is this TensorRT-LLM's pyexecutor/py_executor.py?")
		}
		if !strings.Contains(text, "self.dist") {
			return nil, newError(ErrPatch, nil,
				"the source has no self.dist to find the rank with: this py_executor.py version is not one the rank-0 guard knows")
		}
		ind := text[m[2]:m[3]]
		guard := strings.Join([]string{
			ind + "# Multi-rank PyTorch backend workers race on the same chrome-trace path.",
			ind + "# Keep the full torch-profiler trace on rank 0 and let the other ranks",
			ind + "# continue with CUDA-profiler gating only.",
			ind + "enable_torch_trace = bool(",
			ind + "    torch_trace_path and profile_start_stop and self.dist.rank == 0",
			ind + ")",
		}, newline) + newline
		text = text[:m[0]] + guard + text[m[1]:]
	}
	return []byte(text), nil
}

// addWithStack adds with_stack=True to the first profiler call.
func addWithStack(text, newline string) (string, error) {
	loc := profileCallRE.FindStringIndex(text)
	if loc == nil {
		return "", newError(ErrPatch, nil,
			"could not find 'torch_profiler = torch.profiler.profile(': is this TensorRT-LLM's pyexecutor/py_executor.py?")
	}
	open := loc[1] - 1
	closing, ok := matchParen(text, open)
	if !ok {
		return "", newError(ErrPatch, nil, "the torch.profiler.profile( call is not closed: is the source file complete?")
	}
	args := text[open+1 : closing]
	if m := withStackRE.FindStringIndex(args); m != nil {
		rest := args[m[1]:]
		if strings.HasPrefix(rest, "False") && !isIdentByte(rest, len("False")) {
			at := open + 1 + m[1]
			return text[:at] + "True" + text[at+len("False"):], nil
		}
		return text, nil
	}
	lineStart := strings.LastIndexByte(text[:closing], '\n') + 1
	before := text[lineStart:closing]
	if strings.TrimSpace(before) == "" && lineStart > open {
		// The closing paren is on its own line: add a new argument line
		// after the last one, with its indentation.
		prevEnd := lineStart - 1 // the '\n' ending the previous line
		if prevEnd > 0 && text[prevEnd-1] == '\r' {
			prevEnd--
		}
		prevStart := strings.LastIndexByte(text[:prevEnd], '\n') + 1
		if prevStart <= open {
			// "profile(\n)": no argument line to copy from.
			ind := leadingSpace(text[strings.LastIndexByte(text[:open], '\n')+1:]) + "    "
			return text[:lineStart] + ind + "with_stack=True," + newline + text[lineStart:], nil
		}
		prev := text[prevStart:prevEnd]
		code, comment := splitComment(prev)
		trimmed := strings.TrimRight(code, " \t")
		arg := "with_stack=True"
		if strings.HasSuffix(trimmed, ",") {
			arg += "," // keep the trailing-comma style
		} else {
			trimmed += ","
		}
		if comment != "" {
			trimmed += "  " + comment
		}
		line := leadingSpace(prev) + arg + newline
		return text[:prevStart] + trimmed + text[prevEnd:lineStart] + line + text[lineStart:], nil
	}
	// The closing paren ends the last argument's line.
	argEnd := closing
	for argEnd > open+1 && (text[argEnd-1] == ' ' || text[argEnd-1] == '\t') {
		argEnd--
	}
	sep := ", "
	switch {
	case argEnd == open+1:
		sep = ""
	case text[argEnd-1] == ',':
		sep = " "
	}
	if lineStart > open {
		// A multi-line call: put the new argument on its own line, lined
		// up with the last one.
		ind := leadingSpace(text[lineStart:])
		if sep == ", " {
			sep = ","
		} else {
			sep = ""
		}
		return text[:argEnd] + sep + newline + ind + "with_stack=True" + text[closing:], nil
	}
	return text[:argEnd] + sep + "with_stack=True" + text[closing:], nil
}

// matchParen returns the index of the parenthesis closing the one at open,
// skipping Python string literals and comments.
func matchParen(s string, open int) (int, bool) {
	depth := 0
	for i := open; i < len(s); i++ {
		switch c := s[i]; c {
		case '#':
			nl := strings.IndexByte(s[i:], '\n')
			if nl < 0 {
				return 0, false
			}
			i += nl
		case '\'', '"':
			q := string(c)
			if strings.HasPrefix(s[i:], q+q+q) {
				q = q + q + q
			}
			j := i + len(q)
			for j < len(s) && !strings.HasPrefix(s[j:], q) {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(s) {
				return 0, false
			}
			i = j + len(q) - 1
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
			if depth == 0 {
				return i, true
			}
		}
	}
	return 0, false
}

// splitComment splits a line into its code and a trailing # comment,
// ignoring # inside string literals.
func splitComment(line string) (code, comment string) {
	var quote byte
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '#':
			return line[:i], line[i:]
		}
	}
	return line, ""
}

func leadingSpace(s string) string {
	return s[:len(s)-len(strings.TrimLeft(s, " \t"))]
}

func isIdentByte(s string, i int) bool {
	if i >= len(s) {
		return false
	}
	c := s[i]
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

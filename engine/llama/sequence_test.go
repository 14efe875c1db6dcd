package llama

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// emitted feeds pieces through a sequence's emit and finish and returns the text of every chunk sent.
func emitted(stops []string, pieces ...string) []string {
	s := &sequence{stops: stops, out: newOutQueue()}
	for _, p := range pieces {
		if s.emit(p, nil) {
			break
		}
	}
	s.finish("stop", nil)
	var out []string
	for _, c := range s.out.items {
		if !c.Done {
			out = append(out, c.Text)
		}
	}
	return out
}

func TestEmitNeverSendsInvalidUTF8(t *testing.T) {
	for _, tc := range []struct {
		name   string
		stops  []string
		pieces []string
		want   string
	}{
		{"character split over two tokens", nil, []string{"caf", "\xc3", "\xa9!"}, "café!"},
		{"four-byte character over three tokens", nil, []string{"a\xf0\x9f", "\x98", "\x80b"}, "a😀b"},
		{"lone lead byte then ASCII", nil, []string{"\xca", "SUP"}, "\uFFFDSUP"},
		{"stray continuation byte", nil, []string{"x\x80y"}, "x\uFFFDy"},
		{"incomplete character at the end is dropped", nil, []string{"ok", "\xe2\x82"}, "ok"},
		{"stop string after a split character", []string{"END"}, []string{"\xc3", "\xa9E", "ND more"}, "é"},
		{"held stop prefix is text at the end", []string{"STOP"}, []string{"ab", "ST"}, "abST"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			chunks := emitted(tc.stops, tc.pieces...)
			for _, c := range chunks {
				if !utf8.ValidString(c) {
					t.Errorf("chunk %q is not valid UTF-8", c)
				}
			}
			if got := strings.Join(chunks, ""); got != tc.want {
				t.Errorf("text %q, want %q (chunks %q)", got, tc.want, chunks)
			}
		})
	}
}

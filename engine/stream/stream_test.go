package stream

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hearthlink/hearth/engine"
)

// emitted feeds pieces through an Output and returns the text of every chunk sent and the final chunk.
func emitted(stops []string, pieces ...string) ([]string, engine.Chunk) {
	o := New(stops)
	for _, p := range pieces {
		if o.Emit(p, nil) {
			break
		}
	}
	o.Finish(engine.Chunk{DoneReason: "stop", EvalCount: len(pieces)})
	var out []string
	var last engine.Chunk
	for c := range o.Chan(context.Background()) {
		if c.Done {
			last = c
			continue
		}
		out = append(out, c.Text)
	}
	return out, last
}

func TestOutputNeverSendsInvalidUTF8OrStopStrings(t *testing.T) {
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
		{"stop string over two pieces", []string{"END"}, []string{"ab", "cE", "ND more"}, "abc"},
		{"stop string after a split character", []string{"END"}, []string{"\xc3", "\xa9E", "ND more"}, "é"},
		{"earliest of two stops", []string{"yy", "x"}, []string{"ayyx"}, "a"},
		{"held stop prefix is text at the end", []string{"STOP"}, []string{"ab", "ST"}, "abST"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			chunks, last := emitted(tc.stops, tc.pieces...)
			for _, c := range chunks {
				if !utf8.ValidString(c) {
					t.Errorf("chunk %q is not valid UTF-8", c)
				}
				for _, st := range tc.stops {
					if strings.Contains(c, st) {
						t.Errorf("chunk %q holds stop %q", c, st)
					}
				}
			}
			if got := strings.Join(chunks, ""); got != tc.want {
				t.Errorf("text %q, want %q (chunks %q)", got, tc.want, chunks)
			}
			if !last.Done || last.DoneReason != "stop" {
				t.Errorf("final chunk %+v", last)
			}
		})
	}
}

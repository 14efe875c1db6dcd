package main

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
)

// consoleHandler is the slog.Handler for a terminal: one line per record, "15:04:05 INF message key=value",
// values quoted only when they need it.
type consoleHandler struct {
	mu    *sync.Mutex // shared by the handlers WithAttrs and WithGroup derive, which write to the same w
	w     io.Writer
	level slog.Level
	attrs []byte // " key=value" pairs from WithAttrs, already formatted
	group string // prefix WithGroup gives the keys of later attributes, "g."
}

func newConsoleHandler(w io.Writer, level slog.Level) *consoleHandler {
	return &consoleHandler{mu: &sync.Mutex{}, w: w, level: level}
}

// Enabled reports whether l is at or above the handler's level.
func (h *consoleHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

// Handle writes r as one line.
func (h *consoleHandler) Handle(_ context.Context, r slog.Record) error {
	buf := make([]byte, 0, 256)
	if !r.Time.IsZero() {
		buf = r.Time.AppendFormat(buf, time.TimeOnly)
		buf = append(buf, ' ')
	}
	buf = append(buf, levelTag(r.Level)...)
	buf = append(buf, ' ')
	buf = append(buf, r.Message...)
	buf = append(buf, h.attrs...)
	r.Attrs(func(a slog.Attr) bool {
		buf = appendAttr(buf, h.group, a)
		return true
	})
	buf = append(buf, '\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := h.w.Write(buf)
	return err
}

// WithAttrs returns a handler that adds attrs to every line.
func (h *consoleHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append([]byte(nil), h.attrs...)
	for _, a := range attrs {
		c.attrs = appendAttr(c.attrs, h.group, a)
	}
	return &c
}

// WithGroup returns a handler that prefixes later attributes' keys with name.
func (h *consoleHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.group = h.group + name + "."
	return &c
}

// levelTag is the three-letter level of a console line.
func levelTag(l slog.Level) string {
	switch {
	case l <= levelTrace:
		return "TRC"
	case l < slog.LevelInfo:
		return "DBG"
	case l < slog.LevelWarn:
		return "INF"
	case l < slog.LevelError:
		return "WRN"
	}
	return "ERR"
}

// appendAttr appends " key=value", flattening groups into dotted keys.
func appendAttr(buf []byte, prefix string, a slog.Attr) []byte {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return buf
	}
	if a.Value.Kind() == slog.KindGroup {
		if a.Key != "" {
			prefix += a.Key + "."
		}
		for _, g := range a.Value.Group() {
			buf = appendAttr(buf, prefix, g)
		}
		return buf
	}
	buf = append(buf, ' ')
	buf = append(buf, prefix...)
	buf = append(buf, a.Key...)
	buf = append(buf, '=')
	s := a.Value.String()
	if s == "" || strings.ContainsAny(s, " \"=\n\t") {
		return strconv.AppendQuote(buf, s)
	}
	return append(buf, s...)
}

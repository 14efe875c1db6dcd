package main

import (
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
)

// levelTrace is OLLAMA_DEBUG=2's level, below debug, as Ollama's logutil.LevelTrace.
const levelTrace = slog.Level(-8)

// newLogger returns hearth's logger, also made slog's default so that libraries logging through log/slog
// (ggml's backend loader, Ollama's packages, the engine and registry) land in the same place: human-readable
// on a terminal, JSON lines otherwise. level is "info", "debug" or "trace" (OLLAMA_DEBUG).
func newLogger(w *os.File, level string) *slog.Logger {
	var h slog.Handler
	if isatty.IsTerminal(w.Fd()) {
		h = newConsoleHandler(w, parseLevel(level))
	} else {
		h = newJSONHandler(w, parseLevel(level))
	}
	log := slog.New(h)
	slog.SetDefault(log)
	return log
}

// parseLevel maps a level name from logLevel to its slog level.
func parseLevel(level string) slog.Level {
	switch level {
	case "debug":
		return slog.LevelDebug
	case "trace":
		return levelTrace
	}
	return slog.LevelInfo
}

// newJSONHandler writes one JSON object per line, in the shape hearth's logs have always had (zerolog's):
// "level" in lower case, "time" in RFC 3339, "message", durations in milliseconds.
func newJSONHandler(w io.Writer, level slog.Level) slog.Handler {
	return slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 {
				switch a.Key {
				case slog.MessageKey:
					a.Key = "message"
				case slog.LevelKey:
					a.Value = slog.StringValue(levelName(a.Value.Any()))
				case slog.TimeKey:
					a.Value = slog.StringValue(a.Value.Time().Format(time.RFC3339))
				}
			}
			if a.Value.Kind() == slog.KindDuration {
				a.Value = slog.Float64Value(float64(a.Value.Duration()) / float64(time.Millisecond))
			}
			return a
		},
	})
}

// levelName names a level as the JSON lines do: "trace", "debug", "info", "warn", "error".
func levelName(v any) string {
	l, ok := v.(slog.Level)
	if !ok {
		return "info"
	}
	if l <= levelTrace {
		return "trace"
	}
	return strings.ToLower(l.String())
}

package main

import (
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
)

// newLogger returns hearth's logger: human-readable on a terminal, JSON lines otherwise. Libraries that
// log through log/slog (ggml's backend loader, Ollama's packages) are routed into the same logger.
func newLogger(w *os.File, level string) zerolog.Logger {
	var out io.Writer = w
	if isatty.IsTerminal(w.Fd()) {
		out = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly}
	}
	lvl := zerolog.InfoLevel
	switch level {
	case "debug":
		lvl = zerolog.DebugLevel
	case "trace":
		lvl = zerolog.TraceLevel
	}
	log := zerolog.New(out).Level(lvl).With().Timestamp().Logger()
	slog.SetDefault(slog.New(zerolog.NewSlogHandler(log)))
	return log
}

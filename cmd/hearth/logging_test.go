package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// The JSON lines keep the field names hearth's logs had (and compat_test reads): level, time, message.
func TestJSONLogLines(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(newJSONHandler(&buf, parseLevel("info")))
	log.Info("inference backend ready", "cpu_features", []string{"AVX2"}, "amx", false,
		"latency", 1500*time.Microsecond, "error", errors.New("boom"))
	log.Debug("hidden at info")
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("not one JSON object: %q", buf.String())
	}
	if line["level"] != "info" || line["message"] != "inference backend ready" || line["latency"] != 1.5 ||
		line["error"] != "boom" || line["amx"] != false {
		t.Errorf("line %v", line)
	}
	if ts, _ := line["time"].(string); ts == "" {
		t.Errorf("no time in %v", line)
	} else if _, err := time.Parse(time.RFC3339, ts); err != nil {
		t.Errorf("time %q: %v", ts, err)
	}
	if !strings.Contains(buf.String(), `"cpu_features":["AVX2"]`) {
		t.Errorf("cpu_features not a JSON array: %s", buf.String())
	}
}

// OLLAMA_DEBUG=2 shows trace lines, named "trace"; debug shows debug lines but not trace ones.
func TestLogLevels(t *testing.T) {
	for _, tc := range []struct {
		level string
		want  []string
	}{
		{"info", []string{"info"}},
		{"debug", []string{"debug", "info"}},
		{"trace", []string{"trace", "debug", "info"}},
	} {
		var buf bytes.Buffer
		log := slog.New(newJSONHandler(&buf, parseLevel(tc.level)))
		log.Log(t.Context(), levelTrace, "t")
		log.Debug("d")
		log.Info("i")
		var got []string
		dec := json.NewDecoder(&buf)
		for dec.More() {
			var line struct{ Level string }
			if err := dec.Decode(&line); err != nil {
				t.Fatal(err)
			}
			got = append(got, line.Level)
		}
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("level %s: logged %v, want %v", tc.level, got, tc.want)
		}
	}
}

func TestConsoleLogLine(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(newConsoleHandler(&buf, parseLevel("trace"))).With("model", "tiny")
	log.WithGroup("req").Warn("request", "path", "/api/chat", "note", "two words", "empty", "")
	log.Log(t.Context(), levelTrace, "step")
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("lines %q", lines)
	}
	// "15:04:05 WRN request ..." after the time.
	_, rest, _ := strings.Cut(lines[0], " ")
	if want := `WRN request model=tiny req.path=/api/chat req.note="two words" req.empty=""`; rest != want {
		t.Errorf("console line %q, want %q", rest, want)
	}
	if _, rest, _ := strings.Cut(lines[1], " "); rest != "TRC step model=tiny" {
		t.Errorf("trace line %q", lines[1])
	}
}

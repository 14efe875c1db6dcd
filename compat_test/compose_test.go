package compat_test

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestComposeFile checks docker-compose.yml's shape where no Docker engine runs: hearth and the reference
// Ollama 0.17.4 on different host ports, sharing one models volume at OLLAMA_MODELS. Where the compose
// plugin exists, `docker compose config` must accept the file too.
func TestComposeFile(t *testing.T) {
	b, err := os.ReadFile("../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Services map[string]struct {
			Build       any               `yaml:"build"`
			Image       string            `yaml:"image"`
			Ports       []string          `yaml:"ports"`
			Environment map[string]string `yaml:"environment"`
			Volumes     []string          `yaml:"volumes"`
			Profiles    []string          `yaml:"profiles"`
			Command     []string          `yaml:"command"`
		} `yaml:"services"`
		Volumes map[string]any `yaml:"volumes"`
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	hearth, ollama := f.Services["hearth"], f.Services["ollama"]
	if hearth.Build == nil {
		t.Error("hearth service is not built from the Dockerfile")
	}
	if ollama.Image != "ollama/ollama:0.17.4" {
		t.Errorf("ollama image = %q, want ollama/ollama:0.17.4", ollama.Image)
	}
	if _, ok := f.Volumes["models"]; !ok {
		t.Error("no shared models volume")
	}
	for name, s := range map[string]struct {
		vols []string
		env  map[string]string
	}{"hearth": {hearth.Volumes, hearth.Environment}, "ollama": {ollama.Volumes, ollama.Environment}} {
		if !slices.Contains(s.vols, "models:/models") || s.env["OLLAMA_MODELS"] != "/models" {
			t.Errorf("%s does not use the shared models volume at OLLAMA_MODELS: %v %v", name, s.vols, s.env)
		}
	}
	if len(hearth.Ports) == 0 || len(ollama.Ports) == 0 || hearth.Ports[0] == ollama.Ports[0] {
		t.Errorf("ports clash or are missing: hearth %v, ollama %v", hearth.Ports, ollama.Ports)
	}
	df, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Errorf("Dockerfile: %v", err)
	}
	// The benchmark service: opt-in (a profile), built from the Dockerfile's bench stage, running make bench
	// with the report on the host.
	bench, ok := f.Services["bench"]
	switch {
	case !ok:
		t.Error("no bench service")
	case !slices.Contains(bench.Profiles, "bench"):
		t.Errorf("bench service profiles = %v, want it opt-in under the bench profile", bench.Profiles)
	case !slices.Contains(bench.Volumes, "./out:/src/out"):
		t.Errorf("bench service volumes = %v, want ./out:/src/out", bench.Volumes)
	case len(bench.Command) < 2 || bench.Command[0] != "make" || bench.Command[1] != "bench":
		t.Errorf("bench service command = %v, want make bench", bench.Command)
	}
	if b, ok := bench.Build.(map[string]any); !ok || b["target"] != "bench" {
		t.Errorf("bench service build = %v, want the Dockerfile's bench target", bench.Build)
	}
	if !strings.Contains(string(df), "AS bench") {
		t.Error("the Dockerfile has no bench stage")
	}

	if err := exec.Command("docker", "compose", "version").Run(); err != nil {
		t.Log("docker compose plugin not installed; `docker compose config` not run")
		return
	}
	out, err := exec.Command("docker", "compose", "-f", "../docker-compose.yml", "config", "-q").CombinedOutput()
	if err != nil {
		t.Errorf("docker compose config: %v\n%s", err, out)
	}
}

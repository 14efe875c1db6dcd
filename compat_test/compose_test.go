package compat_test

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// composeService is the part of a docker-compose.yml service the README and the Makefile rely on.
type composeService struct {
	Build       composeBuild      `yaml:"build"`
	Image       string            `yaml:"image"`
	Ports       []string          `yaml:"ports"`
	Environment map[string]string `yaml:"environment"`
	Volumes     []string          `yaml:"volumes"`
	Profiles    []string          `yaml:"profiles"`
	Command     []string          `yaml:"command"`
}

// composeBuild is a service's build: either a context path alone or {context, dockerfile, target}.
type composeBuild struct {
	set                         bool
	Context, Dockerfile, Target string
}

func (b *composeBuild) UnmarshalYAML(n *yaml.Node) error {
	b.set = true
	if n.Kind == yaml.ScalarNode {
		return n.Decode(&b.Context)
	}
	var long struct {
		Context    string `yaml:"context"`
		Dockerfile string `yaml:"dockerfile"`
		Target     string `yaml:"target"`
	}
	if err := n.Decode(&long); err != nil {
		return err
	}
	b.Context, b.Dockerfile, b.Target = long.Context, long.Dockerfile, long.Target
	return nil
}

// dockerStage is one stage of a Dockerfile: its name and the instructions it holds (continuation lines
// joined).
type dockerStage struct {
	name  string
	lines []string
}

// has reports whether the stage has an instruction starting with prefix (e.g. "WORKDIR /src").
func (s dockerStage) has(prefix string) bool {
	return slices.ContainsFunc(s.lines, func(l string) bool { return strings.HasPrefix(l, prefix) })
}

var fromLine = regexp.MustCompile(`(?i)^FROM\s+(\S+)(?:\s+AS\s+(\S+))?$`)

// dockerStages reads a Dockerfile's stages in order; a stage built FROM an earlier one inherits its
// instructions.
func dockerStages(t *testing.T, path string) []dockerStage {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var stages []dockerStage
	var cont string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if rest, ok := strings.CutSuffix(line, `\`); ok {
			cont += rest + " "
			continue
		}
		line, cont = cont+line, ""
		if m := fromLine.FindStringSubmatch(line); m != nil {
			st := dockerStage{name: m[2]}
			if i := slices.IndexFunc(stages, func(s dockerStage) bool { return s.name == m[1] }); i >= 0 {
				st.lines = slices.Clone(stages[i].lines)
			}
			stages = append(stages, st)
			continue
		}
		if len(stages) == 0 {
			t.Fatalf("%s: %q before any FROM", path, line)
		}
		stages[len(stages)-1].lines = append(stages[len(stages)-1].lines, line)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(stages) == 0 {
		t.Fatalf("%s has no FROM", path)
	}
	return stages
}

// builtStage is the Dockerfile stage a service builds: its target, or the last stage.
func builtStage(t *testing.T, name string, b composeBuild) dockerStage {
	t.Helper()
	if !b.set {
		t.Fatalf("%s service is not built from a Dockerfile", name)
	}
	dockerfile := b.Dockerfile
	if dockerfile == "" {
		dockerfile = "Dockerfile"
	}
	stages := dockerStages(t, filepath.Join("..", b.Context, dockerfile))
	if b.Target == "" {
		return stages[len(stages)-1]
	}
	i := slices.IndexFunc(stages, func(s dockerStage) bool { return s.name == b.Target })
	if i < 0 {
		t.Fatalf("%s service builds target %q, which %s lacks", name, b.Target, dockerfile)
	}
	return stages[i]
}

// publishedPort splits a "host:container" port mapping.
func publishedPort(t *testing.T, service, mapping string) (host, container string) {
	t.Helper()
	host, container, ok := strings.Cut(mapping, ":")
	if !ok {
		t.Fatalf("%s port %q is not host:container", service, mapping)
	}
	return host, container
}

// listenPort is the port of an OLLAMA_HOST value.
func listenPort(t *testing.T, service, hostport string) string {
	t.Helper()
	_, port, err := net.SplitHostPort(hostport)
	if err != nil {
		t.Fatalf("%s OLLAMA_HOST %q: %v", service, hostport, err)
	}
	return port
}

// makeTargets are the targets the Makefile defines.
func makeTargets(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	var targets []string
	for _, m := range regexp.MustCompile(`(?m)^([A-Za-z][\w-]*):`).FindAllStringSubmatch(string(b), -1) {
		targets = append(targets, m[1])
	}
	return targets
}

// TestComposeFile checks, without Docker, what the README and the Makefile say docker-compose.yml does:
// hearth (built from the Dockerfile's runtime stage, which serves) on host port 11434 and the reference
// Ollama (the version go.mod pins) on 11435, each listening where its port is published, sharing one models
// volume at OLLAMA_MODELS; and the opt-in bench service, built from the Dockerfile's bench stage, running
// the Makefile's bench target in /src with its report on the host. Where the compose plugin exists,
// `docker compose config` must accept the file too.
func TestComposeFile(t *testing.T) {
	b, err := os.ReadFile("../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Services map[string]composeService `yaml:"services"`
		Volumes  map[string]any            `yaml:"volumes"`
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	hearth, ollama, bench := f.Services["hearth"], f.Services["ollama"], f.Services["bench"]

	// hearth serves from the runtime stage.
	runtime := builtStage(t, "hearth", hearth.Build)
	if !runtime.has(`ENTRYPOINT ["/usr/local/bin/hearth"]`) || !runtime.has(`CMD ["serve"]`) ||
		!runtime.has("COPY --from=build /src/bin/hearth /usr/local/bin/hearth") {
		t.Errorf("the hearth service's stage does not run `hearth serve` from the built binary: %q", runtime.lines)
	}

	// The reference Ollama is the version the compatibility tests compare against.
	gomod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*github\.com/ollama/ollama (v\S+)`).FindSubmatch(gomod)
	if m == nil {
		t.Fatal("go.mod does not require github.com/ollama/ollama")
	}
	if want := "ollama/ollama:" + strings.TrimPrefix(string(m[1]), "v"); ollama.Image != want {
		t.Errorf("ollama image = %q, want %q (the version go.mod pins)", ollama.Image, want)
	}

	// Ports as the README states them, each published to the port the server inside listens on.
	for _, s := range []struct {
		name string
		svc  composeService
		host string
	}{{"hearth", hearth, "11434"}, {"ollama", ollama, "11435"}} {
		if len(s.svc.Ports) != 1 {
			t.Errorf("%s ports = %v, want one", s.name, s.svc.Ports)
			continue
		}
		host, container := publishedPort(t, s.name, s.svc.Ports[0])
		if host != s.host {
			t.Errorf("%s is published on host port %s; the README says %s", s.name, host, s.host)
		}
		if listen := listenPort(t, s.name, s.svc.Environment["OLLAMA_HOST"]); listen != container {
			t.Errorf("%s publishes container port %s but listens on %s", s.name, container, listen)
		}
	}
	if !runtime.has("EXPOSE " + listenPort(t, "hearth", hearth.Environment["OLLAMA_HOST"])) {
		t.Errorf("the runtime stage does not expose the port hearth listens on: %q", runtime.lines)
	}

	// One store shared by both.
	if _, ok := f.Volumes["models"]; !ok {
		t.Error("no shared models volume")
	}
	for name, s := range map[string]composeService{"hearth": hearth, "ollama": ollama} {
		if !slices.Contains(s.Volumes, "models:/models") || s.Environment["OLLAMA_MODELS"] != "/models" {
			t.Errorf("%s does not use the shared models volume at OLLAMA_MODELS: %v %v", name, s.Volumes, s.Environment)
		}
	}

	// The benchmark service: opt-in (a profile), built from the Dockerfile's bench stage, running make bench
	// in the stage's /src with the report (out/bench) on the host.
	if _, ok := f.Services["bench"]; !ok {
		t.Fatal("no bench service")
	}
	if !slices.Contains(bench.Profiles, "bench") {
		t.Errorf("bench service profiles = %v, want it opt-in under the bench profile", bench.Profiles)
	}
	if bench.Build.Target != "bench" {
		t.Errorf("bench service builds target %q, want the Dockerfile's bench stage", bench.Build.Target)
	}
	stage := builtStage(t, "bench", bench.Build)
	if !stage.has("WORKDIR /src") || !stage.has("RUN make build") {
		t.Errorf("the bench stage does not build hearth in /src: %q", stage.lines)
	}
	if !slices.Contains(bench.Volumes, "./out:/src/out") {
		t.Errorf("bench service volumes = %v, want ./out:/src/out", bench.Volumes)
	}
	if len(bench.Command) < 2 || bench.Command[0] != "make" {
		t.Fatalf("bench service command = %v, want make bench", bench.Command)
	}
	if target := bench.Command[1]; target != "bench" || !slices.Contains(makeTargets(t), target) {
		t.Errorf("bench service runs `make %s`; want bench, a target of the Makefile (%v)", target, makeTargets(t))
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

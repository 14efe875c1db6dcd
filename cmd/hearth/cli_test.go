package main

import "testing"

// TestCommandLineDispatch pins which command lines are hearth's own and which are Ollama's CLI.
func TestCommandLineDispatch(t *testing.T) {
	for _, tc := range []struct {
		argv   []string
		ollama bool
	}{
		{[]string{"hearth"}, false},
		{[]string{"/usr/local/bin/hearth", "serve"}, false},
		{[]string{"hearth", "models", "list"}, false},
		{[]string{"hearth", "version"}, false},
		{[]string{"hearth", "internal-probe-load", "x"}, false},
		{[]string{"hearth", "run", "llama3.2"}, true},
		{[]string{"hearth", "--version"}, true},
		{[]string{"hearth", "help"}, true},
		{[]string{"hearth", "list"}, true},
		{[]string{"/usr/bin/ollama"}, true},
		{[]string{"ollama", "serve"}, true},
		{[]string{"ollama", "models"}, true},
		{[]string{"hearth", "serve", "--help"}, true},
		{[]string{"/usr/bin/ollama", "internal-probe-load", "x"}, false},
	} {
		if got := isOllamaCommandLine(tc.argv); got != tc.ollama {
			t.Errorf("isOllamaCommandLine(%q) = %v, want %v", tc.argv, got, tc.ollama)
		}
	}
}

// TestOllamaNameIsOllamasTree checks that under the name ollama the command tree is Ollama's alone (no
// hearth commands, Ollama's name in help), and under hearth's it adds models and version.
func TestOllamaNameIsOllamasTree(t *testing.T) {
	names := func(asOllama bool) map[string]bool {
		root := ollamaCLICommand(asOllama)
		m := map[string]bool{"root:" + root.Name(): true}
		for _, c := range root.Commands() {
			m[c.Name()] = true
		}
		return m
	}
	o, h := names(true), names(false)
	if !o["root:ollama"] || o["models"] || o["version"] || !o["run"] || !o["serve"] {
		t.Errorf("as ollama: %v", o)
	}
	if !h["root:hearth"] || !h["models"] || !h["version"] || !h["run"] || !h["pull"] {
		t.Errorf("as hearth: %v", h)
	}
}

# hearth's one entry point. Every target bootstraps what it needs first; the native build settings live
# in scripts/env.sh alone, so the Go build cache is shared by every target, the tests and CI.
SHELL := /bin/bash
ENV := source scripts/env.sh &&
GO_TEST_FLAGS ?= -count=1 -timeout 60m

.PHONY: all bootstrap build install install-systemd run test bench bench-tools bench-go soak models vet fmt clean

all: build

bootstrap:
	bash scripts/bootstrap.sh

build: bootstrap
	$(ENV) go build -trimpath -o bin/hearth ./cmd/hearth
	@# The release layout: bin/hearth finds its CPU backends in ../lib/ollama.
	@$(ENV) mkdir -p lib && rm -rf lib/ollama && cp -r "$$HEARTH_CACHE/lib/ollama" lib/ollama && cp "$$HEARTH_CACHE/lib/libonnxruntime.so" lib/

# Install the release layout under $(DESTDIR)$(PREFIX): bin/hearth, and beside it lib/ollama (the ggml CPU
# backends) and lib/libonnxruntime.so, which bin/hearth finds through its own path (../lib). That is where
# Ollama's installer puts its binary and backends, so on a machine that had Ollama, hearth takes its place.
# OLLAMA_LINK=1 also installs bin/ollama -> hearth: scripts calling `ollama ...` then run hearth's CLI.
PREFIX ?= /usr/local
DESTDIR ?=
OLLAMA_LINK ?=
install: build
	install -d "$(DESTDIR)$(PREFIX)/bin" "$(DESTDIR)$(PREFIX)/lib/ollama"
	install -m 755 bin/hearth "$(DESTDIR)$(PREFIX)/bin/hearth"
	cp -a lib/ollama/. "$(DESTDIR)$(PREFIX)/lib/ollama/"
	install -m 644 lib/libonnxruntime.so "$(DESTDIR)$(PREFIX)/lib/libonnxruntime.so"
	$(if $(OLLAMA_LINK),ln -sf hearth "$(DESTDIR)$(PREFIX)/bin/ollama")

# The optional system service (dist/systemd/hearth.service.in), as Ollama's installer sets one up: the unit
# under $(SYSTEMDDIR), and, when installing onto this machine (no DESTDIR), the hearth system user with its
# home $(STATEDIR) holding the model store, then systemd reloaded. `systemctl enable --now hearth` starts it.
SYSTEMDDIR ?= /etc/systemd/system
STATEDIR ?= /var/lib/hearth
install-systemd:
	install -d "$(DESTDIR)$(SYSTEMDDIR)"
	sed -e 's|@BINDIR@|$(PREFIX)/bin|g' -e 's|@STATEDIR@|$(STATEDIR)|g' dist/systemd/hearth.service.in \
		> "$(DESTDIR)$(SYSTEMDDIR)/hearth.service"
	chmod 644 "$(DESTDIR)$(SYSTEMDDIR)/hearth.service"
	@if [ -z "$(DESTDIR)" ]; then \
		id hearth >/dev/null 2>&1 || useradd -r -s /bin/false -U -m -d "$(STATEDIR)" hearth; \
		install -d -o hearth -g hearth "$(STATEDIR)"; \
		if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi; \
	fi

# Serve on OLLAMA_HOST (default 127.0.0.1:11434) with the generated default models registered.
run: build
	./bin/hearth serve

# A bounded soak (cmd/hearth-soak): bin/hearth on a free loopback port with its own temporary store, minutes
# of mixed concurrent traffic, then a table of requests, memory and goroutines over time; it exits non-zero
# when a request failed or memory or goroutines kept growing. SOAK_FLAGS="-duration 10m" runs longer.
SOAK_FLAGS ?=
soak: build
	$(ENV) go run ./cmd/hearth-soak -hearth bin/hearth $(SOAK_FLAGS)

models: build
	./bin/hearth models generate

# The reference ollama CLI is built too, and ollama-js and the OpenAI and Anthropic npm SDKs installed: the
# compatibility tests drive hearth with them.
test:
	bash scripts/bootstrap.sh ollama-cli node-sdks
	$(ENV) go vet ./...
	$(ENV) go test $(GO_TEST_FLAGS) ./...

# Side-by-side benchmark against the reference Ollama 0.17.4 (BENCHMARKS.md explains every workload): the
# request-path Go benchmarks, then hearth-bench with the bench-size models. Writes out/bench/results.md,
# results.json, throughput.svg and the servers' logs, and publishes the report into BENCHMARKS.md's
# generated block (raw files in benchmarks/). Run it on a quiet machine: the report says when it was not.
BENCH_FLAGS ?= --model bench --reps 6
bench: build bench-tools
	@mkdir -p out/bench
	set -o pipefail; $(ENV) go test -run '^$$' -bench RequestPath -benchmem -benchtime 2s ./handlers | tee out/bench/requestpath.txt
	$(ENV) ./bin/hearth-bench $(BENCH_FLAGS) --hearth bin/hearth --out out/bench --gobench out/bench/requestpath.txt --publish BENCHMARKS.md

# The reference Ollama (cached after the first build) and the bench command.
bench-tools:
	bash scripts/bootstrap.sh ollama-cli
	$(ENV) go build -o bin/hearth-bench ./cmd/hearth-bench

# Every Go micro-benchmark of the module, three iterations each.
bench-go: build
	$(ENV) go test -run '^$$' -bench . -benchtime 3x ./...

vet:
	$(ENV) go vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin lib

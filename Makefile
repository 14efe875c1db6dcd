# hearth's one entry point. Every target bootstraps what it needs first; the native build settings live
# in scripts/env.sh alone, so the Go build cache is shared by every target, the tests and CI.
SHELL := /bin/bash
ENV := source scripts/env.sh &&
GO_TEST_FLAGS ?= -count=1 -timeout 60m

.PHONY: all bootstrap build run test bench models vet fmt clean

all: build

bootstrap:
	bash scripts/bootstrap.sh

build: bootstrap
	$(ENV) go build -trimpath -o bin/hearth ./cmd/hearth
	@# The release layout: bin/hearth finds its CPU backends in ../lib/ollama.
	@$(ENV) mkdir -p lib && rm -rf lib/ollama && cp -r "$$HEARTH_CACHE/lib/ollama" lib/ollama && cp "$$HEARTH_CACHE/lib/libonnxruntime.so" lib/

# Serve on OLLAMA_HOST (default 127.0.0.1:11434) with the generated default models registered.
run: build
	./bin/hearth serve

models: build
	./bin/hearth models generate

# The reference ollama CLI is built too, and the OpenAI and Anthropic npm SDKs installed: the compatibility
# tests drive hearth with them.
test:
	bash scripts/bootstrap.sh ollama-cli node-sdks
	$(ENV) go vet ./...
	$(ENV) go test $(GO_TEST_FLAGS) ./...

bench: build
	$(ENV) go test -run '^$$' -bench . -benchtime 3x ./...

vet:
	$(ENV) go vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin lib

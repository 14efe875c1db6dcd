# shellcheck shell=bash
# The one place where hearth's native build settings live. Sourced by the Makefile's recipes and by every
# script that builds or runs Go code, so the Go build cache (whose key includes every CGO_* variable) is
# reused across `make build`, `make test`, the benchmark and CI.
export HEARTH_CACHE="${HEARTH_CACHE:-$HOME/.cache/hearth}"

# Statically compiled fallback kernels: AVX2/FMA/F16C, portable to any x86-64 since about 2015. The fast
# kernels (AVX-512, VNNI, AMX) come from the dynamically loaded ggml CPU backends under lib/ollama.
export CGO_ENABLED=1
export CGO_CFLAGS="-O3 -march=x86-64-v3"
export CGO_CXXFLAGS="-O3 -march=x86-64-v3"
export CGO_CPPFLAGS="-I${HEARTH_CACHE}/include"
export CGO_LDFLAGS=""

# Where the server finds the ggml CPU backends and ONNX Runtime when the user has not said otherwise.
export OLLAMA_LIBRARY_PATH="${OLLAMA_LIBRARY_PATH:-${HEARTH_CACHE}/lib/ollama}"
export HEARTH_ORT_LIBRARY="${HEARTH_ORT_LIBRARY:-${HEARTH_CACHE}/lib/libonnxruntime.so}"

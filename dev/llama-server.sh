#!/usr/bin/env bash
# A real llama.cpp llama-server plus a tiny random-weight model, for end-to-end tests.
#
#   dev/llama-server.sh build     ensure binary + model are in the cache; print both paths
#   dev/llama-server.sh path      print the binary path (exit 1 if not built)
#   dev/llama-server.sh model     print the model path (exit 1 if not generated)
#   dev/llama-server.sh run PORT [extra llama-server args...]   exec the server on 127.0.0.1:PORT
#
# The llama.cpp source comes from the npm package node-llama-cpp, which ships it as a git bundle
# (llama/gitRelease.bundle). It is built with CMake (llama-server target only, CPU, static libs,
# no UI, no TLS) into ${XDG_CACHE_HOME:-$HOME/.cache}/llmproxy/llama-server-<npm version>/,
# together with tiny-chatml.gguf written by dev/tiny-model.py. Nothing big lands in the repo.
# Missing tools are installed from Debian (apt-get). Quiet unless it fails; the build log is
# build.log in the cache dir. Concurrent runs serialize on a flock.
set -euo pipefail

NODE_LLAMA_CPP_VERSION="3.22.1"

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE_ROOT="${XDG_CACHE_HOME:-$HOME/.cache}/llmproxy"
DIR="$CACHE_ROOT/llama-server-$NODE_LLAMA_CPP_VERSION"
BIN="$DIR/llama-server"
MODEL="$DIR/tiny-chatml.gguf"
MODEL_STAMP="$MODEL.stamp"   # sha256 of the generator that wrote the model
SRC="$DIR/src"
LOG="$DIR/build.log"
LOCK="$CACHE_ROOT/.llama-server-$NODE_LLAMA_CPP_VERSION.lock"

usage() {
  sed -n '4,7p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

die() {
  echo "llama-server.sh: $*" >&2
  if [[ -f "$LOG" ]]; then
    echo "--- last lines of $LOG ---" >&2
    tail -n 40 "$LOG" >&2 || true
  fi
  exit 1
}

generator_sum() { sha256sum "$SCRIPT_DIR/tiny-model.py" | cut -d' ' -f1; }

model_ok() {
  [[ -s "$MODEL" && -f "$MODEL_STAMP" ]] && [[ "$(cat "$MODEL_STAMP")" == "$(generator_sum)" ]]
}

APT_UPDATED=0
apt_install() {
  # apt_install PKG... : installs only those that are not installed yet
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  command -v apt-get >/dev/null || die "missing ${missing[*]} and no apt-get to install them"
  local sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  echo "== apt-get install ${missing[*]}" >>"$LOG"
  if ((APT_UPDATED == 0)); then
    "${sudo[@]}" apt-get update >>"$LOG" 2>&1 || die "apt-get update failed"
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}" \
    >>"$LOG" 2>&1 || die "apt-get install ${missing[*]} failed"
}

ensure_build_tools() {
  local need=()
  command -v cmake >/dev/null || need+=(cmake)
  command -v make >/dev/null || need+=(make)
  command -v g++ >/dev/null || need+=(g++)
  command -v git >/dev/null || need+=(git)
  command -v npm >/dev/null || need+=(npm)
  command -v tar >/dev/null || need+=(tar)
  ((${#need[@]})) && apt_install "${need[@]}"
  return 0
}

fetch_source() {
  [[ -d "$SRC/.git" && -f "$SRC/CMakeLists.txt" ]] && return 0
  local tmp="$DIR/fetch.tmp"
  rm -rf "$tmp" "$SRC"
  mkdir -p "$tmp"
  echo "== npm pack node-llama-cpp@$NODE_LLAMA_CPP_VERSION" >>"$LOG"
  (cd "$tmp" && npm pack "node-llama-cpp@$NODE_LLAMA_CPP_VERSION" --silent) >>"$LOG" 2>&1 \
    || die "npm pack node-llama-cpp@$NODE_LLAMA_CPP_VERSION failed"
  tar -xzf "$tmp/node-llama-cpp-$NODE_LLAMA_CPP_VERSION.tgz" -C "$tmp" package/llama/gitRelease.bundle \
    >>"$LOG" 2>&1 || die "no llama/gitRelease.bundle in node-llama-cpp@$NODE_LLAMA_CPP_VERSION"
  git clone -q "$tmp/package/llama/gitRelease.bundle" "$tmp/src" >>"$LOG" 2>&1 || die "git clone of the bundle failed"
  git -C "$tmp/src" rev-parse HEAD >"$DIR/source-commit"
  mv "$tmp/src" "$SRC"
  rm -rf "$tmp"
}

build_binary() {
  [[ -x "$BIN" ]] && return 0
  ensure_build_tools
  fetch_source
  local t0=$SECONDS
  echo "== cmake configure (llama.cpp $(cat "$DIR/source-commit" 2>/dev/null))" >>"$LOG"
  cmake -S "$SRC" -B "$SRC/build" \
    -DCMAKE_BUILD_TYPE=Release \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_APP=OFF \
    -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF \
    -DLLAMA_OPENSSL=OFF -DBUILD_SHARED_LIBS=OFF \
    -DGGML_NATIVE=OFF -DGGML_CCACHE=OFF \
    >>"$LOG" 2>&1 || die "cmake configure failed"
  echo "== cmake build llama-server" >>"$LOG"
  cmake --build "$SRC/build" --target llama-server -j "$(nproc 2>/dev/null || echo 2)" >>"$LOG" 2>&1 \
    || die "cmake build failed"
  local out="$SRC/build/bin/llama-server"
  [[ -x "$out" ]] || die "build finished but $out is missing"
  cp "$out" "$BIN.tmp"
  mv -f "$BIN.tmp" "$BIN"
  echo "== built $BIN in $((SECONDS - t0)) s" >>"$LOG"
}

pick_python() {
  local py
  for py in python3 /usr/bin/python3; do
    if command -v "$py" >/dev/null && "$py" -c 'import numpy, yaml' >/dev/null 2>&1; then
      command -v "$py"
      return 0
    fi
  done
  apt_install python3 python3-numpy python3-yaml
  /usr/bin/python3 -c 'import numpy, yaml' >/dev/null 2>&1 || die "python3 with numpy and yaml not available"
  echo /usr/bin/python3
}

build_model() {
  model_ok && return 0
  if [[ ! -d "$SRC/gguf-py" ]]; then
    ensure_build_tools
    fetch_source
  fi
  local py
  py="$(pick_python)"
  echo "== generate $MODEL with $py" >>"$LOG"
  rm -f "$MODEL_STAMP"
  PYTHONPATH="$SRC/gguf-py" "$py" "$SCRIPT_DIR/tiny-model.py" \
    --vocab "$SRC/models/ggml-vocab-llama-spm.gguf" --out "$MODEL.tmp" >>"$LOG" 2>&1 \
    || die "model generation failed"
  mv -f "$MODEL.tmp" "$MODEL"
  generator_sum >"$MODEL_STAMP"
}

cmd_build() {
  if [[ ! -x "$BIN" ]] || ! model_ok; then
    mkdir -p "$DIR"
    exec 9>"$LOCK"
    flock 9
    # another run may have finished while we waited
    if [[ ! -x "$BIN" ]] || ! model_ok; then
      build_binary
      build_model
    fi
    flock -u 9
    exec 9>&-
  fi
  echo "$BIN"
  echo "$MODEL"
}

case "${1:-}" in
  build) cmd_build ;;
  path)
    [[ -x "$BIN" ]] || { echo "llama-server not built: run dev/llama-server.sh build" >&2; exit 1; }
    echo "$BIN" ;;
  model)
    model_ok || { echo "model missing or older than dev/tiny-model.py: run dev/llama-server.sh build" >&2; exit 1; }
    echo "$MODEL" ;;
  run)
    [[ $# -ge 2 ]] || usage
    port="$2"
    shift 2
    [[ -x "$BIN" && -s "$MODEL" ]] || { echo "not built: run dev/llama-server.sh build" >&2; exit 1; }
    exec "$BIN" -m "$MODEL" --host 127.0.0.1 --port "$port" -c 4096 -np 4 -t 1 --metrics "$@" ;;
  *) usage ;;
esac

#!/usr/bin/env bash
# Installs every Debian 12 package patgrad needs to build, test and benchmark. Idempotent.
set -euo pipefail
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
packages=(
  build-essential cmake ninja-build git
  llvm-19-dev lld-19 clang-19 libclang-rt-19-dev   # LLVM 19: Support/ADT, ORC JIT, NVPTX; clang-19 for libFuzzer
  libzstd-dev libedit-dev libxml2-dev zlib1g-dev   # what LLVM 19's CMake package links against
  flex bison libfmt-dev catch2 libz3-dev
  python3-numpy libopenblas0-pthread               # benchmark anchors (numpy on OpenBLAS)
  dataset-fashion-mnist                            # training data
)
missing=()
for p in "${packages[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  $sudo apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"
fi

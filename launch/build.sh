#!/usr/bin/env bash
# Configures and builds distgru into build/ (Release, Ninja).
#   launch/build.sh [--tests] [extra cmake -D flags]
# Without --tests only the executables are built.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${DISTGRU_BUILD_DIR:-$root/build}
tests=OFF
if [[ "${1:-}" == "--tests" ]]; then tests=ON; shift; fi
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
if [[ -f "$build/CMakeCache.txt" ]]; then generator=(); fi  # keep the existing generator
cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DDISTGRU_BUILD_TESTS=$tests "$@"
cmake --build "$build" -j "$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)"

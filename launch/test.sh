#!/usr/bin/env bash
# The README's second command: builds distgru with its tests and runs every
# test (unit, MPI with 1-3 ranks, end-to-end on the real IMDB archive).
#   launch/test.sh [extra ctest flags, e.g. -L unit]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${DISTGRU_BUILD_DIR:-$root/build}
"$root/launch/build.sh" --tests
cd "$build"
ctest --output-on-failure -j "$(nproc)" "$@"

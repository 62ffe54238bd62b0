#!/usr/bin/env bash
# The README's second command: builds distgru with its tests and runs every
# test (unit, MPI with 1-3 ranks, end-to-end on the real IMDB archive).
#   launch/test.sh [extra ctest flags, e.g. -L unit]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${DISTGRU_BUILD_DIR:-$root/build}
"$root/launch/build.sh" --tests
# The npm test tools, at the versions of their lock file. --ignore-scripts:
# onnxruntime-node's install script would fetch GPU libraries from a host
# that cannot be reached; its CPU library is inside the package.
tools=$root/tests/tools
if [[ ! -d $tools/node_modules || $tools/package-lock.json -nt $tools/node_modules ]]; then
  (cd "$tools" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) && touch "$tools/node_modules"
fi
cd "$build"
ctest --output-on-failure -j "$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)" "$@"

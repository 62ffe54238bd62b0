#!/usr/bin/env bash
# Installs the Debian 12 packages distgru needs, only those missing.
# Needs root (or sudo). Safe to run again: it does nothing when all are there.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates curl
  libtorch-dev                      # LibTorch 1.13 (CPU) C++ frontend
  libopenblas0-pthread              # an optimised BLAS: ~10x faster steps than the reference BLAS
  libdnnl-dev                       # oneDNN: the fast GRU's products in fp32 and bfloat16 (model/onednn_gemm.h)
  ocl-icd-opencl-dev                # Debian's oneDNN is built for OpenCL GPUs: its CMake config needs the OpenCL
                                    # headers, only a Recommends, which --no-install-recommends (below) skips
  libopenmpi-dev openmpi-bin        # MPI ranks and the CPU communicator
  libhdf5-dev                       # shards
  libboost-program-options-dev      # flags and config files
  libarchive-dev                    # reading the .tar.gz without unpacking
  libssl-dev                        # SHA-256 of shards (manifest)
  nlohmann-json3-dev libfmt-dev libspdlog-dev
  libgtest-dev                      # tests
  gnuplot-nox fonts-dejavu-core     # distgru-report's charts
  chromium                          # the heat map page's browser test (tests/cli/viz_test.sh)
  slurmctld slurmd slurm-client munge slurm-wlm-basic-plugins  # the real-Slurm test (tests/slurm)
  iproute2 util-linux               # hosts made of namespaces: ip, nsenter, unshare (tests/cluster)
  python3-torch python3-h5py        # bench/: the PyTorch baseline, same LibTorch 1.13
  fasttext                          # data/pretrain_vectors.sh: word vectors from the training reviews
  libonnx-dev libprotobuf-dev protobuf-compiler  # distgru-export's ONNX graph; TensorBoard event files
  python3-onnx python3-protobuf     # tests: onnx.checker, and reading the exports without distgru's code
)
# Node.js and npm run the npm test tools (tests/tools/package.json: ONNX
# Runtime, protobufjs). Debian's packages only where neither is installed
# already (a machine may have Node.js from elsewhere, with its own npm).
command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install_deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [[ $(id -u) != 0 ]]; then
  command -v sudo >/dev/null || { echo "install_deps: need root to install: ${missing[*]}" >&2; exit 1; }
  sudo=sudo
fi
echo "install_deps: installing ${missing[*]}"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"

#!/usr/bin/env bash
# Downloads, on a Debian 12 machine, the .deb files of the libraries distgru
# builds against besides LibTorch and CUDA (Open MPI, HDF5, Boost
# program_options, libarchive, OpenSSL, nlohmann-json, fmt, spdlog, GoogleTest
# and what they load), for a GPU host that has a CUDA LibTorch but neither
# these nor a network. run_gpu_checks.sh --debs DIR unpacks them into a
# private prefix there (nothing is installed system-wide).
#
#   tests/gpu/offline_debs.sh OUT_DIR
set -euo pipefail
out=${1:?usage: offline_debs.sh OUT_DIR}
packages=(
  # Open MPI and what libmpi/orterun load
  libopenmpi-dev libopenmpi3 openmpi-bin openmpi-common libhwloc15 libevent-core-2.1-7
  libevent-pthreads-2.1-7 libpmix2 libfabric1 libucx0 libibverbs1 librdmacm1 libpsm2-2
  libpsm-infinipath1 libnl-3-200 libnl-route-3-200 libnuma1 libmunge2 libltdl7 libpciaccess0
  # HDF5 (serial) and its libcurl for the ROS3 driver
  libhdf5-dev libhdf5-103-1 libhdf5-hl-100 libhdf5-cpp-103-1 libhdf5-hl-cpp-100 libsz2 libaec0
  libaec-dev libcurl3-gnutls libgnutls30 libnghttp2-14 librtmp1 libssh2-1 libpsl5 libidn2-0
  libgssapi-krb5-2 libldap-2.5-0 libbrotli1 libnettle8 libhogweed6 libgmp10 libp11-kit0
  libtasn1-6 libunistring2 libkrb5-3 libk5crypto3 libkrb5support0 libkeyutils1 libcom-err2
  libsasl2-2 libsasl2-modules-db libdb5.3 zlib1g-dev libjpeg62-turbo libjpeg62-turbo-dev libjpeg-dev
  # the rest of distgru's dependencies
  libboost-program-options-dev libboost-program-options1.74-dev libboost-program-options1.74.0
  libboost1.74-dev libarchive-dev libarchive13 libacl1 libxml2 libicu72 liblz4-1 libssl-dev libssl3
  nlohmann-json3-dev libfmt-dev libfmt9 libspdlog-dev libspdlog1.10 libgtest-dev googletest
)
mkdir -p "$out"
cd "$out"
apt-get download "${packages[@]}"
echo "offline_debs: $(ls ./*.deb | wc -l) packages, $(du -sh . | cut -f1) in $out"

#!/usr/bin/env bash
# Installs the Debian 12 packages stitch needs; does nothing when all are present.
# Run as root (or with sudo available). Idempotent: safe to run before every build.
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ccache git pkg-config
  # formatting check run by `make test` (scripts/check-format.sh)
  clang-format
  # networks: libtorch (C++ API) and the fast BLAS it calls through libblas.so.3
  libtorch-dev libopenblas0-pthread
  # cblas.h and libblas.so: the fused training path calls sgemm itself (src/nn/fused_mlp.cpp)
  libblas-dev
  # oneDNN: bf16 matmuls on AMX / AVX-512 BF16 for --set precision=bf16 (src/nn/matmul.cpp)
  libdnnl-dev
  # physics: MuJoCo; its CMake package also needs qhull headers and OpenGL
  libmujoco-dev libqhull-dev libopengl-dev
  # datasets, and SHA-256 for their provenance
  libhdf5-dev libssl-dev
  # TensorBoard event files: protobuf messages
  libprotobuf-dev protobuf-compiler
  # small libraries: JSON, CLI parsing, logging
  nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev
  # MPI: `mpirun -n K stitch sweep --mpi` (src/dist)
  libopenmpi-dev openmpi-bin
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # Python reference implementations and interop checks (Debian's /usr/bin/python3)
  python3 python3-torch python3-h5py python3-numpy
  # the Python module (import stitch): pybind11 and the interpreter's headers
  pybind11-dev python3-dev
  # tests: an independent reader of TensorBoard files, and a browser that renders the report
  python3-protobuf chromium
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} > 0)); then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# libtorch resolves BLAS through the alternatives link libblas.so.3. The reference BLAS is
# about 30x slower than OpenBLAS here; point the link at OpenBLAS when it is installed.
arch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
openblas="/usr/lib/${arch}/openblas-pthread/libblas.so.3"
link="libblas.so.3-${arch}"
if [[ -e $openblas ]] && command -v update-alternatives >/dev/null; then
  current=$(update-alternatives --query "$link" 2>/dev/null | awk '/^Value:/ {print $2}')
  if [[ "$current" != "$openblas" ]]; then
    echo "install-deps: pointing $link at OpenBLAS"
    ${SUDO:-} update-alternatives --set "$link" "$openblas"
  fi
fi
echo "install-deps: all dependencies present"

#!/usr/bin/env bash
# The test command (README, .ci/run): installs what is missing, then builds
# and runs the whole suite twice: plain (Release, -Wall -Wextra -Werror) and
# under AddressSanitizer + UndefinedBehaviorSanitizer (Debug).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
jobs=$(nproc)

echo "== plain build (Release) =="
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$jobs"
(cd build && ctest --output-on-failure -j"$jobs")

echo "== ASan + UBSan build =="
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCS_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j"$jobs")

echo "== linkage =="
if ldd build/covshift | grep -q libgslcblas; then
    echo "FAIL: build/covshift links libgslcblas (GSL must use OpenBLAS's CBLAS)" >&2
    exit 1
fi
ldd build/covshift | grep -q libopenblas || { echo "FAIL: build/covshift does not link OpenBLAS" >&2; exit 1; }
echo "build/covshift links $(ldd build/covshift | grep -o 'libopenblas[^ ]*' | head -n1), no libgslcblas"
echo "all tests passed (plain and sanitized)"

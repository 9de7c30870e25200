#!/usr/bin/env bash
# The test command (README, .ci/run): installs what is missing, then builds
# and runs the whole suite twice: plain (Release, -Wall -Wextra -Werror) and
# under AddressSanitizer + UndefinedBehaviorSanitizer (Debug).
set -euo pipefail
cd "$(dirname "$0")/.."
# tests/test_slurm.sh starts a one-node Slurm: its daemons are Debian packages too
CS_EXTRA_PACKAGES="${CS_EXTRA_PACKAGES-} slurm-wlm munge" bash scripts/setup.sh
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
# Capture ldd once: `ldd | grep -q` under pipefail fails at random when grep
# exits early and ldd gets SIGPIPE.
linkage=$(ldd build/covshift)
if grep -q libgslcblas <<<"$linkage"; then
    echo "FAIL: build/covshift links libgslcblas (GSL must use OpenBLAS's CBLAS)" >&2
    exit 1
fi
grep -q libopenblas <<<"$linkage" || { echo "FAIL: build/covshift does not link OpenBLAS" >&2; echo "$linkage" >&2; exit 1; }
echo "build/covshift links $(grep -o 'libopenblas[^ ]*' <<<"$linkage" | head -n1), no libgslcblas"
echo "all tests passed (plain and sanitized)"

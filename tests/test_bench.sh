#!/usr/bin/env bash
# The benchmark scripts run to completion on a tiny workload and print what
# bench/README.md says they print: bench/bench.sh a row per command with the
# BLAS core and the products each process really issued (the probe), the
# ratios and the load; bench/scaling.sh a row per point and a fitted exponent
# per axis. Not a timing test: no time is compared with anything.
# usage: test_bench.sh COVSHIFT_BINARY SOURCE_DIR
set -euo pipefail
bin=$1
src=$2
build=$(cd "$(dirname "$bin")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail=0
ok() { echo "ok: $1"; }
bad() { echo "FAIL: $1" >&2; fail=1; }

# 3 runs (none, bn-batch, bn-frozen) of depth 3 x (2 + 2) steps: 36
# products, 12 of layer 1 (16 x 32 x 16) and 24 of 16 x 32 x 32.
cat >"$tmp/tiny.ini" <<'INI'
[experiment]
name = bench_tiny
[network]
depth = 3
width = 32
input_dim = 16
[norm]
norm = none, batch
bn_phase_b = batch, frozen
[data]
batch = 16
steps_a = 2
steps_b = 2
[run]
seed = 1
bins = 8
INI
# As on a CPU Debian's OpenBLAS does not know: OpenBLAS "detects" its
# Prescott fallback (the suite's word test-as-detected, docs/design.md §6),
# covshift replaces it and the peer keeps it, so the bench must also run
# the peer on covshift's core, and the floor on covshift's core.
export OPENBLAS_CORETYPE=Prescott COVSHIFT_BLAS=test-as-detected
core=$("$bin" --version | sed -n 's/.*; core \([A-Za-z0-9]*\), chosen by covshift.*/\1/p')
[[ -n "$core" && "$core" != Prescott ]] || bad "covshift --version names no replacement core"

rc=0
bash "$src/bench/bench.sh" --ini "$tmp/tiny.ini" --quickstart "$tmp/tiny.ini" --rounds 2 \
    --build "$build" --no-setup --keep "$tmp/keep" >"$tmp/out" 2>&1 || rc=$?
unset OPENBLAS_CORETYPE COVSHIFT_BLAS
cat "$tmp/out"
[[ $rc == 0 ]] && ok "bench.sh exits 0" || bad "bench.sh exited $rc"
# row LABEL: the table row of a command, its cells trimmed, "|"-separated.
row() { grep -F "| $1" "$tmp/out" | head -n 1 | sed "s/ *| */|/g" || true; }
# covshift runs the 3 runs as one group (docs/design.md §1 Schedules):
# layer 1's product once per step (4), and at layers 2 and 3 the none run's
# 4, phase A's 2 once for both batch-norm runs and their phase B's 2 each:
# 24 products; with the kernel check's 67 x 45 x 53 product after
# replacing the core, 25 calls. The floor issues all 36.
for label in "covshift run|25" "covshift run --gemm-only|25" "floor (bench_floor)|36"; do
    calls=${label#*|} label=${label%|*}
    r=$(row "$label")
    if [[ "$r" == "|$label|$core|$calls, 0.001|"*"|"* ]]; then
        ok "'$label' ran core $core and issued $calls products"
    else
        bad "'$label' row should name core $core and $calls products: '$r'"
    fi
done
r=$(row "quickstart run")
[[ "$r" == "|quickstart run, --jobs "*"|$core|"* ]] && ok "quickstart row" || bad "quickstart row: '$r'"
# The header names the torch the peer imported, or "torch none" when it
# could not: then the peer must be skipped, with the reason.
if ! grep -q ', torch none;' "$tmp/out"; then
    # torch calls the Fortran dgemm_ (column-major): the same 36 products
    r=$(row "peer (PyTorch), as shipped")
    [[ "$r" == "|peer (PyTorch), as shipped|Prescott|36, 0.001|"* ]] &&
        ok "the peer as shipped kept Prescott and issued the same 36 products" || bad "peer row: '$r'"
    r=$(row "peer, OPENBLAS_CORETYPE=$core")
    [[ "$r" == "|peer, OPENBLAS_CORETYPE=$core|$core|36, 0.001|"* ]] &&
        ok "the peer also ran on covshift's core $core" || bad "no peer row on core $core: '$r'"
    for ratio in "peer as shipped / covshift" "peer with covshift's core / covshift"; do
        grep -q "^| $ratio *| *[0-9.]* | *[0-9.]* |" "$tmp/out" && ok "ratio '$ratio'" || bad "no ratio '$ratio'"
    done
else
    grep -q 'skipping the PyTorch peer' "$tmp/out" && ok "the peer is skipped with a message" ||
        bad "no torch and no message saying the peer is skipped"
fi
for ratio in "covshift / floor" "covshift / gemm-only" "gemm-only / floor"; do
    grep -q "^| $ratio *| *[-0-9.]* | *[-0-9.]* |" "$tmp/out" && ok "ratio '$ratio'" || bad "no ratio '$ratio'"
done
grep -q '^load: average .* before, .* after' "$tmp/out" && ok "load line" || bad "no load line"
# two rounds: two timings per command, each "wall cpu rss_kb load"
n=$(awk 'NF == 4 && $3 > 0' "$tmp/keep/covshift.times" 2>/dev/null | wc -l)
[[ $n == 2 ]] && ok "two rounds timed" || bad "covshift.times should hold 2 rows of 4 fields, has $n"

rc=0
bash "$src/bench/bench.sh" --rounds 0 >/dev/null 2>&1 || rc=$?
[[ $rc == 2 ]] && ok "bench.sh --rounds 0 exits 2" || bad "bench.sh --rounds 0 exited $rc"
rc=0
bash "$src/bench/bench.sh" --no-setup --build "$build" --ini "$tmp/none.ini" >/dev/null 2>&1 || rc=$?
[[ $rc == 2 ]] && ok "bench.sh on a missing file exits 2" || bad "bench.sh on a missing file exited $rc"
rc=0
"$build/bench_floor" 16x32:4 >/dev/null 2>&1 || rc=$?
[[ $rc == 2 ]] && ok "bench_floor rejects a bad group" || bad "bench_floor 16x32:4 exited $rc"

rc=0
bash "$src/bench/scaling.sh" --tiny --build "$build" >"$tmp/scaling" 2>&1 || rc=$?
cat "$tmp/scaling"
[[ $rc == 0 ]] && ok "scaling.sh exits 0" || bad "scaling.sh exited $rc"
n=$(grep -cE '^\| (depth|width|batch) +\| +[0-9]+ \| +[0-9]+ \| +[0-9]+ \|' "$tmp/scaling" || true)
[[ $n == 9 ]] && ok "9 scaling points" || bad "scaling should print 9 points, got $n"
# the GFLOP of a point: 2 (A + B) x steps x 2 depth batch width^2 / 1e9
r=$(grep -E '^\| width +\| +4 \| +64 \| +16 \|' "$tmp/scaling" | sed 's/ *| */|/g')
[[ "$r" == "|width|4|64|16|0.001|"* ]] && ok "width 64 point" || bad "width 64 point: '$r'"
for axis in depth width batch; do
    e='-?[0-9]+\.[0-9]+'
    grep -qE "^\| $axis +\| $e, $e, $e +\| [0-9] +\| $e, $e, $e +\|" \
        "$tmp/scaling" && ok "$axis exponents" || bad "no fitted exponents for $axis"
done
rc=0
bash "$src/bench/scaling.sh" --widths "16 x" >/dev/null 2>&1 || rc=$?
[[ $rc == 2 ]] && ok "scaling.sh rejects a bad width" || bad "scaling.sh --widths '16 x' exited $rc"

exit $fail

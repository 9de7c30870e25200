#!/usr/bin/env bash
# The training benchmark (bench/README.md, "Training"): covshift run
# bench/train.ini against bench/peer_train.py (PyTorch, float64, the same
# network, data and recording), alternately for --rounds N (default 3),
# each into a fresh database, both on one thread (one --jobs worker).
# Prints the median CPU time (user + sys) and wall time of each, their
# ratio, the peak RSS, and checks that both wrote the same row counts;
# then bench_train's time per step against the step's GEMM floor.
#   bash bench/bench_train.sh [--rounds N] [--steps S]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=3
steps=1000
while (($#)); do
    case $1 in
    --rounds) rounds=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    -h | --help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "bench_train: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
CS_EXTRA_PACKAGES="python3-torch python3-numpy time" bash scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j2 --target covshift bench_train >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed "s/^train_steps = .*/train_steps = $steps/" bench/train.ini >"$tmp/train.ini"
export COVSHIFT_THREADS=1 OPENBLAS_NUM_THREADS=1
counts() {
    sqlite3 -batch -noheader "$1" "SELECT 'train_loss=' || (SELECT count(*) FROM train_loss) ||
        ' train_eval=' || (SELECT count(*) FROM train_eval) || ' train_probe=' ||
        (SELECT count(*) FROM train_probe) || ' train_layers=' || (SELECT count(*) FROM train_layers) ||
        ' train_prior=' || (SELECT count(*) FROM train_prior)"
}
for r in $(seq 1 "$rounds"); do
    rm -f "$tmp"/c.db* "$tmp"/p.db
    /usr/bin/time -f "%U %S %e %M" -o "$tmp/c.$r" build/covshift run "$tmp/train.ini" --db "$tmp/c.db" --quiet
    /usr/bin/time -f "%U %S %e %M" -o "$tmp/p.$r" /usr/bin/python3 bench/peer_train.py "$tmp/p.db" \
        "$steps" 100 2000 >"$tmp/p.counts"
    c=$(counts "$tmp/c.db")
    p=$(cat "$tmp/p.counts")
    [[ $c == "$p" ]] || { echo "bench_train: row counts differ: covshift $c, peer $p" >&2; exit 1; }
done
med() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
ccpu=$(cat "$tmp"/c.* | awk '{ print $1 + $2 }' | med)
pcpu=$(cat "$tmp"/p.[0-9]* | awk '{ print $1 + $2 }' | med)
cwall=$(cat "$tmp"/c.* | awk '{ print $3 }' | med)
pwall=$(cat "$tmp"/p.[0-9]* | awk '{ print $3 }' | med)
crss=$(cat "$tmp"/c.* | awk '{ print $4 }' | med)
prss=$(cat "$tmp"/p.[0-9]* | awk '{ print $4 }' | med)
echo "rows (both): $c"
printf 'covshift  cpu %7.2f s  wall %7.2f s  peak RSS %8d KB\n' "$ccpu" "$cwall" "$crss"
printf 'peer      cpu %7.2f s  wall %7.2f s  peak RSS %8d KB\n' "$pcpu" "$pwall" "$prss"
awk -v a="$pcpu" -v b="$ccpu" -v c="$pwall" -v d="$cwall" \
    'BEGIN { printf "peer / covshift: %.2f (CPU), %.2f (wall); target >= 1.5\n", a / b, c / d }'
build/bench_train

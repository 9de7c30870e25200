#!/usr/bin/env bash
# The speed of covshift merge (docs/cluster.md, "Merge speed"): a sweep of
# tiny runs with many result rows each (depth 10, 64 bins: 4,743 rows a
# run), split into N shards, each written by its own `covshift run --shard
# K/N` (two at a time), then merged into a new database, then merged again
# into it (every run already there). Prints the time of each, per shard and
# per million result rows.
#
#   bash bench/bench_merge.sh [--covshift BIN] [--shards N] [--runs R] [--dir DIR]
#
# Defaults: build/covshift, 200 shards, 430 runs (2.04 million rows), a
# temporary directory (removed at the end unless --dir is given).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$PWD/build/covshift
shards=200
runs=430
dir=
while (($#)); do
    case $1 in
    --covshift) bin=$(realpath "$2"); shift 2 ;;
    --shards) shards=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --dir) dir=$(realpath -m "$2"); shift 2 ;;
    -h | --help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench_merge: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
[[ -x $bin ]] || { echo "bench_merge: no executable $bin (build first)" >&2; exit 2; }
keep=1
if [[ -z $dir ]]; then
    dir=$(mktemp -d "${TMPDIR:-/tmp}/covshift-bench-merge.XXXXXX")
    keep=0
fi
trap '((keep)) || rm -rf "$dir"' EXIT
mkdir -p "$dir"
cd "$dir"
cat >bench_merge.ini <<EOF
[experiment]
name = bench_merge
[network]
depth = 10
width = 8
input_dim = 8
[data]
batch = 4
steps_a = 10
steps_b = 10
[run]
seed = 1..$runs
bins = 64
EOF
export COVSHIFT_THREADS=1 OPENBLAS_NUM_THREADS=1
t0=$(date +%s.%N)
seq 0 $((shards - 1)) | xargs -P 2 -I{} "$bin" run bench_merge.ini --shard "{}/$shards" --quiet
t1=$(date +%s.%N)
rows=$(for f in results/bench_merge.shard-*-of-$shards.db; do
    sqlite3 "$f" "SELECT (SELECT count(*) FROM layer_stats) + (SELECT count(*) FROM histograms)
                         + (SELECT count(*) FROM drift)"
done | awk '{s += $1} END {print s}')
size=$(du -sm results | cut -f1)
printf 'shards: %d written in %.1f s (%s runs, %s result rows, %s MB)\n' "$shards" \
    "$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')" "$runs" "$rows" "$size"
rm -f merged.db merged.db-wal merged.db-shm
for pass in "into a new database" "again (every run there)"; do
    t0=$(date +%s.%N)
    "$bin" merge merged.db results/bench_merge.shard-*-of-"$shards".db --quiet
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" -v n="$shards" -v r="$rows" -v what="$pass" 'BEGIN {
        s = b - a
        printf "merge %-24s %6.2f s: %5.1f ms per shard, %5.2f s per million rows\n", what, s,
            1000 * s / n, s * 1e6 / r }'
done
[[ $(sqlite3 merged.db "SELECT count(*) FROM runs WHERE status = 'done'") == "$runs" ]] ||
    { echo "bench_merge: the merge does not hold the $runs runs" >&2; exit 1; }
echo "($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $("$bin" --version | sed -n 1p))"

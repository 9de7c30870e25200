#!/usr/bin/env bash
# Issue 5's benchmark: covshift against the PyTorch peer (bench/peer.py) and
# against its own GEMM-only time (covshift run --gemm-only), on workload W1
# (bench/w1.ini), run alternately for several rounds; prints median wall time
# and peak RSS of each. --w2 adds the deep workload W2 for covshift alone.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: bash bench/bench.sh [--rounds N] [--w2] [--keep DIR]

Builds covshift (Release) if needed, installs what is missing (as root;
otherwise prints the apt-get line and exits 1), then runs, alternately for
N rounds (default 3), on workload W1 (bench/w1.ini: depth 20, width 512,
batch 256, tanh, 10 A + 10 B batches, 3 conditions):

  covshift    build/covshift run bench/w1.ini --db FRESH.db --quiet
  peer        /usr/bin/python3 bench/peer.py bench/w1.ini --db FRESH.db
              (PyTorch, float64, 2 threads, nn.Sequential + forward hooks)
  gemm-only   build/covshift run bench/w1.ini --gemm-only (same schedule,
              no statistics, histograms, drift or database)

and prints, for each, the median wall time (date +%s.%N around the command)
and the peak RSS (/usr/bin/time -f %M), the ratios peer / covshift and
covshift / gemm-only, and the machine's load.

options:
  --rounds N   rounds of the three commands (default 3)
  --w2         also run W2 (bench/w2.ini: depth 1000, width 1024, batch 256,
               5 A + 5 B batches), covshift and gemm-only once each; the
               peer is not run: its weights alone would be 8.4 GB
  --keep DIR   keep the databases and timings in DIR (default: a temporary
               directory, removed at exit)
  -h, --help   this text

Every covshift run writes a fresh database, so no run is skipped as done.
EOF
}

rounds=3
w2=0
keep=""
while (($#)); do
    case "$1" in
    --rounds)
        [[ $# -ge 2 && "$2" =~ ^[1-9][0-9]*$ ]] || { echo "bench: --rounds needs an integer >= 1" >&2; exit 2; }
        rounds=$2
        shift 2
        ;;
    --rounds=*)
        rounds=${1#--rounds=}
        [[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "bench: --rounds needs an integer >= 1" >&2; exit 2; }
        shift
        ;;
    --w2) w2=1; shift ;;
    --keep)
        [[ $# -ge 2 ]] || { echo "bench: --keep needs a directory" >&2; exit 2; }
        keep=$2
        shift 2
        ;;
    -h | --help) usage; exit 0 ;;
    *) echo "bench: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
    esac
done

cd "$(dirname "$0")/.."
root=$(pwd)
PYTHON=/usr/bin/python3 # Debian's python3-torch is for the system python

# Build and run-time dependencies, with the peer's and /usr/bin/time's.
CS_EXTRA_PACKAGES="python3-torch python3-numpy time" bash scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target covshift >/dev/null
covshift="$root/build/covshift"

if [[ -n "$keep" ]]; then
    mkdir -p "$keep"
    work=$(cd "$keep" && pwd)
else
    work=$(mktemp -d "${TMPDIR:-/tmp}/covshift-bench.XXXXXX")
    trap 'rm -rf "$work"' EXIT
fi

# timed NAME LABEL CMD...: runs CMD, appends "LABEL wall_s rss_kb" to
# $work/NAME.times. Fails the bench if CMD fails.
timed() {
    local name=$1 label=$2
    shift 2
    local t0 t1 rss
    t0=$(date +%s.%N)
    if ! /usr/bin/time -f %M -o "$work/$label.rss" "$@" >"$work/$label.out" 2>&1; then
        echo "bench: $label failed: $*" >&2
        cat "$work/$label.out" >&2
        exit 1
    fi
    t1=$(date +%s.%N)
    rss=$(tail -n 1 "$work/$label.rss")
    awk -v a="$t0" -v b="$t1" -v r="$rss" -v l="$label" 'BEGIN { printf "%s %.3f %d\n", l, b - a, r }' \
        >>"$work/$name.times"
    tail -n 1 "$work/$name.times" | awk '{ printf "bench:   %-22s %8.2f s %8.0f MB\n", $1, $2, $3 / 1024 }'
}

# median FILE COLUMN: the median of a column of numbers.
median() {
    awk -v c="$2" '{ print $c }' "$1" | sort -g |
        awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

rows() {
    sqlite3 "$1" "SELECT (SELECT count(*) FROM layer_stats) || ' / ' || (SELECT count(*) FROM histograms)
                         || ' / ' || (SELECT count(*) FROM drift)"
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "bench: W1 (bench/w1.ini), $rounds rounds of covshift, peer, gemm-only; load average $load_before"
for ((r = 1; r <= rounds; r++)); do
    echo "bench: round $r/$rounds"
    timed covshift "covshift_w1_r$r" "$covshift" run bench/w1.ini --db "$work/covshift_w1_r$r.db" --quiet
    timed peer "peer_w1_r$r" "$PYTHON" bench/peer.py bench/w1.ini --db "$work/peer_w1_r$r.db" --quiet
    timed gemm "gemm_w1_r$r" "$covshift" run bench/w1.ini --gemm-only --db "$work/gemm_w1_r$r.db" --quiet
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# The same work: both databases hold the same number of rows.
rows_covshift=$(rows "$work/covshift_w1_r1.db")
rows_peer=$(rows "$work/peer_w1_r1.db")
if [[ "$rows_covshift" != "$rows_peer" ]]; then
    echo "bench: covshift and the peer wrote different row counts (layer_stats / histograms / drift):" \
        "$rows_covshift against $rows_peer" >&2
    exit 1
fi

if ((w2)); then
    echo "bench: W2 (bench/w2.ini), covshift and gemm-only once each"
    timed covshift_w2 covshift_w2 "$covshift" run bench/w2.ini --db "$work/covshift_w2.db" --quiet
    timed gemm_w2 gemm_w2 "$covshift" run bench/w2.ini --gemm-only --db "$work/gemm_w2.db" --quiet
fi

c_t=$(median "$work/covshift.times" 2)
p_t=$(median "$work/peer.times" 2)
g_t=$(median "$work/gemm.times" 2)
c_m=$(median "$work/covshift.times" 3)
p_m=$(median "$work/peer.times" 3)
g_m=$(median "$work/gemm.times" 3)

echo
revision=$(git rev-parse --short HEAD 2>/dev/null || echo 'unknown revision')
git diff --quiet HEAD 2>/dev/null || revision="$revision+changes"
echo "covshift $revision benchmark, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores ($(uname -n)), OpenBLAS" \
    "$(dpkg-query -W -f='${Version}' libopenblas0 2>/dev/null || echo '?'), torch" \
    "$("$PYTHON" -c 'import torch; print(torch.__version__)')"
echo "W1 = bench/w1.ini: depth 20, width 512, batch 256, tanh, 10 A + 10 B batches, 3 runs" \
    "(none, bn-batch, bn-frozen); median of $rounds rounds; rows per DB (layer_stats / histograms / drift): $rows_covshift"
echo
printf '| %-9s | %-38s | %10s | %13s | %13s |\n' workload command "wall (s)" "ratio" "peak RSS (MB)"
printf '|%s|%s|%s|%s|%s|\n' ----------- ---------------------------------------- ------------ --------------- ---------------
awk -v ct="$c_t" -v pt="$p_t" -v gt="$g_t" -v cm="$c_m" -v pm="$p_m" -v gm="$g_m" 'BEGIN {
    printf "| %-9s | %-38s | %10.2f | %13s | %13.0f |\n", "W1", "covshift run", ct, "1", cm / 1024
    printf "| %-9s | %-38s | %10.2f | %13s | %13.0f |\n", "W1", "peer (PyTorch)", pt, sprintf("peer/cs %.2f", pt / ct), pm / 1024
    printf "| %-9s | %-38s | %10.2f | %13s | %13.0f |\n", "W1", "covshift run --gemm-only", gt, sprintf("cs/gemm %.2f", ct / gt), gm / 1024
}'
if ((w2)); then
    read -r _ c2_t c2_m <"$work/covshift_w2.times"
    read -r _ g2_t g2_m <"$work/gemm_w2.times"
    awk -v ct="$c2_t" -v gt="$g2_t" -v cm="$c2_m" -v gm="$g2_m" 'BEGIN {
        printf "| %-9s | %-38s | %10.2f | %13s | %13.0f |\n", "W2", "covshift run", ct, "1", cm / 1024
        printf "| %-9s | %-38s | %10s | %13s | %13s |\n", "W2", "peer (PyTorch)", "not run", "-", "> 8389"
        printf "| %-9s | %-38s | %10.2f | %13s | %13.0f |\n", "W2", "covshift run --gemm-only", gt, sprintf("cs/gemm %.2f", ct / gt), gm / 1024
    }'
    echo
    echo "W2 = bench/w2.ini: depth 1000, width 1024, batch 256, 5 A + 5 B batches, one run. The peer is not run:"
    echo "its nn.Sequential holds all weights at once, 1000 x 1024 x 1024 x 8 B = $((1000 * 1024 * 1024 * 8)) B" \
        "(8.4 GB) before any activation; covshift's layer-major schedule holds one layer's (8 MB)."
fi
echo
echo "load average (1, 5, 15 min) before: $load_before; after: $load_after"
if [[ -n "$keep" ]]; then
    echo "databases and per-round timings in $work"
fi

#!/usr/bin/env bash
# How covshift's cost grows (bench/README.md): CPU and wall time and peak RSS
# of one run against depth, width and batch, each varied alone around a
# base network, with the growth exponents fitted on log-log axes against the
# expected ones (time linear in depth and batch, quadratic in width).
set -euo pipefail

usage() {
    cat <<'EOF'
usage: bash bench/scaling.sh [--tiny] [--depths "D ..."] [--widths "W ..."] [--batches "B ..."]
                             [--steps N] [--build DIR] [--keep DIR]

Runs `covshift run` once per point into a fresh database (norm none, tanh,
gaussian input, N A + N B batches, default 2 + 2) and measures wall time, CPU
time (user + system) and peak RSS with /usr/bin/time. Each axis is varied
alone around the base (depth 10, width 256, batch 128):

  depth   10 100 1000
  width   128 256 512 1024 2048
  batch   32 64 128 256 512 1024

and, per axis, the exponent p of cost ~ value^p: the least-squares slope of
log cost on log value over all points; the same after taking off the cost
of a run with almost no work (depth 1, width 8, batch 8: process start, the
kernel check, the database), "net"; and the slope between the last two
points. Fixed costs flatten the small end of the first.
Expected for time: 1 in depth, 2 in width, 1 in batch (the products are
depth x steps x batch x width^2 multiply-adds, the weights depth x width^2
draws). Expected for peak RSS: 0 in depth (one layer at a time, docs/design.md
§1), at most 2 in width (a layer's weights) and at most 1 in batch.

options:
  --tiny           a configuration that runs in seconds (the test suite's)
  --depths, --widths, --batches "V ..."  the values of an axis
  --steps N        batches per phase (default 2)
  --build DIR      the covshift built in DIR (default: build/, built here)
  --keep DIR       keep the databases and timings in DIR
  -h, --help       this text
EOF
}

need_value() { [[ $# -ge 2 && -n "$2" ]] || { echo "scaling: $1 needs a value" >&2; exit 2; }; }
depths="10 100 1000"
widths="128 256 512 1024 2048"
batches="32 64 128 256 512 1024"
base_depth=10 base_width=256 base_batch=128
steps=2
build=""
keep=""
while (($#)); do
    case "$1" in
    --tiny)
        depths="2 4 8" widths="16 32 64" batches="8 16 32"
        base_depth=4 base_width=32 base_batch=16 steps=1
        shift
        ;;
    --depths) need_value "$@"; depths=$2; shift 2 ;;
    --widths) need_value "$@"; widths=$2; shift 2 ;;
    --batches) need_value "$@"; batches=$2; shift 2 ;;
    --steps) need_value "$@"; steps=$2; shift 2 ;;
    --build) need_value "$@"; build=$(cd "$2" && pwd); shift 2 ;;
    --keep) need_value "$@"; mkdir -p "$2"; keep=$(cd "$2" && pwd); shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "scaling: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
    esac
done
for v in $depths $widths $batches $steps; do
    [[ "$v" =~ ^[1-9][0-9]*$ ]] || { echo "scaling: '$v' is not an integer >= 1" >&2; exit 2; }
done

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if [[ -z "$build" ]]; then
    cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build build -j"$(nproc)" --target covshift >/dev/null
    build=$root/build
fi
covshift=$build/covshift
[[ -x "$covshift" ]] || { echo "scaling: missing $covshift" >&2; exit 1; }
command -v /usr/bin/time >/dev/null || { echo "scaling: needs /usr/bin/time (Debian package time)" >&2; exit 1; }
if [[ -n "$keep" ]]; then
    work=$keep
    rm -f "$work"/scaling_*.db* "$work"/scaling.times
else
    work=$(mktemp -d "${TMPDIR:-/tmp}/covshift-scaling.XXXXXX")
    trap 'rm -rf "$work"' EXIT
fi

cat >"$work/scaling.ini" <<EOF
[experiment]
name = scaling
description = bench/scaling.sh: one run per point
[network]
activation = tanh
init = gaussian
[norm]
norm = none
[data]
input = gaussian
shift_mean = 1.0
shift_scale = 2.0
steps_a = $steps
steps_b = $steps
[run]
seed = 1
bins = 64
EOF

# point AXIS DEPTH WIDTH BATCH: one run; appends a row to scaling.times.
n=0
point() {
    local axis=$1 d=$2 w=$3 b=$4 line
    n=$((n + 1))
    /usr/bin/time -f '%e %U %S %M' -o "$work/point.time" \
        "$covshift" run "$work/scaling.ini" --db "$work/scaling_$n.db" --quiet \
        --set depth="$d" --set width="$w" --set input_dim="$w" --set batch="$b" >"$work/point.out" 2>&1 || {
        echo "scaling: the run at depth $d, width $w, batch $b failed:" >&2
        cat "$work/point.out" >&2
        exit 1
    }
    rm -f "$work/scaling_$n.db"*
    line=$(tail -n 1 "$work/point.time")
    awk -v a="$axis" -v d="$d" -v w="$w" -v b="$b" -v s="$steps" -v l="$(cut -d' ' -f1 /proc/loadavg)" '{
        printf "%s %d %d %d %.4f %.2f %.2f %d %s\n", a, d, w, b, 2 * s * 2 * d * b * w * w / 1e9, $1, $2 + $3, $4, l
    }' <<<"$line" >>"$work/scaling.times"
    tail -n 1 "$work/scaling.times" |
        awk '{ printf "scaling: %-5s depth %5d width %5d batch %5d: wall %7.2f s  cpu %7.2f s  %6.0f MB  (load %s)\n", $1, $2, $3, $4, $6, $7, $8 / 1024, $9 }'
}

echo "scaling: covshift run, norm none, $steps A + $steps B batches; base depth $base_depth, width $base_width, batch $base_batch;" \
    "load average $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
# The fixed cost of a run (process start, the kernel check, creating the
# database): a run with almost no work, subtracted before the "net" fits.
point fixed 1 8 8
for d in $depths; do point depth "$d" "$base_width" "$base_batch"; done
for w in $widths; do point width "$base_depth" "$w" "$base_batch"; done
for b in $batches; do point batch "$base_depth" "$base_width" "$b"; done

echo
revision=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo 'unknown revision')
echo "covshift $revision scaling, $(date -u +%Y-%m-%dT%H:%MZ), $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)," \
    "$(nproc) cores, BLAS core $("$covshift" --version | sed -n 's/.*; core \([^ ,]*\).*/\1/p')"
echo
printf '| %-5s | %5s | %5s | %5s | %9s | %8s | %8s | %8s |\n' axis depth width batch "GFLOP" "wall (s)" "CPU (s)" "RSS (MB)"
printf '|%s|%s|%s|%s|%s|%s|%s|%s|\n' ------- ------- ------- ------- ----------- ---------- ---------- ----------
awk '{ printf "| %-5s | %5d | %5d | %5d | %9.3f | %8.2f | %8.2f | %8.0f |\n", $1, $2, $3, $4, $5, $6, $7, $8 / 1024 }' "$work/scaling.times"
echo
printf '| %-5s | %-34s | %-8s | %-34s | %-8s |\n' axis "CPU time exponent: all, net, last" expected \
    "peak RSS exponent: all, net, last" expected
printf '|%s|%s|%s|%s|%s|\n' ------- ------------------------------------ ---------- ------------------------------------ ----------
# fit AXIS COLUMN: the slopes of log column on log value (the value is
# depth, width or batch): over all points; over all points after taking
# the fixed run's value off (net: the part that grows); between the last
# two points. A value at or below the fixed one counts as 1% of it.
fit() {
    awk -v a="$1" -v c="$2" '
        function slope(Y,   i, sx, sy, mx, my, sxy, sxx) {
            for (i = 1; i <= n; i++) { sx += X[i]; sy += Y[i] }
            mx = sx / n; my = sy / n
            for (i = 1; i <= n; i++) { sxy += (X[i] - mx) * (Y[i] - my); sxx += (X[i] - mx) ^ 2 }
            return sxy / sxx
        }
        $1 == "fixed" { f = $c }
        $1 == a { x = a == "depth" ? $2 : a == "width" ? $3 : $4; y = $c; if (y <= 0) y = 0.005
                  n++; X[n] = log(x); Y[n] = log(y); v[n] = y }
        END {
            if (n < 2) { printf "-"; exit }
            for (i = 1; i <= n; i++) N[i] = log(v[i] - f > 0.01 * f ? v[i] - f : 0.01 * f + 1e-9)
            printf "%.2f, %.2f, %.2f", slope(Y), slope(N), (Y[n] - Y[n - 1]) / (X[n] - X[n - 1])
        }' "$work/scaling.times"
}
for axis in depth width batch; do
    case $axis in
    depth) et=1 er=0 ;;
    width) et=2 er="<= 2" ;;
    batch) et=1 er="<= 1" ;;
    esac
    printf '| %-5s | %-34s | %-8s | %-34s | %-8s |\n' "$axis" "$(fit "$axis" 7)" "$et" "$(fit "$axis" 8)" "$er"
done
echo
awk '$1 == "fixed" { printf "fixed cost (depth 1, width 8, batch 8): CPU %.2f s, peak RSS %.0f MB, taken off for the net exponents\n", $7, $8 / 1024 }' "$work/scaling.times"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg); times under 0.01 s count as 0.005 s in the fits"
[[ -z "$keep" ]] || echo "timings (axis depth width batch GFLOP wall cpu rss_kb load) in $work/scaling.times"

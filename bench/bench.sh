#!/usr/bin/env bash
# covshift's benchmark (bench/README.md): covshift against the PyTorch peer
# (bench/peer.py), against its own GEMM-only schedule (covshift run
# --gemm-only) and against the floor (bench_floor: nothing but the same
# matrix products), on workload W1 (bench/w1.ini), interleaved round after
# round; prints medians with min and max of wall and CPU time, peak RSS, and
# the BLAS core and products each process really ran (bench/dgemm_probe.c).
set -euo pipefail

usage() {
    cat <<'EOF'
usage: bash bench/bench.sh [--rounds N] [--w2] [--ini FILE] [--quickstart FILE|none]
                           [--build DIR] [--no-setup] [--keep DIR]

Installs what is missing (scripts/setup.sh; as another user than root it
prints the apt-get line and stops; python3-torch is optional: without it
the peer is skipped with a message), builds covshift (Release), then runs,
round after round (default 3), each into a fresh database:

  covshift         covshift run INI --quiet
  peer             /usr/bin/python3 bench/peer.py INI (PyTorch, float64,
                   as shipped: OpenBLAS picks its core itself)
  peer, same core  the same with OPENBLAS_CORETYPE set to the core covshift
                   ran (only when that differs from the peer's own choice)
  gemm-only        covshift run INI --gemm-only (the schedule, no statistics
                   or database)
  floor            bench_floor: only the products of INI's runs, batch x width
                   x width per layer and step, on covshift's thread team and
                   the core covshift ran
  quickstart       covshift run experiments/quickstart.ini --jobs $(nproc)

It prints a table (BLAS core and dgemm calls of each process, wall and CPU
time as median (min-max) over the rounds, peak RSS), the ratios of the
medians with the targets, and how busy the machine was. Under load read
the CPU times: wall time then includes waiting for the cores.

options:
  --rounds N         rounds (default 3)
  --w2               also run W2 (bench/w2.ini: depth 1000, width 1024) once:
                     covshift, gemm-only and the floor (~4 min); the peer
                     cannot (its weights alone would be 8.4 GB)
  --ini FILE         the workload instead of bench/w1.ini
  --quickstart FILE  the experiment timed as the quickstart (none: skip)
  --build DIR        use the covshift, bench_floor and probe built in DIR
                     (default: build/, configured and built here)
  --no-setup         do not run scripts/setup.sh (the test suite's runs)
  --keep DIR         keep databases, timings and probe lines in DIR
  -h, --help         this text
EOF
}

need_value() { [[ $# -ge 2 && -n "$2" ]] || { echo "bench: $1 needs a value" >&2; exit 2; }; }

rounds=3
w2=0
keep=""
ini=bench/w1.ini
quickstart=experiments/quickstart.ini
build=""
setup=1
while (($#)); do
    case "$1" in
    --rounds)
        need_value "$@"
        [[ "$2" =~ ^[1-9][0-9]*$ ]] || { echo "bench: --rounds needs an integer >= 1" >&2; exit 2; }
        rounds=$2
        shift 2
        ;;
    --w2) w2=1; shift ;;
    --ini) need_value "$@"; ini=$2; shift 2 ;;
    --quickstart) need_value "$@"; quickstart=$2; shift 2 ;;
    --build) need_value "$@"; build=$2; shift 2 ;;
    --no-setup) setup=0; shift ;;
    --keep) need_value "$@"; keep=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "bench: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
    esac
done

root=$(cd "$(dirname "$0")/.." && pwd)
abspath() { [[ "$1" == /* ]] && echo "$1" || echo "$PWD/$1"; }
ini=$(abspath "$ini")
[[ "$quickstart" == none ]] || quickstart=$(abspath "$quickstart")
[[ -z "$build" ]] || build=$(cd "$build" && pwd)
[[ -z "$keep" ]] || { mkdir -p "$keep" && keep=$(cd "$keep" && pwd); }
cd "$root"
[[ -f "$ini" ]] || { echo "bench: no such experiment file: $ini" >&2; exit 2; }
PYTHON=/usr/bin/python3 # Debian's python3-torch is for the system python

if ((setup)); then
    CS_EXTRA_PACKAGES="time" bash scripts/setup.sh
fi
command -v /usr/bin/time >/dev/null || { echo "bench: needs /usr/bin/time (Debian package time)" >&2; exit 1; }
if [[ -z "$build" ]]; then
    cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build build -j"$(nproc)" --target covshift bench_floor cs_dgemm_probe >/dev/null
    build=$root/build
fi
covshift=$build/covshift
floor=$build/bench_floor
probe=$build/libcs_dgemm_probe.so
for f in "$covshift" "$floor" "$probe"; do
    [[ -x "$f" || -f "$f" ]] || { echo "bench: missing $f (build the targets covshift bench_floor cs_dgemm_probe)" >&2; exit 1; }
done

# The peer needs Debian's python3-torch; without it the rest still runs.
peer_skip=""
if ((setup)) && ! CS_EXTRA_PACKAGES="python3-torch python3-numpy" bash scripts/setup.sh 2>"${TMPDIR:-/tmp}/bench_setup.$$"; then
    peer_skip="python3-torch is not installed and could not be ($(tail -n 1 "${TMPDIR:-/tmp}/bench_setup.$$" | sed 's/^ *//'))"
fi
rm -f "${TMPDIR:-/tmp}/bench_setup.$$"
torch_version=none
if [[ -z "$peer_skip" ]] && ! torch_version=$("$PYTHON" -c 'import torch, numpy; print(torch.__version__)' 2>/dev/null); then
    peer_skip="$PYTHON cannot import torch and numpy (Debian packages python3-torch python3-numpy)"
    torch_version=none
fi
[[ -z "$peer_skip" ]] || echo "bench: skipping the PyTorch peer: $peer_skip" >&2

if [[ -n "$keep" ]]; then
    work=$keep
    rm -f "$work"/*.times "$work"/*.probe "$work"/*.db "$work"/*.db-wal "$work"/*.db-shm
else
    work=$(mktemp -d "${TMPDIR:-/tmp}/covshift-bench.XXXXXX")
    trap 'rm -rf "$work"' EXIT
fi

# The floor's products: per run, layer 1 is batch x width x input_dim and
# layers 2..depth batch x width x width, each once a step of A and B
# (cs_dense_forward); the runs come from covshift's own expansion.
floor_groups() {
    "$covshift" run "$1" --dry-run=canonical | awk '
        $1 ~ /^[0-9]+$/ && $3 ~ /(^|;)depth=/ {
            n = split($3, kv, ";"); delete p
            for (i = 1; i <= n; i++) { split(kv[i], a, "="); p[a[1]] = a[2] }
            s = p["steps_a"] + p["steps_b"]
            g[p["batch"] "x" p["width"] "x" p["input_dim"]] += s
            if (p["depth"] > 1) g[p["batch"] "x" p["width"] "x" p["width"]] += (p["depth"] - 1) * s
        }
        END { for (k in g) printf "%s:%d\n", k, g[k] }' | sort
}
mapfile -t groups < <(floor_groups "$ini")
((${#groups[@]})) || { echo "bench: $ini expands to no runs" >&2; exit 2; }

# The machine's busy CPU time so far, in seconds (all cores, from /proc/stat).
busy_s() { awk '/^cpu / { printf "%.2f\n", ($2 + $3 + $4 + $7 + $8 + $9) / 100 }' /proc/stat; }

# timed NAME CMD...: runs CMD with the probe preloaded; appends
# "wall cpu rss_kb load1" to $work/NAME.times and the probe's line to
# $work/NAME.probe. Fails the bench if CMD fails.
ours_cpu=0
timed() {
    local name=$1
    shift
    local load out=$work/$name.out
    load=$(cut -d' ' -f1 /proc/loadavg)
    rm -f "$work/$name.probe.1"
    # env, not the shell, sets LD_PRELOAD: /usr/bin/time itself runs unprobed.
    # ASan wants to be first in a sanitized build; the probe is not instrumented.
    if ! /usr/bin/time -f '%e %U %S %M' -o "$work/$name.time1" \
        env LD_PRELOAD="$probe" CS_PROBE_OUT="$work/$name.probe.1" \
        ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" "$@" >"$out" 2>&1; then
        echo "bench: $name failed: $*" >&2
        cat "$out" >&2
        exit 1
    fi
    local line
    line=$(tail -n 1 "$work/$name.time1")
    awk -v l="$load" '{ printf "%.2f %.2f %d %s\n", $1, $2 + $3, $4, l }' <<<"$line" >>"$work/$name.times"
    tail -n 1 "$work/$name.probe.1" 2>/dev/null >>"$work/$name.probe" || echo "core=? calls=0 gflop=0 shapes=-" >>"$work/$name.probe"
    ours_cpu=$(awk -v a="$ours_cpu" '{ print a + $2 + $3 }' <<<"$line")
    awk -v n="$name" '{ printf "bench:   %-16s wall %7.2f s  cpu %7.2f s  %6.0f MB  (load %s)\n", n, $1, $2, $3 / 1024, $4 }' \
        <(tail -n 1 "$work/$name.times")
}

# stats NAME COLUMN: "median min max" of a column of NAME.times.
stats() {
    awk -v c="$2" '{ print $c }' "$work/$1.times" | sort -g |
        awk '{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; print m, v[1], v[NR] }'
}
# probe NAME FIELD: FIELD of NAME's last probe line (core, calls, gflop).
probe_field() { tail -n 1 "$work/$1.probe" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

rows() {
    sqlite3 "$1" "SELECT (SELECT count(*) FROM layer_stats) || ' / ' || (SELECT count(*) FROM histograms)
                         || ' / ' || (SELECT count(*) FROM drift)"
}

ini_rel=${ini#"$root"/}
nproc=$(nproc)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
busy0=$(busy_s)
t0=$(date +%s.%N)
echo "bench: $ini_rel, $rounds rounds; floor products ${groups[*]}; load average $load_before on $nproc cores"
peer_same=""
names=(covshift)
[[ -n "$peer_skip" ]] || names+=(peer)
for ((r = 1; r <= rounds; r++)); do
    echo "bench: round $r/$rounds"
    timed covshift "$covshift" run "$ini" --db "$work/covshift_r$r.db" --quiet
    ((r > 1)) || cs_core=$(probe_field covshift core)
    if [[ -z "$peer_skip" ]]; then
        timed peer "$PYTHON" bench/peer.py "$ini" --db "$work/peer_r$r.db" --quiet
        if ((r == 1)); then
            if [[ "$(probe_field peer core)" != "$cs_core" ]]; then
                peer_same=$cs_core
                names+=(peer_same)
            fi
        fi
        if [[ -n "$peer_same" ]]; then
            timed peer_same env OPENBLAS_CORETYPE="$peer_same" "$PYTHON" bench/peer.py "$ini" \
                --db "$work/peer_same_r$r.db" --quiet
        fi
    fi
    timed gemm "$covshift" run "$ini" --gemm-only --quiet
    # the floor runs the kernel covshift ran (it may have replaced a fallback)
    timed floor env OPENBLAS_CORETYPE="$cs_core" "$floor" "${groups[@]}"
    if [[ "$quickstart" != none ]]; then
        timed quickstart "$covshift" run "$quickstart" --jobs "$nproc" --db "$work/quickstart_r$r.db" --quiet
    fi
done
names+=(gemm floor)
[[ "$quickstart" == none ]] || names+=(quickstart)

if [[ -z "$peer_skip" ]]; then # the same work: the same number of rows
    rows_covshift=$(rows "$work/covshift_r1.db")
    rows_peer=$(rows "$work/peer_r1.db")
    if [[ "$rows_covshift" != "$rows_peer" ]]; then
        echo "bench: covshift and the peer wrote different row counts (layer_stats / histograms / drift):" \
            "$rows_covshift against $rows_peer" >&2
        exit 1
    fi
fi

if ((w2)); then
    echo "bench: W2 (bench/w2.ini), covshift, gemm-only and the floor once each"
    mapfile -t groups2 < <(floor_groups bench/w2.ini)
    timed w2_covshift "$covshift" run bench/w2.ini --db "$work/covshift_w2.db" --quiet
    timed w2_gemm "$covshift" run bench/w2.ini --gemm-only --quiet
    timed w2_floor env OPENBLAS_CORETYPE="$cs_core" "$floor" "${groups2[@]}"
fi
t1=$(date +%s.%N)
busy1=$(busy_s)
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

label() {
    case "$1" in
    covshift) echo "covshift run" ;;
    peer) echo "peer (PyTorch), as shipped" ;;
    peer_same) echo "peer, OPENBLAS_CORETYPE=$peer_same" ;;
    gemm) echo "covshift run --gemm-only" ;;
    floor) echo "floor (bench_floor)" ;;
    quickstart) echo "quickstart run, --jobs $nproc" ;;
    w2_covshift) echo "W2 covshift run" ;;
    w2_gemm) echo "W2 covshift run --gemm-only" ;;
    w2_floor) echo "W2 floor (bench_floor)" ;;
    esac
}

echo
revision=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo 'unknown revision')
git -C "$root" diff --quiet HEAD 2>/dev/null || revision="$revision+changes"
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
echo "covshift $revision benchmark, $(date -u +%Y-%m-%dT%H:%MZ), $cpu_model, $nproc cores ($(uname -n)),"
echo "OpenBLAS $(dpkg-query -W -f='${Version}' libopenblas0-pthread 2>/dev/null || echo '?'), torch $torch_version;" \
    "$ini_rel; median (min-max) of $rounds rounds"
all=("${names[@]}")
((w2 == 0)) || all+=(w2_covshift w2_gemm w2_floor)
echo
printf '| %-36s | %-10s | %-18s | %-22s | %-22s | %9s |\n' command "BLAS core" "dgemm calls, GFLOP" "wall (s)" "CPU (s)" "RSS (MB)"
printf '|%s|%s|%s|%s|%s|%s|\n' -------------------------------------- ------------ -------------------- \
    ------------------------ ------------------------ -----------
for n in "${all[@]}"; do
    read -r wm wlo whi < <(stats "$n" 1)
    read -r cm clo chi < <(stats "$n" 2)
    read -r rm _ _ < <(stats "$n" 3)
    calls="$(probe_field "$n" calls), $(probe_field "$n" gflop)"
    [[ "$n" != quickstart ]] || calls="(in the workers)"
    printf '| %-36s | %-10s | %-18s | %-22s | %-22s | %9.0f |\n' "$(label "$n")" "$(probe_field "$n" core)" "$calls" \
        "$(printf '%.2f (%.2f-%.2f)' "$wm" "$wlo" "$whi")" "$(printf '%.2f (%.2f-%.2f)' "$cm" "$clo" "$chi")" \
        "$(awk -v r="$rm" 'BEGIN { print r / 1024 }')"
done

# ratio A B: "wall ratio, CPU ratio" of the medians of A and B.
ratio() {
    local a b
    a=$(stats "$1" 1 | cut -d' ' -f1)" "$(stats "$1" 2 | cut -d' ' -f1)
    b=$(stats "$2" 1 | cut -d' ' -f1)" "$(stats "$2" 2 | cut -d' ' -f1)
    awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " ");
        printf "%5s | %5s", (y[1] > 0 ? sprintf("%.2f", x[1] / y[1]) : "-"), (y[2] > 0 ? sprintf("%.2f", x[2] / y[2]) : "-") }'
}
echo
printf '| %-40s | %5s | %5s | %-22s |\n' "ratio of the medians" wall CPU target
printf '|%s|%s|%s|%s|\n' ------------------------------------------ ------- ------- ------------------------
if [[ -z "$peer_skip" ]]; then
    printf '| %-40s | %s | %-22s |\n' "peer as shipped / covshift" "$(ratio peer covshift)" \
        "$([[ -n "$peer_same" ]] && echo - || echo '>= 10 (same core)')"
    [[ -z "$peer_same" ]] || printf '| %-40s | %s | %-22s |\n' "peer with covshift's core / covshift" \
        "$(ratio peer_same covshift)" ">= 10"
fi
printf '| %-40s | %s | %-22s |\n' "covshift / floor" "$(ratio covshift floor)" "<= 1.5"
printf '| %-40s | %s | %-22s |\n' "covshift / gemm-only" "$(ratio covshift gemm)" "-"
printf '| %-40s | %s | %-22s |\n' "gemm-only / floor" "$(ratio gemm floor)" "-"
if ((w2)); then
    printf '| %-40s | %s | %-22s |\n' "W2 covshift / floor" "$(ratio w2_covshift w2_floor)" "<= 1.3"
    printf '| %-40s | %s | %-22s |\n' "W2 covshift / gemm-only" "$(ratio w2_covshift w2_gemm)" "-"
fi
echo
if [[ -n "$peer_skip" ]]; then
    echo "peer: skipped: $peer_skip"
elif [[ -z "$peer_same" ]]; then
    echo "peer: its OpenBLAS chose the core covshift runs ($(probe_field peer core)), so the peer as shipped is also the peer on the same core."
fi
if [[ "$quickstart" != none ]]; then
    read -r qm _ _ < <(stats quickstart 1)
    echo "quickstart: $(wc -l < <("$covshift" run "$quickstart" --dry-run=canonical | awk '$1 ~ /^[0-9]+$/ && $3 ~ /depth=/')) runs, wall median $qm s (target <= 5 s)."
fi
if ((w2)); then
    read -r w2m _ _ < <(stats w2_covshift 3)
    echo "W2: peak RSS $(awk -v r="$w2m" 'BEGIN { printf "%.0f", r / 1024 }') MB (target <= 150 MB)."
fi
awk -v t0="$t0" -v t1="$t1" -v b0="$busy0" -v b1="$busy1" -v ours="$ours_cpu" -v n="$nproc" \
    -v lb="$load_before" -v la="$load_after" 'BEGIN {
    el = t1 - t0; others = b1 - b0 - ours; if (others < 0) others = 0
    printf "load: average %s before, %s after; over the %.0f s of the bench the machine was busy %.0f of %.0f core-seconds,\n", lb, la, el, b1 - b0, el * n
    printf "      %.0f of them (%.1f cores on average) by other processes than the bench\n", others, others / el
}'
if [[ -n "$keep" ]]; then
    echo "databases, timings (wall cpu rss_kb load) and probe lines in $work"
fi

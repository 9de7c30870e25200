#!/usr/bin/env bash
# Training mode end to end (docs/training.md): covshift run on the real
# Fashion-MNIST files of Debian's dataset-fashion-mnist, into a temp
# database read with the sqlite3 shell:
#   learns     a short run on A: the training loss of the last 25 steps is
#              well below the first 25's and below ln 10 (a uniform guess),
#              held-out A accuracy far above chance (0.1);
#   shift      B (0.6 x + 0.3, Gaussian noise sd 0.3) is classified worse
#              than held-out A without batch norm and under frozen running
#              statistics, by more than 5 binomial standard errors;
#   rows       every table has the rows its steps and modes imply, the
#              number the dry run gives;
#   figures    covshift plot draws the four training figures, no others;
#   identical  --jobs 2 with 2 threads gives the same bits as --jobs 1 with 1
#              (scripts/result_checksums.sh over the train_* tables);
#   killed     a sweep SIGKILLed midway, then run again: only the missing
#              runs run, and the rows equal the uninterrupted sweep's;
#   refused    a missing data set (names the package), layer or RMS norm
#              (training has batch norm or none), and a network whose
#              weights, gradients and momentum cannot fit: exit 2, nothing
#              written; one that fits the per-run cap but not this machine
#              fails before allocating, saying how much it needs.
# usage: test_train_cli.sh COVSHIFT_BINARY SOURCE_DIR
set -euo pipefail
bin=$1
src=$(cd "$2" && pwd)
tmp=$(mktemp -d)
run_pid=
trap '[[ -n $run_pid ]] && kill -KILL -- "-$run_pid" 2>/dev/null; rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
q() { sqlite3 -batch -noheader "$@"; }
export COVSHIFT_THREADS=1 OPENBLAS_NUM_THREADS=1
unset COVSHIFT_FASHION_MNIST
cd "$tmp"

cat >fm.ini <<'EOF'
[experiment]
name = fm
[network]
depth = 2
width = 32
input_dim = 784
activation = tanh
[norm]
norm = none, batch
affine = true
[data]
shift_mean = 0.3
shift_scale = 0.6
batch = 60
[run]
seed = 1
[train]
train = true
task = fashion_mnist
train_size = 3000
train_steps = 150
lr = 0.05
eval_every = 50
eval_size = 1200
corrupt_noise = 0.3
EOF

# ---- learns, shift, rows ----
"$bin" run fm.ini --db fm.db --quiet || fail "the Fashion-MNIST run exited $?"
[[ $(q fm.db "SELECT count(*) FROM runs WHERE status = 'done'") == 2 ]] || fail "2 runs done"
read -r first last <<<"$(q -separator ' ' fm.db "SELECT
    (SELECT avg(loss) FROM train_loss WHERE run_id = r.id AND step < 25),
    (SELECT avg(loss) FROM train_loss WHERE run_id = r.id AND step >= 125)
    FROM runs r WHERE r.norm = 'none'")"
echo "training loss, norm none: first 25 steps $first, last 25 $last"
awk -v a="$first" -v b="$last" 'BEGIN { exit !(b < 0.6 * a && b < log(10)) }' ||
    fail "the training loss did not fall: $first -> $last"
check_shift() { # mode: A accuracy, B accuracy at the last step, A - B > 5 se
    local mode=$1 a b n
    read -r a b n <<<"$(q -separator ' ' fm.db "SELECT
        max(CASE dataset WHEN 'A' THEN accuracy END), max(CASE dataset WHEN 'B' THEN accuracy END),
        max(examples) FROM train_eval WHERE step = 150 AND mode = '$mode'")"
    echo "mode $mode: accuracy on held-out A $a, on B $b ($n examples each)"
    [[ $n == 1200 ]] || fail "eval_size 1200 in whole batches of 60: got $n examples"
    awk -v a="$a" -v b="$b" -v n="$n" 'BEGIN {
        se = sqrt(a * (1 - a) / n + b * (1 - b) / n); exit !(a > 0.5 && a - b > 5 * se) }' ||
        fail "mode $mode: B ($b) is not classified clearly worse than A ($a)"
}
check_shift none
check_shift frozen
ok "a short run on A learns, and the shift to B costs accuracy"
# rows: 150 losses; evaluations at 0, 50, 100, 150 x 2 sets x modes; layers
# at the 3 recorded steps x (depth + 1); the prior ladder with batch norm only.
want="none 150 8 9 0|batch 150 32 9 32"
got=$(q fm.db "SELECT group_concat(x, '|') FROM (SELECT r.norm || ' ' ||
    (SELECT count(*) FROM train_loss WHERE run_id = r.id) || ' ' ||
    (SELECT count(*) FROM train_eval WHERE run_id = r.id) || ' ' ||
    (SELECT count(*) FROM train_layers WHERE run_id = r.id) || ' ' ||
    (SELECT count(*) FROM train_prior WHERE run_id = r.id) AS x FROM runs r ORDER BY r.id)")
[[ $got == "$want" ]] || fail "row counts: want '$want', got '$got'"
[[ $(q fm.db "SELECT count(*) FROM layer_stats") == 0 ]] || fail "no layer_stats for training"
[[ $(q fm.db "SELECT count(*) FROM train_probe WHERE p15 > p50 OR p50 > p85
              OR unit_p15 > unit_p50 OR unit_p50 > unit_p85") == 0 ]] || fail "percentile order"
total=$(q fm.db "SELECT (SELECT count(*) FROM train_loss) + (SELECT count(*) FROM train_eval) +
    (SELECT count(*) FROM train_probe) + (SELECT count(*) FROM train_layers) +
    (SELECT count(*) FROM train_prior)")
dry=$("$bin" run fm.ini --dry-run --db "$tmp/none.db" | tail -1)
[[ $dry == "rows the 2 runs to run write: $total train_*" ]] ||
    fail "the dry run's estimate: want $total train_* rows, got '$dry'"
ok "every train_* table has its rows, as the dry run says"

# ---- figures: the four training figures, and none of the random-network set ----
figs=$("$bin" plot fm.db --out "$tmp/figs" 2>&1) || fail "covshift plot exited $?: $figs"
for f in train_curves train_probe train_ics train_prior; do
    [[ -s $tmp/figs/$f.png ]] || fail "covshift plot drew no $f.png: $figs"
done
[[ $(ls "$tmp/figs" | wc -l) == 4 ]] || fail "covshift plot drew other figures: $(ls "$tmp/figs")"
ok "covshift plot draws the four training figures"

# ---- identical across threads and --jobs ----
COVSHIFT_THREADS=2 "$bin" run fm.ini --db fm_j2.db --quiet --jobs 2 || fail "--jobs 2 exited $?"
sums() { bash "$src/scripts/result_checksums.sh" --db "$1" --out "$tmp/sums_$2" | grep train_ |
         cut -c19-; }
a=$(sums fm.db 1)
b=$(sums fm_j2.db 2)
[[ $a == "$b" ]] || fail "--jobs 2 differs from --jobs 1:"$'\n'"$a"$'\n'"$b"
echo "$a"
ok "--jobs 2 on 2 threads: the same bits"

# ---- killed midway, then resumed ----
cat >kill.ini <<'EOF'
[experiment]
name = kill
[network]
depth = 3
width = 48
input_dim = 16
activation = tanh
[norm]
norm = batch
[data]
batch = 32
[run]
seed = 1..10
[train]
train = true
task = teacher
train_steps = 300
lr = 0.05
eval_every = 100
eval_size = 256
EOF
"$bin" run kill.ini --db whole.db --quiet || fail "the teacher sweep exited $?"
setsid "$bin" run kill.ini --db killed.db --quiet &
run_pid=$!
for _ in $(seq 1 600); do
    done_n=$(q killed.db "SELECT count(*) FROM runs WHERE status = 'done'" 2>/dev/null || echo 0)
    ((done_n >= 2)) && break
    sleep 0.05
done
kill -KILL -- "-$run_pid" 2>/dev/null || fail "the sweep ended before the kill"
wait "$run_pid" 2>/dev/null || true
run_pid=
done_n=$(q killed.db "SELECT count(*) FROM runs WHERE status = 'done'")
((done_n >= 2 && done_n < 10)) || fail "killed with $done_n of 10 runs done; want midway"
out=$("$bin" run kill.ini --db killed.db 2>&1) || fail "the resumed sweep exited $?: $out"
[[ $out == *"$done_n already done, $((10 - done_n)) to run"* ]] ||
    fail "the resume should run only the $((10 - done_n)) missing runs: $out"
a=$(sums whole.db w)
b=$(sums killed.db k)
[[ $a == "$b" ]] || fail "killed and resumed differs from uninterrupted:"$'\n'"$a"$'\n'"$b"
ok "killed after $done_n runs and resumed: the same rows as uninterrupted"

# ---- refused ----
set +e
err=$(COVSHIFT_FASHION_MNIST=$tmp/nowhere "$bin" run fm.ini --db missing.db 2>&1)
rc=$?
set -e
[[ $rc == 2 && ! -e missing.db ]] || fail "a missing data set: exit $rc (want 2, no database)"
[[ $err == *"$tmp/nowhere/train-images-idx3-ubyte.gz"*"dataset-fashion-mnist"* ]] ||
    fail "a missing data set names the file and the package: $err"
printf '[network]\ndepth = 4000\nwidth = 8192\ninput_dim = 784\n[train]\ntrain = true\n' >big.ini
set +e
err=$("$bin" run big.ini --db big.db 2>&1)
rc=$?
set -e
[[ $rc == 2 && ! -e big.db ]] || fail "too large a network: exit $rc (want 2, no database)"
[[ $err == *"TB of memory"*"for the gradients of every layer"*"reduce depth, width"* ]] ||
    fail "too large a network says what and what to reduce: $err"
printf '[network]\ndepth = 100\nwidth = 8192\ninput_dim = 784\n[train]\ntrain = true\n' >mid.ini
avail=$(awk '/MemAvailable/ { printf "%d", $2 / 1024 / 1024 }' /proc/meminfo) # GiB
if ((avail < 200)); then
    "$bin" run mid.ini --db mid.db --quiet >/dev/null 2>&1 && fail "216 GB cannot fit here"
    e=$(q mid.db "SELECT error FROM runs WHERE status = 'failed'")
    [[ $e == *"GB of memory, more than the"*"this machine has"* ]] ||
        fail "a network larger than this machine: $e"
fi
for n in layer rms; do
    printf '[network]\ndepth = 2\nwidth = 8\ninput_dim = 8\n[norm]\nnorm = %s\n[train]\ntrain = true\n' "$n" >norm.ini
    set +e
    err=$("$bin" run norm.ini --db norm.db 2>&1)
    rc=$?
    set -e
    [[ $rc == 2 && ! -e norm.db ]] || fail "train with norm = $n: exit $rc (want 2, no database)"
    [[ $err == *"norm.ini:"*"'train' and 'norm'"*"norm = $n"* ]] || fail "train with norm = $n: $err"
done
ok "refused: a missing data set, a network that cannot fit, a norm training does not have"

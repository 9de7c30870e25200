#!/usr/bin/env bash
# A sweep on a real Slurm (docs/cluster.md): starts a one-node cluster of
# its own (scripts/slurm/local-cluster.sh: munged, slurmctld, slurmd, in a
# fresh directory, on two free ports), submits scripts/slurm/sweep.sbatch
# as a job array of covshift shards with the dependent merge job, waits for
# them, and checks that the merged database's result rows are bit-identical
# to the same sweep run by one process (scripts/result_checksums.sh --db),
# that each shard ran in a scratch directory under TMPDIR that was removed,
# and that srun's tasks, and not the batch script, are read as shards. The
# daemons are stopped by their pid files however the test ends. Runs as
# root (slurmd runs the jobs); installs slurm-wlm and munge when missing.
# usage: test_slurm.sh COVSHIFT_BINARY SOURCE_DIR
set -euo pipefail
bin=$(realpath "$1")
src=$(cd "$2" && pwd)
cluster=$src/scripts/slurm/local-cluster.sh
fail() { echo "FAIL: $*" >&2; exit 1; }
[[ $(id -u) == 0 ]] || fail "needs root: slurmd runs the jobs, the daemons run as root here"

tmp=$(mktemp -d /tmp/covshift-slurm-test.XXXXXX)
dir=$tmp/cluster # short: munged's socket path must fit in 108 bytes
jobs=()
cleanup() {
    local status=$?
    if [[ -f $dir/slurm.conf ]]; then
        ((${#jobs[@]})) && SLURM_CONF=$dir/slurm.conf scancel "${jobs[@]}" 2>/dev/null || true
        if ((status != 0)); then
            echo "--- logs of $dir:" >&2
            tail -n 30 "$dir"/log/*.log "$tmp"/log/* >&2 2>/dev/null || true
        fi
        bash "$cluster" stop "$dir" >/dev/null || true
    fi
    rm -rf "$tmp"
    exit "$status"
}
trap cleanup EXIT

# Two ports nothing listens on, so that this cluster collides with none.
free_port() {
    local p
    for _ in $(seq 200); do
        p=$((20000 + RANDOM % 40000))
        [[ $p == "${taken:-}" ]] && continue
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return 0
        fi
    done
    return 1
}
taken=$(free_port) || fail "no free port"
export COVSHIFT_SLURMCTLD_PORT=$taken
COVSHIFT_SLURMD_PORT=$(free_port) || fail "no free port"
export COVSHIFT_SLURMD_PORT
bash "$cluster" start "$dir" || fail "the local cluster did not start"
export SLURM_CONF=$dir/slurm.conf
for pid in munge/munged slurmctld slurmd; do
    [[ -s $dir/$pid.pid ]] || fail "no pid file $dir/$pid.pid"
done

sweep=$src/tests/fixtures/plot_claims.ini # 48 runs, a row in every result table
mkdir -p "$tmp/log" "$tmp/scratch" "$tmp/shards" "$tmp/work"
# What the jobs inherit (sbatch exports the environment): this covshift,
# node-local scratch, one thread (two shards share the node's cores), and
# the sanitizers' options when this is the ASan build.
export COVSHIFT=$bin TMPDIR=$tmp/scratch COVSHIFT_THREADS=1 OPENBLAS_NUM_THREADS=1
cd "$tmp/work"
jid=$(sbatch --parsable --array=0-3 --output="$tmp/log/shard-%a.out" \
    "$src/scripts/slurm/sweep.sbatch" "$sweep" "$tmp/shards" --quiet) || fail "sbatch of the array"
jobs+=("$jid")
mid=$(sbatch --parsable --dependency="afterok:$jid" --output="$tmp/log/merge.out" \
    "$src/scripts/slurm/sweep.sbatch" --merge "$tmp/merged.db" "$tmp/shards") || fail "sbatch of the merge"
jobs+=("$mid")
# srun's tasks are shards; the batch script itself (SLURM_PROCID=0 too) is not.
cat >"$tmp/steps.sh" <<'EOF'
#!/bin/bash
set -euo pipefail
srun --ntasks=2 --output="$1/step-%t.out" "$COVSHIFT" run "$2" --dry-run
"$COVSHIFT" run "$2" --dry-run >"$1/batch.out"
EOF
sid=$(sbatch --parsable --ntasks=2 --dependency="afterany:$mid" --output="$tmp/log/steps.out" \
    "$tmp/steps.sh" "$tmp/log" "$sweep") || fail "sbatch of the srun steps"
jobs+=("$sid")
echo "submitted: array $jid (4 shards), merge $mid after it, srun steps $sid"

# One process's run of the same sweep, meanwhile.
"$bin" run "$sweep" --db "$tmp/one.db" --quiet
ref=$(bash "$src/scripts/result_checksums.sh" --db "$tmp/one.db" --out "$tmp/sums" | cut -c19-)

t0=$SECONDS
while squeue -h -j "$jid,$mid,$sid" 2>/dev/null | grep -q .; do
    ((SECONDS - t0 < 600)) || fail "the jobs did not end within 10 minutes: $(squeue)"
    sleep 1
done
echo "the jobs ended after $((SECONDS - t0)) s"
# "JobState=... ExitCode=..." of each job (each task of an array), one a line
state() { scontrol show job -o "$1" | grep -oE 'JobState=[A-Z_]+|ExitCode=[0-9:]+' | paste -d' ' - -; }
# every array task and the merge: completed, exit 0
[[ $(state "$jid" | grep -c '^JobState=COMPLETED ExitCode=0:0$') == 4 ]] ||
    fail "the array's tasks: $(state "$jid")"
[[ $(state "$mid") == "JobState=COMPLETED ExitCode=0:0" ]] || fail "the merge job: $(state "$mid")"
[[ $(state "$sid") == "JobState=COMPLETED ExitCode=0:0" ]] || fail "the srun job: $(state "$sid")"

for k in 0 1 2 3; do
    f=$tmp/shards/plot_claims.shard-$k-of-4.db
    [[ -f $f ]] || fail "no shard $f: $(ls -A "$tmp/shards")"
    grep -q "sweep.sbatch: shard $k of 4 on .*, in $tmp/scratch/covshift-$jid-$k\." "$tmp/log/shard-$k.out" ||
        fail "shard $k did not run in the scratch: $(cat "$tmp/log/shard-$k.out")"
done
[[ -z $(ls -A "$tmp/scratch") ]] || fail "scratch left behind: $(ls -A "$tmp/scratch")"
[[ -z $(ls -A "$tmp/shards" | grep -v '\.db$' | grep -v -- '-wal$\|-shm$') ]] ||
    fail "partial copies left in the shard directory: $(ls -A "$tmp/shards")"
grep -q "^merged 4 shards into .*: 48 runs carried over (48 done, 0 failed)" "$tmp/log/merge.out" ||
    fail "merge log: $(cat "$tmp/log/merge.out")"
[[ -f $tmp/merged.db ]] || fail "no merged database"
got=$(bash "$src/scripts/result_checksums.sh" --db "$tmp/merged.db" --out "$tmp/sums" | cut -c19-)
[[ $got == "$ref" ]] || fail "the merged database differs from one process's run:
$(diff <(echo "$ref") <(echo "$got"))"
[[ $(sqlite3 "$tmp/merged.db" "SELECT count(*), count(DISTINCT run_key) FROM runs") == "48|48" ]] ||
    fail "runs in the merged database"
out=$("$bin" status "$sweep" "$tmp/merged.db" "$tmp"/shards/*.db) || fail "status: $out"
grep -q "every run is done" <<<"$out" || fail "status: $out"
echo "ok: 4 array tasks in scratch, copied back, merged by the dependent job: bit-identical to one process"

grep -q "^shard 0/2 (SLURM_PROCID=0, SLURM_NTASKS=2): " "$tmp/log/step-0.out" || fail "srun task 0: $(cat "$tmp/log/step-0.out")"
grep -q "^shard 1/2 (SLURM_PROCID=1, SLURM_NTASKS=2): " "$tmp/log/step-1.out" || fail "srun task 1: $(cat "$tmp/log/step-1.out")"
keys=$(grep -cE '(^|[[:space:]])[0-9a-f]{16}([[:space:]]|$)' "$tmp/log/batch.out" || true)
if grep -q '^shard ' "$tmp/log/batch.out" || [[ $keys != 48 ]]; then
    fail "the batch script was read as a shard ($keys runs): $(head -n2 "$tmp/log/batch.out")"
fi
echo "ok: srun --ntasks=2 tasks are shards 0/2 and 1/2; the batch script (SLURM_PROCID=0, no step) is the whole sweep"

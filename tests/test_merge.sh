#!/usr/bin/env bash
# Shards and their merge end to end (docs/design.md §8, docs/cluster.md):
#   shards    run --shard K/N and the job-array, srun, Open MPI and PMI
#             defaults: every run in exactly one shard, the default names
#             carry K and N, a malformed or contradictory environment is exit
#             2 naming its variable with nothing written, --shard wins;
#   merge     12 shards (more than SQLite's 10 attached databases) merged
#             give result rows bit-identical to one process's run of the
#             sweep (scripts/result_checksums.sh --db), every run once;
#             merged again, overlapping a whole copy, in two parts (partial,
#             then the rest): the same; a failed run loses to a done one in
#             either order, a 'running' one is left out;
#   killed    a merge SIGKILLed after some shards, then run again: the same
#             rows as one process, every run whole;
#   refused   another config under the same name, another schema version,
#             a missing shard, the output itself: exit 2 naming the file,
#             the output unchanged (or not created);
#   status    which runs are done, failed, unfinished, missing, and the
#             shards to run again.
# usage: test_merge.sh COVSHIFT_BINARY SOURCE_DIR
set -euo pipefail
bin=$1
src=$(cd "$2" && pwd)
tmp=$(mktemp -d)
merge_pid=
trap '[[ -n $merge_pid ]] && kill -KILL "$merge_pid" 2>/dev/null; rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
export COVSHIFT_THREADS=1 OPENBLAS_NUM_THREADS=1
unset SLURM_ARRAY_TASK_ID SLURM_ARRAY_TASK_COUNT SLURM_ARRAY_TASK_MIN SLURM_ARRAY_TASK_MAX \
    SLURM_PROCID SLURM_NTASKS SLURM_STEP_ID OMPI_COMM_WORLD_RANK OMPI_COMM_WORLD_SIZE \
    PMI_RANK PMI_SIZE
sweep=$src/tests/fixtures/plot_claims.ini # 48 runs with a row in every result table
cd "$tmp"

# The result rows of a database, keyed by run_key, one checksum per table.
sums() { bash "$src/scripts/result_checksums.sh" --db "$1" --out "$tmp/sums" | cut -c19-; }
q() { sqlite3 -batch -noheader "$@"; }
# Every done run of DB has all its rows: the counts of plot_claims.ini's runs.
whole() {
    local bad
    bad=$(q "$1" "SELECT count(*) FROM runs r WHERE r.status = 'done' AND (
              (SELECT count(*) FROM layer_stats WHERE run_id = r.id) <> (r.steps_a + r.steps_b) * (3 * r.depth + 1)
           OR (SELECT count(*) FROM histograms WHERE run_id = r.id) <> 2 * (3 * r.depth + 1) * (r.bins + 2)
           OR (SELECT count(*) FROM drift WHERE run_id = r.id) <> 3 * r.depth + 1)")
    [[ $bad == 0 ]] || fail "$1: $bad done runs without all their rows"
}
# The run_keys a dry run prints: 16 hex digits standing alone between blanks.
keys_of() { grep -oE '(^|[[:space:]])[0-9a-f]{16}([[:space:]]|$)' | tr -d '[:space:]' | fold -w16 | sort; }

"$bin" run "$sweep" --db ref.db --quiet
ref=$(sums ref.db)
[[ $(q ref.db "SELECT count(*) FROM runs WHERE status = 'done'") == 48 ]] || fail "reference run"

# ---------------------------------------------------------------- shards
"$bin" run "$sweep" --dry-run | keys_of >all.keys
[[ $(wc -l <all.keys) == 48 ]] || fail "dry run lists $(wc -l <all.keys) run_keys"
: >union.keys
for k in 0 1 2 3 4 5 6; do
    "$bin" run "$sweep" --dry-run --shard "$k/7" >dry.$k
    grep -q "^shard $k/7 (--shard $k/7): " dry.$k || fail "dry run of shard $k/7: $(head -n2 dry.$k)"
    grep -q "plot_claims.shard-$k-of-7.db" dry.$k || fail "shard $k/7's database name: $(head -n2 dry.$k)"
    keys_of <dry.$k >>union.keys
done
sort -o union.keys union.keys
cmp -s all.keys union.keys || fail "the 7 shards' runs are not the sweep's, each once: $(diff all.keys union.keys | head)"
ok "--dry-run --shard K/7: every run of the sweep in exactly one of the 7 shards"

# The defaults from the environment, each naming its source.
check_env() { # WANT_LINE VAR=VALUE...
    local want=$1 out
    shift
    out=$(env "$@" "$bin" run "$sweep" --dry-run | sed -n 1p)
    [[ $out == "$want"* ]] || fail "env $*: got '$out', want '$want...'"
}
check_env "shard 2/5 (SLURM_ARRAY_TASK_ID=2, SLURM_ARRAY_TASK_COUNT=5): " \
    SLURM_ARRAY_TASK_ID=2 SLURM_ARRAY_TASK_COUNT=5 SLURM_PROCID=0 SLURM_NTASKS=1
check_env "shard 2/5 (SLURM_ARRAY_TASK_ID=2, SLURM_ARRAY_TASK_MIN=0, SLURM_ARRAY_TASK_MAX=4): " \
    SLURM_ARRAY_TASK_ID=2 SLURM_ARRAY_TASK_MIN=0 SLURM_ARRAY_TASK_MAX=4
check_env "shard 1/3 (SLURM_PROCID=1, SLURM_NTASKS=3): " SLURM_STEP_ID=0 SLURM_PROCID=1 SLURM_NTASKS=3
check_env "shard 3/4 (OMPI_COMM_WORLD_RANK=3, OMPI_COMM_WORLD_SIZE=4): " \
    OMPI_COMM_WORLD_RANK=3 OMPI_COMM_WORLD_SIZE=4 SLURM_STEP_ID=0 SLURM_PROCID=0 SLURM_NTASKS=1
check_env "shard 0/2 (PMI_RANK=0, PMI_SIZE=2): " PMI_RANK=0 PMI_SIZE=2
out=$(env SLURM_ARRAY_TASK_ID=x PMI_RANK=9 "$bin" run "$sweep" --dry-run --shard 1/3 | sed -n 1p)
[[ $out == "shard 1/3 (--shard 1/3): "* ]] || fail "--shard does not win over the environment: $out"
# A batch script's SLURM_PROCID=0 without a step is not a shard.
out=$(env SLURM_PROCID=0 SLURM_NTASKS=4 "$bin" run "$sweep" --dry-run | sed -n 1p)
[[ $out == "48 runs"* ]] || fail "a batch script's SLURM_PROCID made a shard: $out"
ok "shard defaults: job array (COUNT, MIN/MAX), srun step, Open MPI, PMI; --shard wins; a batch step is no shard"

refused_env() { # WORD VAR=VALUE...
    local word=$1 status=0 out
    shift
    out=$(env "$@" "$bin" run "$sweep" --db "$tmp/never.db" 2>&1) || status=$?
    [[ $status == 2 ]] || fail "env $*: exit $status, want 2: $out"
    grep -qF -- "$word" <<<"$out" || fail "env $*: the message does not name $word: $out"
    [[ ! -e $tmp/never.db ]] || fail "env $*: a database was written"
}
refused_env "SLURM_ARRAY_TASK_ID='x'" SLURM_ARRAY_TASK_ID=x SLURM_ARRAY_TASK_COUNT=4
refused_env "SLURM_ARRAY_TASK_MIN=3" SLURM_ARRAY_TASK_ID=5 SLURM_ARRAY_TASK_COUNT=2 \
    SLURM_ARRAY_TASK_MIN=3 SLURM_ARRAY_TASK_MAX=5
refused_env "SLURM_ARRAY_TASK_COUNT" SLURM_ARRAY_TASK_ID=1
refused_env "OMPI_COMM_WORLD_SIZE" OMPI_COMM_WORLD_RANK=1
refused_env "PMI_RANK=2" OMPI_COMM_WORLD_RANK=1 OMPI_COMM_WORLD_SIZE=4 PMI_RANK=2 PMI_SIZE=4
refused_env "SLURM_NTASKS=2" SLURM_STEP_ID=3 SLURM_PROCID=2 SLURM_NTASKS=2
status=0
out=$("$bin" run "$sweep" --shard 3/3 --db "$tmp/never.db" 2>&1) || status=$?
[[ $status == 2 && $out == *"expected K/N"* && ! -e $tmp/never.db ]] || fail "--shard 3/3: exit $status: $out"
ok "malformed or contradictory environments and --shard: exit 2 naming the variable, nothing written"

# 12 shards through the job array's variables, as sbatch --array=0-11 runs them.
for k in $(seq 0 11); do
    SLURM_ARRAY_TASK_ID=$k SLURM_ARRAY_TASK_COUNT=12 "$bin" run "$sweep" --quiet
done
shards=(results/plot_claims.shard-{00..11}-of-12.db)
for s in "${shards[@]}"; do [[ -f $s ]] || fail "no shard database $s: $(ls results)"; done
for s in "${shards[@]}"; do q "$s" "SELECT run_key FROM runs WHERE status = 'done'"; done | sort >shard.keys
cmp -s shard.keys all.keys || fail "the 12 shard databases do not hold each run once"
ok "12 shards from SLURM_ARRAY_TASK_ID/COUNT into results/plot_claims.shard-KK-of-12.db, each run once"

# ---------------------------------------------------------------- merge
"$bin" merge all.db "${shards[@]}" 2>merge.log || fail "merge: $(cat merge.log)"
grep -q "^merged 12 shards into all.db: 48 runs carried over (48 done, 0 failed)" merge.log ||
    fail "merge summary: $(cat merge.log)"
[[ $(sums all.db) == "$ref" ]] || fail "the merge of 12 shards differs from one process:
$(diff <(echo "$ref") <(sums all.db))"
[[ $(q all.db "SELECT count(*), count(DISTINCT run_key) FROM runs") == "48|48" ]] || fail "runs in the merge"
[[ $(q all.db "SELECT count(*), sum(runs_done), min(position), max(position) FROM merge_shards") == "12|48|1|12" ]] ||
    fail "merge_shards: $(q all.db 'SELECT * FROM merge_shards')"
[[ $(q all.db "SELECT count(*) FROM merges WHERE finished_at IS NOT NULL") == 1 ]] || fail "merges row"
# (a shard the jump hash gave no run has no host to record)
[[ $(q all.db "SELECT count(*) FROM merge_shards WHERE runs_present = 0 OR (hosts LIKE '$(uname -n) (%' AND blas LIKE '%core %')") == 12 ]] ||
    fail "merge_shards provenance: $(q all.db 'SELECT hosts, blas FROM merge_shards LIMIT 1')"
whole all.db
ok "12 shards merged: result rows bit-identical to one process, each run once, provenance per shard"

# Again: nothing changes but a second merges row.
"$bin" merge all.db "${shards[@]}" --quiet
[[ $(sums all.db) == "$ref" && $(q all.db "SELECT count(*) FROM runs") == 48 ]] || fail "merging again changed the runs"
[[ $(q all.db "SELECT count(*), sum(runs_present), sum(runs_done) FROM merge_shards WHERE merge_id = 2") == "12|48|0" ]] ||
    fail "second merge's counts: $(q all.db 'SELECT * FROM merge_shards WHERE merge_id = 2')"
# Overlapping: the shards, a whole copy of the sweep, the shards again.
"$bin" merge overlap.db "${shards[@]:0:6}" ref.db "${shards[@]}" --quiet
[[ $(sums overlap.db) == "$ref" && $(q overlap.db "SELECT count(*) FROM runs") == 48 ]] || fail "overlapping merge"
whole overlap.db
ok "merged again, and overlapping a whole copy: the same 48 runs, each once"

# Partial, then the rest.
"$bin" merge part.db "${shards[@]:0:6}" --quiet
n=$(q part.db "SELECT count(*) FROM runs")
want=0
for s in "${shards[@]:0:6}"; do want=$((want + $(q "$s" "SELECT count(*) FROM runs"))); done
[[ $n == "$want" ]] || fail "partial merge has $n runs, its shards $want"
status=0
"$bin" status "$sweep" part.db --shards 12 >status.out || status=$?
[[ $status == 1 ]] || fail "status of an incomplete sweep: exit $status"
grep -q "^experiment 'plot_claims': 48 runs, looked up in 1 databases: $n done, 0 failed, 0 unfinished, $((48 - n)) missing$" status.out ||
    fail "status: $(head -n1 status.out)"
# the shards to run again are exactly the non-empty ones of 6..11
want=()
for k in 6 7 8 9 10 11; do
    [[ $(q "${shards[$k]}" "SELECT count(*) FROM runs") == 0 ]] || want+=("$k")
done
got=$("$bin" status "$sweep" part.db --shards 12 --array || true)
expand() { local item a b; for item in ${1//,/ }; do a=${item%-*}; b=${item#*-}; seq "$a" "$b"; done; }
[[ $(expand "$got" | xargs) == "${want[*]}" ]] || fail "status --array: '$got', want shards ${want[*]}"
grep -q "sbatch --array=$got --export=ALL,COVSHIFT_SHARDS=12 scripts/slurm/sweep.sbatch" status.out ||
    fail "status: no sbatch line: $(tail -n2 status.out)"
[[ $(grep -c '^  [0-9a-f]\{16\}  shard \([6-9]\|1[01]\)  ' status.out) == $((48 - n)) ]] ||
    fail "status lists the missing runs with shards 6..11: $(cat status.out)"
# N read from the shard files' names
[[ $("$bin" status "$sweep" "${shards[@]:0:6}" --array || true) == "$got" ]] || fail "status does not read N from the names"
"$bin" merge part.db "${shards[@]:6}" --quiet
[[ $(sums part.db) == "$ref" ]] || fail "a partial merge completed by the rest differs"
out=$("$bin" status "$sweep" part.db) || fail "status of a complete sweep: exit $?: $out"
grep -q "every run is done" <<<"$out" || fail "status: $out"
ok "partial merge, status naming the shards to run again ($got of 12), then the rest: identical"

# Failed and running: a copy of shard 1 with its first run failed, its second running.
cp "${shards[1]}" sick.db
ids=($(q sick.db "SELECT id FROM runs ORDER BY id LIMIT 2"))
((${#ids[@]} == 2)) || fail "shard 1 has fewer than 2 runs"
q sick.db "PRAGMA foreign_keys = ON;
    UPDATE runs SET status = 'failed', error = 'injected failure' WHERE id = ${ids[0]};
    UPDATE runs SET status = 'running', finished_at = NULL WHERE id = ${ids[1]};
    DELETE FROM layer_stats WHERE run_id IN (${ids[0]}, ${ids[1]});
    DELETE FROM histograms WHERE run_id IN (${ids[0]}, ${ids[1]});
    DELETE FROM drift WHERE run_id IN (${ids[0]}, ${ids[1]});
    DELETE FROM grad_stats WHERE run_id IN (${ids[0]}, ${ids[1]});
    DELETE FROM bn_noise WHERE run_id IN (${ids[0]}, ${ids[1]});
    DELETE FROM running_gap WHERE run_id IN (${ids[0]}, ${ids[1]})"
failed_key=$(q sick.db "SELECT run_key FROM runs WHERE id = ${ids[0]}")
"$bin" merge sick_first.db sick.db "${shards[@]}" 2>sick.log
[[ $(q sick_first.db "SELECT runs_done, runs_failed, runs_unfinished FROM merge_shards WHERE position = 1") == "$(( $(q sick.db "SELECT count(*) FROM runs") - 2 ))|1|1" ]] ||
    fail "the sick shard's counts: $(q sick_first.db 'SELECT * FROM merge_shards WHERE position = 1')"
"$bin" merge sick_last.db "${shards[@]}" sick.db --quiet
for db in sick_first.db sick_last.db; do
    [[ $(sums $db) == "$ref" ]] || fail "$db: a failed or running run was not beaten by the done one"
    [[ $(q $db "SELECT count(*) FROM runs WHERE status <> 'done'") == 0 ]] || fail "$db keeps a failed or running run"
done
"$bin" merge sick_only.db sick.db --quiet
[[ $(q sick_only.db "SELECT status, error FROM runs WHERE run_key = '$failed_key'") == "failed|injected failure" ]] ||
    fail "a failed run alone is not carried as failed"
[[ $(q sick_only.db "SELECT count(*) FROM runs WHERE status = 'running'") == 0 ]] || fail "a running run was carried over"
status=0
"$bin" status "$sweep" sick.db --shards 12 >sick.status || status=$?
[[ $status == 1 ]] || fail "status with a failed run: exit $status"
grep -q "^  $failed_key  shard 1  .*: injected failure (in sick.db)$" sick.status || fail "status: failed run: $(cat sick.status)"
grep -q "^  [0-9a-f]\{16\}  shard 1  .*: held by pid [0-9]* on .* (in sick.db)$" sick.status ||
    fail "status: unfinished run: $(cat sick.status)"
ok "done beats failed in either order; failed alone is carried, running is not; status shows both"

# ---------------------------------------------------------------- refused
sum_before=$(md5sum all.db)
refused() { # WORD ARGS...
    local word=$1 status=0 out
    shift
    out=$("$bin" merge "$@" 2>&1) || status=$?
    [[ $status == 2 ]] || fail "merge $*: exit $status, want 2: $out"
    grep -qF -- "$word" <<<"$out" || fail "merge $*: the message does not name $word: $out"
}
"$bin" run "$sweep" --set depth=3 --set seed=1 --db other.db --quiet
refused "'other.db': its experiment 'plot_claims' was run from another config" all.db "${shards[0]}" other.db
refused "'other.db': its experiment 'plot_claims'" new.db "${shards[0]}" other.db
cp "${shards[2]}" v2.db
q v2.db "PRAGMA user_version = 2"
refused "'v2.db' has results schema version 2" all.db "${shards[0]}" v2.db
refused "'nope.db' does not exist" all.db nope.db
refused "is the database merged into" all.db "${shards[0]}" ./all.db
echo "not a database" >junk.db
refused "junk.db" all.db junk.db
# (a reader leaves an empty -wal beside a WAL database, as covshift list does)
[[ $(md5sum all.db) == "$sum_before" && ! -s all.db-wal ]] || fail "a refused merge changed all.db"
[[ ! -e new.db ]] || fail "a refused merge created new.db"
ok "another config of the name, schema version 2, a missing file, the output itself, not a database: exit 2 naming it, nothing written"

# A name with several configs (a file edited and run again into the same
# database) merges with shards that share one of them; a BLAS core that
# differs between shards is warned about.
"$bin" run "$sweep" --set seed=1 --db edited.db --quiet
"$bin" run "$sweep" --db edited.db --quiet
[[ $(q edited.db "SELECT count(*) FROM experiments") == 2 ]] || fail "edited.db should hold two configs"
cp "${shards[3]}" core.db
q core.db "UPDATE experiments SET blas = 'OpenBLAS 0.3.21; core Prescott, set by OPENBLAS_CORETYPE=Prescott'"
"$bin" merge edited_out.db "${shards[@]:0:4}" edited.db core.db 2>edited.log || fail "merge of an edited sweep: $(cat edited.log)"
[[ $(sums edited_out.db) == "$ref" && $(q edited_out.db "SELECT count(*) FROM runs") == 48 ]] ||
    fail "an edited sweep's merge"
grep -q "warning: the shards ran on 2 different BLAS cores.* Prescott (first in 'core.db')" edited.log ||
    fail "no warning about two BLAS cores: $(cat edited.log)"
ok "a name with two configs merges with shards that share one; two BLAS cores are warned about"

# ---------------------------------------------------------------- killed
# A sweep with more rows per shard, so that a merge is caught part way.
cat >big.ini <<'EOF'
[experiment]
name = merge_big
[network]
depth = 16
width = 8
input_dim = 8
[data]
batch = 4
steps_a = 5
steps_b = 5
[run]
seed = 1..36
bins = 64
EOF
"$bin" run big.ini --db big_ref.db --quiet
big_ref=$(sums big_ref.db)
for k in $(seq 0 11); do "$bin" run big.ini --shard "$k/12" --quiet; done
big=(results/merge_big.shard-*-of-12.db)
((${#big[@]} == 12)) || fail "the big sweep has ${#big[@]} shards"
caught=0
for attempt in 1 2 3 4 5; do
    rm -f killed.db killed.db-wal killed.db-shm
    "$bin" merge killed.db "${big[@]}" --quiet &
    merge_pid=$!
    n=0
    for _ in $(seq 4000); do
        # read-only, so that the poll never creates the file itself
        n=0
        [[ -s killed.db ]] && n=$(q -readonly killed.db "SELECT count(*) FROM merge_shards" 2>/dev/null || echo 0)
        [[ $n =~ ^[0-9]+$ ]] || n=0
        ((n >= 1)) && break
        kill -0 "$merge_pid" 2>/dev/null || break
        sleep 0.005
    done
    kill -KILL "$merge_pid" 2>/dev/null || true
    wait "$merge_pid" 2>/dev/null || true
    merge_pid=
    n=$(q killed.db "SELECT count(*) FROM merge_shards")
    if ((n >= 1 && n < 12)); then
        caught=1
        break
    fi
done
((caught)) || fail "could not SIGKILL a merge part way in 5 attempts (it had merged $n of 12)"
[[ $(q killed.db "SELECT count(*) FROM merges WHERE finished_at IS NULL") == 1 ]] || fail "the killed merge's row"
[[ $(q killed.db "PRAGMA integrity_check") == ok ]] || fail "the killed merge left a damaged database"
whole killed.db
carried=$(q killed.db "SELECT count(*) FROM runs")
"$bin" merge killed.db "${big[@]}" --quiet
[[ $(sums killed.db) == "$big_ref" ]] || fail "a killed merge run again differs from one process"
[[ $(q killed.db "SELECT count(*) FROM runs") == 36 ]] || fail "runs after the killed merge was run again"
ok "a merge SIGKILLed after $n of 12 shards ($carried runs, each whole), run again: identical to one process"
echo "all merge tests passed"

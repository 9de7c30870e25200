#!/usr/bin/env bash
# Checksums of every stored result of a fixed set of experiments, so that a
# refactoring can prove it changed no value (docs: "Reproducibility").
#
#   bash scripts/result_checksums.sh [--covshift BIN] [--out DIR] [EXPERIMENT.ini ...]
#   bash scripts/result_checksums.sh --db DB [--out DIR]
#
# Runs each experiment (default: the quickstart, bench/w1.ini and the three
# claim studies) into a fresh database in DIR, then prints one md5 per
# (experiment, table) of the table's rows with ids and timings left out:
# rows are keyed by run_key, not run id (ids depend on the order workers
# finish), and every REAL is printed with 17 significant digits, which
# round-trips a double, so equal sums mean bit-identical values. With
# --db it runs nothing and prints the sums of the database DB as it is
# (a merge of shards against one process's run, tests/test_merge.sh). Compare
# sums made with the same BLAS core (set OPENBLAS_CORETYPE to pin it):
# products differ in their last bits between cores.
set -euo pipefail
caller=$PWD
cd "$(dirname "$0")/.."

bin=build/covshift
db_only=
out=
files=()
while (($#)); do
    case $1 in
    --covshift) bin=$2; shift 2 ;;
    --out) out=$2; [[ $out == /* ]] || out=$caller/$out; shift 2 ;;
    --db) db_only=$2; [[ $db_only == /* ]] || db_only=$caller/$db_only; shift 2 ;;
    -h | --help) sed -n '2,17p' "$0"; exit 0 ;;
    *) files+=("$1"); shift ;;
    esac
done
[[ -n $out ]] || out=$(mktemp -d "${TMPDIR:-/tmp}/covshift-sums.XXXXXX")
# Prints one line per result table of database $1 (named $2), and the run keys.
sums() {
    local db=$1 name=$2 table rows sum
    for table in layer_stats histograms drift grad_stats bn_noise running_gap \
        train_loss train_eval train_prior train_probe train_layers; do
        rows=$(dump_table "$db" "$table" | tee "$out/$name.$table.txt" | wc -l)
        sum=$(md5sum <"$out/$name.$table.txt" | cut -c1-32)
        printf '%-18s %-12s %8d rows  %s\n' "$name" "$table" "$rows" "$sum"
    done
    # the run parameters (run_key and canonical text) must not move either
    sum=$(sqlite3 -batch -noheader "$db" "SELECT run_key, params FROM runs WHERE status = 'done'
                                          ORDER BY run_key" | md5sum | cut -c1-32)
    printf '%-18s %-12s %8s       %s\n' "$name" "run_keys" "" "$sum"
}

if ((${#files[@]} == 0)); then
    files=(experiments/quickstart.ini bench/w1.ini experiments/grad_by_depth.ini
           experiments/bn_noise.ini experiments/running_averages.ini)
fi
mkdir -p "$out"

# One SELECT per result table: every column but run_id, with the run's
# run_key first; REALs as %.17g. Tables a database lacks are skipped.
dump_table() {
    local db=$1 table=$2 cols
    cols=$(sqlite3 -batch -noheader "$db" \
        "SELECT group_concat(CASE WHEN type = 'REAL' THEN printf('printf(''%%.17g'', t.%s)', name)
                                  ELSE 't.' || name END, ', ')
         FROM pragma_table_info('$table') WHERE name <> 'run_id'")
    [[ -n $cols ]] || return 0
    # the first five columns, or all of a narrower table (train_loss has three)
    local n order
    n=$(sqlite3 -batch -noheader "$db" \
        "SELECT min(5, count(*) + 1) FROM pragma_table_info('$table') WHERE name <> 'run_id'")
    order=$(seq -s ', ' 1 "$n")
    sqlite3 -batch -noheader -separator ' ' "$db" \
        "SELECT r.run_key, $cols FROM $table t JOIN runs r ON r.id = t.run_id
         WHERE r.status = 'done' ORDER BY $order"
}

if [[ -n $db_only ]]; then
    [[ -f $db_only ]] || { echo "result_checksums: no database $db_only" >&2; exit 2; }
    sums "$db_only" "$(basename "$db_only" .db)"
    exit 0
fi
[[ -x $bin ]] || { echo "result_checksums: no executable $bin (build first)" >&2; exit 2; }
for f in "${files[@]}"; do
    name=$(basename "$f" .ini)
    db=$out/$name.db
    rm -f "$db" "$db-wal" "$db-shm"
    "$bin" run "$f" --db "$db" --quiet
    sums "$db" "$name"
done
echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-<unset: as detected>}; dumps in $out" >&2

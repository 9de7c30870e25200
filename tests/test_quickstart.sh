#!/usr/bin/env bash
# The README's main job: the quickstart experiment
# runs whole into a fresh database, with the row counts of docs/design.md §3:
# steps x (3 depth + 1) layer_stats rows and 3 depth + 1 drift rows per run;
# and the README's table of its result is what its one query,
# scripts/queries/quickstart_table.sql, prints on that database.
# usage: test_quickstart.sh COVSHIFT_BINARY SOURCE_DIR
set -euo pipefail
bin=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$bin" run "$src/experiments/quickstart.ini" --db "$tmp/q.db" --jobs 2 --quiet

fail=0
check() { # name, sql, expected
    local got
    got=$(sqlite3 "$tmp/q.db" "$2")
    if [[ "$got" != "$3" ]]; then
        echo "FAIL: $1: got '$got', want '$3'" >&2
        fail=1
    else
        echo "ok: $1 = $got"
    fi
}
check "runs" "SELECT count(*) FROM runs" 16
check "runs not done" "SELECT count(*) FROM runs WHERE status <> 'done'" 0
check "runs with wrong layer_stats count" \
    "SELECT count(*) FROM runs r WHERE (SELECT count(*) FROM layer_stats s WHERE s.run_id = r.id)
         <> (r.steps_a + r.steps_b) * (3 * r.depth + 1)" 0
check "runs with wrong drift count" \
    "SELECT count(*) FROM runs r WHERE (SELECT count(*) FROM drift d WHERE d.run_id = r.id)
         <> 3 * r.depth + 1" 0
check "layer_stats rows" "SELECT count(*) FROM layer_stats" $((16 * 20 * 91))
check "integrity" "PRAGMA integrity_check" ok

table=$(sqlite3 "$tmp/q.db" <"$src/scripts/queries/quickstart_table.sql")
readme=$(sed -n '/<!-- the output of scripts\/queries\/quickstart_table.sql/,/<!-- end of that output -->/p' "$src/README.md" |
    sed '1d;$d')
if [[ -z "$readme" || "$table" != "$readme" ]]; then
    echo "FAIL: README's quickstart table is not what scripts/queries/quickstart_table.sql prints:" >&2
    diff <(echo "$readme") <(echo "$table") >&2 || true
    fail=1
else
    echo "ok: README's quickstart table = scripts/queries/quickstart_table.sql ($(grep -c '^| [rt]' <<<"$table") rows)"
fi
exit $fail

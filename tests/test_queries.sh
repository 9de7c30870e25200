#!/usr/bin/env bash
# Every example query in scripts/queries/ (docs/database.md, example
# queries) on a real small database that covshift made: each runs through
# the sqlite3 shell without error and returns rows, with its parameters
# unset (the defaults) and set with .parameter set; the parameters select
# what they say; every non-integer number it prints has at most 4
# significant digits. A query added to the folder is tested without
# being named here.
# usage: test_queries.sh COVSHIFT_BINARY SOURCE_DIR
set -euo pipefail
bin=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
db=$tmp/q.db
"$bin" run "$src/tests/fixtures/report_claims.ini" --db "$db" --quiet --jobs 2
fail=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*" >&2; fail=1; }

# The data rows a query printed (.mode column or markdown, a header and a
# rule per statement): the lines that are not blank, not a rule and not
# the line above a rule. In .mode line (provenance) every "key = value".
rows() {
    awk '/^ *$/ { next }
         /^\|?-[-| ]*$/ { if (prev) n--; prev = 0; next }
         { n++; prev = 1 }
         END { print n + 0 }' <<<"$1"
}

# A run parameter is printed as the figures print it (%g: sigma_w 1.41421);
# every other number with a decimal point has at most 4 significant
# digits.
params_g=$(sqlite3 "$db" "SELECT printf('%g', sigma_w) FROM runs UNION SELECT printf('%g', sigma_b)
    FROM runs UNION SELECT printf('%g', shift_mean) FROM runs UNION SELECT printf('%g', shift_scale)
    FROM runs UNION SELECT printf('%g', dropout) FROM runs UNION SELECT printf('%g', momentum)
    FROM runs UNION SELECT printf('%g', eps) FROM runs")
too_precise() {
    grep -oE '(^|[ |=])-?[0-9]*\.[0-9]+(e[-+]?[0-9]+)?( |$|\|)' <<<"$1" | tr -d ' |=' |
        awk '{ m = $0; sub(/e.*/, "", m); gsub(/[-.]/, "", m); sub(/^0+/, "", m);
               if (length(m) > 4) print $0 }' | grep -vxF "$params_g" || true
}

n=0
for q in "$src"/scripts/queries/*.sql; do
    name=$(basename "$q" .sql)
    n=$((n + 1))
    for params in "" ".parameter set @experiment 'report_claims'"; do
        if [[ -n $params ]]; then
            out=$(sqlite3 -bail -cmd "$params" "$db" <"$q" 2>&1) || { bad "$name ($params): exit $?: $out"; continue; }
        else
            out=$(sqlite3 -bail "$db" <"$q" 2>&1) || { bad "$name: exit $?: $out"; continue; }
        fi
        if grep -qi 'error' <<<"$out"; then bad "$name ($params): $out"; continue; fi
        r=$(rows "$out")
        # quickstart_table's default is the quickstart experiment: none here
        if [[ $name == quickstart_table && -z $params ]]; then
            [[ $r -eq 0 ]] || bad "$name without @experiment on another experiment printed rows"
            continue
        fi
        [[ $r -gt 0 ]] || { bad "$name ($params): no rows: $out"; continue; }
        p=$(too_precise "$out")
        [[ -z $p ]] || bad "$name ($params): numbers with more than 4 significant digits: $p"
        ok "$name${params:+ ($params)}: $r rows"
    done
done
[[ $n -ge 11 ]] || bad "only $n queries found"

# The parameters select what they say: a run without dropout, so that its
# condition is one word and the columns split on blanks.
run=$(sqlite3 "$db" "SELECT id FROM runs WHERE status = 'done' AND norm = 'batch' AND dropout = 0
                     ORDER BY id LIMIT 1 OFFSET 2")
want=$(sqlite3 "$db" "SELECT count(*) FROM layer_stats WHERE run_id = $run AND layer = 1 AND site = 'norm'")
out=$(sqlite3 -bail -cmd ".parameter set @run $run" -cmd ".parameter set @layer 1" \
    -cmd ".parameter set @site 'norm'" "$db" <"$src/scripts/queries/layer_stats_over_steps.sql")
picked=$(tail -n +3 <<<"$out" | awk -v run="$run" '$1 == run && $3 == 1 && $4 == "norm"' | grep -c . || true)
if [[ $(rows "$out") -eq $want && $picked -eq $want && $want -gt 0 ]]; then
    ok "layer_stats_over_steps @run $run @layer 1 @site norm: $want rows, all of that run, layer and site"
else
    bad "layer_stats_over_steps @run $run @layer 1 @site norm: $(rows "$out") rows ($picked of them run $run, layer 1, norm), want $want: $out"
fi
bins=$(sqlite3 "$db" "SELECT bins + 2 FROM runs WHERE id = $run")
out=$(sqlite3 -bail -cmd ".parameter set @run $run" "$db" <"$src/scripts/queries/histogram_a_vs_b.sql")
[[ $(rows "$out") -eq $bins ]] && ok "histogram_a_vs_b @run $run: $bins bins" ||
    bad "histogram_a_vs_b @run $run: $(rows "$out") rows, want $bins"
out=$(sqlite3 -bail -cmd ".parameter set @experiment 'nosuch'" "$db" <"$src/scripts/queries/drift_by_depth.sql")
[[ $(rows "$out") -eq 0 ]] && ok "drift_by_depth @experiment 'nosuch': no rows" ||
    bad "drift_by_depth @experiment 'nosuch' printed rows: $out"
exit $fail

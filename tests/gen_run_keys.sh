#!/usr/bin/env bash
# Writes tests/fixtures/run_keys.txt: the run_key and canonical text of
# every run of every shipped experiment file that expands (experiments/,
# bench/, tests/fixtures/), as `covshift run FILE --dry-run=canonical` prints them.
# The committed file was made by the binary of commit 68c7681, before the
# run parameters became one table (sim/model/cs_param.c); test_run_keys
# checks that every later binary computes the same keys, so that no stored
# result is orphaned and every interrupted sweep still resumes. Runs added
# to a shipped file since (more seeds, a steps_a axis) were merged in by a
# later binary with every earlier line kept as it was: the diff of such a
# change adds lines and removes none.
#
#   bash tests/gen_run_keys.sh COVSHIFT_BINARY > tests/fixtures/run_keys.txt
set -euo pipefail
bin=$1
cd "$(dirname "$0")/.."
echo "# file<TAB>run_key<TAB>canonical text; made by tests/gen_run_keys.sh"
for f in experiments/*.ini bench/*.ini tests/fixtures/*.ini; do
    # Files made to fail (the tests' mistakes) do not expand: skipped.
    out=$("$bin" run "$f" --dry-run=canonical --db /nonexistent/dry-run.db 2>/dev/null) || continue
    tail -n +2 <<<"$out" | awk -v f="$f" '{ printf "%s\t%s\t%s\n", f, $2, $3 }'
done

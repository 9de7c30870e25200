#!/usr/bin/env bash
# Results on real file systems: a read-only mount and a full disk (docs/database.md
# "Results database"). Tests run as root, who ignores permission bits, so a
# chmod'ed directory proves nothing: the read-only case is a tmpfs
# remounted read-only, which refuses root too (EROFS), and the full disk a
# tmpfs of a few kilobytes. Everything runs in a mount namespace of its own
# (unshare -m), so no mount outlives the test, even when it fails.
# Usage: test_store_fs.sh COVSHIFT_BINARY SOURCE_DIR
set -euo pipefail
bin=$1
src=$2
if [[ ${CS_TEST_IN_NAMESPACE:-} != 1 ]]; then
    if ! unshare -m --propagation private true 2>/dev/null; then
        echo "FAIL: cannot make a mount namespace (unshare -m): this test needs CAP_SYS_ADMIN" >&2
        exit 1
    fi
    exec env CS_TEST_IN_NAMESPACE=1 unshare -m --propagation private bash "$0" "$@"
fi

tmp=$(mktemp -d)
trap 'umount -q "$tmp"/ro "$tmp"/full "$tmp"/small 2>/dev/null || true; rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
export COVSHIFT_THREADS=1
small=$src/tests/fixtures/e2e_small.ini

# A finished database (WAL mode, -wal and -shm removed on close), and one
# whose newest change is still only in its -wal (no checkpoint on close).
"$bin" run "$small" --db "$tmp/src/r.db" --set seed=1 --quiet
cp "$tmp/src/r.db" "$tmp/src/w.db"
sqlite3 "$tmp/src/w.db" ".dbconfig no_ckpt_on_close on" \
    "UPDATE experiments SET name = 'only_in_the_wal'" >/dev/null
[[ -s $tmp/src/w.db-wal && -e $tmp/src/w.db-shm ]] || fail "could not make a database with a -wal"

# ---- read-only mount ----
mkdir "$tmp/ro"
mount -t tmpfs -o size=16m tmpfs "$tmp/ro"
cp "$tmp/src/r.db" "$tmp/ro/r.db"
cp "$tmp/src/w.db" "$tmp/src/w.db-wal" "$tmp/src/w.db-shm" "$tmp/ro/"
mkdir "$tmp/ro/nowal"
cp "$tmp/src/w.db" "$tmp/ro/nowal/w.db"
cp "$tmp/src/w.db-wal" "$tmp/ro/nowal/w.db-wal"
mount -o remount,ro "$tmp/ro"
if touch "$tmp/ro/probe" 2>/dev/null; then fail "the remounted tmpfs is writable"; fi
sum_before=$(md5sum "$tmp/ro/r.db" "$tmp/ro/w.db")

# No -shm can be made there: opened as immutable.
out=$("$bin" list "$tmp/ro/r.db" 2>&1) || fail "list on a read-only mount exited $?: $out"
grep -q "experiment 1 'e2e_small'" <<<"$out" || fail "list on a read-only mount: $out"
grep -q "4 runs: 4 done, 0 failed, 0 running" <<<"$out" || fail "list on a read-only mount: $out"
# With its -wal and -shm: read as they are, the change in the -wal included.
out=$("$bin" list "$tmp/ro/w.db" 2>&1) || fail "list of a WAL database on a read-only mount: $out"
grep -q "'only_in_the_wal'" <<<"$out" || fail "the -wal's change is not seen: $out"
# A -wal without its -shm cannot be read correctly: refused, saying why.
status=0
out=$("$bin" list "$tmp/ro/nowal/w.db" 2>&1) || status=$?
[[ $status == 1 ]] || fail "a -wal without -shm on a read-only mount: exit $status: $out"
grep -q "w.db-wal' but no" <<<"$out" || fail "a -wal without -shm: $out"
# Writing is refused as an I/O error, and nothing changed.
status=0
out=$("$bin" run "$small" --db "$tmp/ro/r.db" --set seed=2 2>&1) || status=$?
[[ $status == 1 ]] || fail "run on a read-only mount: exit $status: $out"
grep -q "read-only" <<<"$out" || fail "run on a read-only mount: $out"
[[ $(md5sum "$tmp/ro/r.db" "$tmp/ro/w.db") == "$sum_before" ]] || fail "a read-only database changed"
echo "read-only mount: list read both databases, run was refused, nothing changed"

# ---- a full disk ----
# Too small for the schema: nothing of this invocation is left, neither
# the database nor the directories it made for it; the message names it.
mkdir "$tmp/small"
mount -t tmpfs -o size=32k tmpfs "$tmp/small"
status=0
out=$("$bin" run "$small" --db "$tmp/small/a/b/x.db" --quiet 2>&1) || status=$?
[[ $status == 1 ]] || fail "schema on a full disk: exit $status: $out"
grep -q "database '$tmp/small/a/b/x.db'" <<<"$out" || fail "the message does not name the database: $out"
[[ -z $(ls -A "$tmp/small") ]] || fail "a full disk kept: $(ls -AR "$tmp/small")"
echo "full disk (schema): $out"

# Room for the schema, not for a run: the first run's write fails, the
# message names the database, the sweep stops instead of failing every
# run, and the database keeps its failed run, nothing 'running'.
mkdir "$tmp/full"
mount -t tmpfs -o size=256k tmpfs "$tmp/full"
status=0
out=$("$bin" run "$src/tests/fixtures/e2e_resume.ini" --db "$tmp/full/x.db" --quiet 2>&1) || status=$?
[[ $status == 1 ]] || fail "runs on a full disk: exit $status: $out"
grep -q "run failed: .*database '$tmp/full/x.db'.*full" <<<"$out" || fail "no failure naming the database: $out"
grep -q "stopping: database '$tmp/full/x.db' cannot be written" <<<"$out" || fail "the sweep did not stop: $out"
[[ $(grep -c "run failed" <<<"$out") == 1 ]] || fail "more than one run tried on a full disk: $out"
listed=$("$bin" list "$tmp/full/x.db" 2>&1) || fail "list after a full disk: $listed"
grep -q "0 done, 1 failed, 0 running" <<<"$listed" || fail "after a full disk: $listed"
echo "full disk (runs): stopped after one failed run"
echo "all file-system cases passed"

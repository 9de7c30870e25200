#!/usr/bin/env bash
# The revision a build records (sim/base/cs_version.h, scripts/build_info.cmake;
# stored as experiments.git_revision) is the source tree's at that build:
#   - in a scratch git repository, the script writes HEAD's revision, a new
#     one after a commit, "-dirty" when a tracked file differs from HEAD
#     (not for an untracked file), "unknown" outside git, and rewrites its
#     output only when the text changes (an unchanged tree rebuilds nothing);
#   - this binary, built by CMake from SOURCE_DIR, reports SOURCE_DIR's HEAD:
#     the script runs at every build (a custom target), so a rebuild after a
#     commit never keeps the old revision.
# usage: test_build_info.sh COVSHIFT_BINARY SOURCE_DIR
set -euo pipefail
bin=$1
src=$(cd "$2" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*" >&2; fail=1; }

repo=$tmp/repo
out=$tmp/cs_build_info.c
info() { cmake -DSRC="$1" -DOUT="$out" -DVERSION=9.9.9 "-DCOMPILER=GNU 1.2" -P "$src/scripts/build_info.cmake"; }
revision() { sed -n 's/^const char cs_build_revision\[\] = "\(.*\)";$/\1/p' "$out"; }
g() { git -C "$repo" -c user.name=t -c user.email=t@example.org "$@"; }

mkdir "$repo"
g init -q
echo one >"$repo/file.c"
g add file.c
g commit -qm one
info "$repo"
first=$(g rev-parse --short=12 HEAD)
[[ $(revision) == "$first" ]] && ok "a clean tree: $first" || bad "clean tree: '$(revision)', want '$first'"
grep -q 'cs_build_version\[\] = "9.9.9"' "$out" && grep -q 'cs_build_compiler\[\] = "GNU 1.2"' "$out" ||
    bad "version or compiler missing: $(cat "$out")"

# unchanged tree: the file is left as it is (no rebuild)
touch -d '2001-01-01' "$out"
info "$repo"
[[ $(stat -c %Y "$out") == $(date -d '2001-01-01' +%s) ]] && ok "unchanged tree: not rewritten" ||
    bad "unchanged tree: the file was rewritten"

# a commit: the new revision
echo two >"$repo/file.c"
g commit -qam two
info "$repo"
second=$(g rev-parse --short=12 HEAD)
[[ $second != "$first" && $(revision) == "$second" ]] && ok "after a commit: $second" ||
    bad "after a commit: '$(revision)', want '$second' (was '$first')"

# a tracked file changed: -dirty; staged counts too
echo three >"$repo/file.c"
info "$repo"
[[ $(revision) == "$second-dirty" ]] && ok "a tracked file changed: $(revision)" ||
    bad "tracked change: '$(revision)', want '$second-dirty'"
g add file.c
info "$repo"
[[ $(revision) == "$second-dirty" ]] && ok "a staged change: $(revision)" || bad "staged change: '$(revision)'"

# back to HEAD, plus an untracked file: clean again
g checkout -q HEAD -- file.c
echo junk >"$repo/untracked.txt"
info "$repo"
[[ $(revision) == "$second" ]] && ok "an untracked file only: $(revision)" ||
    bad "untracked file: '$(revision)', want '$second'"

# not a git tree
mkdir "$tmp/plain"
info "$tmp/plain"
[[ $(revision) == unknown ]] && ok "outside git: unknown" || bad "outside git: '$(revision)'"

# this binary: the revision of the tree it was built from
shown=$("$bin" --version | sed -n 's/^covshift [^ ]* (git \(.*\))$/\1/p')
if head=$(git -C "$src" rev-parse --short=12 HEAD 2>/dev/null); then
    [[ ${shown%-dirty} == "$head" ]] && ok "covshift --version: git $shown, the source tree's HEAD" ||
        bad "covshift --version says git '$shown', but $src is at $head: the build did not take the revision (or it is stale: rebuild)"
else
    [[ $shown == unknown ]] && ok "covshift --version: unknown (no git tree)" || bad "no git tree, yet '$shown'"
fi
exit $fail

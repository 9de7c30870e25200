#!/usr/bin/env bash
# Regenerates the blocks of the docs that are copied from the binary, so the
# docs cannot drift from what covshift prints (docs/internals.md, "Generated
# blocks"). A block is the lines between
#     <!-- NAME:begin -->   and   <!-- NAME:end -->
# in README.md or docs/*.md, where NAME is one of
#     keys           the experiment file keys of `covshift run --help`, as a table
#     commands       the command list of `covshift --help`, as a table
#     exit-status    the exit statuses of `covshift --help`, as a table
#     usage-CMD      the usage lines of `covshift CMD --help`, as a code block
#
#   bash scripts/gen_docs.sh [--check] [--covshift BIN] [--root DIR]
#
# Without --check the files are rewritten in place. With --check nothing is
# written: it prints a diff and exits 1 when a committed block differs from a
# regeneration (tests/test_docs.sh runs this). BIN defaults to build/covshift,
# DIR (the tree whose docs are read) to this script's repository.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/build/covshift
check=0
while (($#)); do
    case $1 in
    --check) check=1; shift ;;
    --covshift) bin=$2; shift 2 ;;
    --root) root=$2; shift 2 ;;
    -h | --help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "gen_docs: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
[[ -x $bin ]] || { echo "gen_docs: no executable $bin (build first, or --covshift BIN)" >&2; exit 2; }

die() { echo "gen_docs: $*" >&2; exit 1; }

# Markdown table cells: a | would end the cell, a < could start HTML.
cell() { sed -e 's/|/\\|/g' -e 's/</\&lt;/g' <<<"$1"; }

# The key listing of `covshift run --help`: "[section]" lines, then per key a
# line "  key   meaning" and a line "                values; default: D".
gen_keys() {
    local help section="" last_section="" key="" meaning="" line n=0
    help=$("$bin" run --help) || die "covshift run --help failed"
    echo "| section | key | meaning | values | default |"
    echo "|---|---|---|---|---|"
    local in=0
    while IFS= read -r line; do
        if ((!in)); then
            [[ $line == "experiment file keys:" ]] && in=1
            continue
        fi
        if [[ $line =~ ^\[([a-z_]+)\]$ ]]; then
            section=${BASH_REMATCH[1]}
        elif [[ -z $line ]]; then
            continue
        elif [[ $line =~ ^\ \ ([a-z_0-9]+)\ +(.*)$ ]]; then
            [[ -z $key ]] || die "covshift run --help: key '$key' has no values line"
            key=${BASH_REMATCH[1]}
            meaning=${BASH_REMATCH[2]}
        elif [[ $line =~ ^\ {4,}(.*)\;\ default:\ (.*)$ ]]; then
            [[ -n $key ]] || die "covshift run --help: values line without a key: '$line'"
            local sec="" values=${BASH_REMATCH[1]} default=${BASH_REMATCH[2]}
            ((n == 0)) || [[ $section != "$last_section" ]] && sec="\`[$section]\`"
            [[ -n $section ]] || die "covshift run --help: key '$key' outside a [section]"
            printf '| %s | `%s` | %s | %s | %s |\n' "$sec" "$key" "$(cell "$meaning")" \
                "$(cell "$values")" "$(cell "$default")"
            last_section=$section
            key=""
            n=$((n + 1))
        elif [[ $line =~ ^[^\ ] ]]; then
            break # the text after the listing
        else
            die "covshift run --help: cannot read the key line '$line'"
        fi
    done <<<"$help"
    ((in)) || die "covshift run --help has no 'experiment file keys:' listing"
    [[ -z $key ]] || die "covshift run --help: key '$key' has no values line"
    ((n > 0)) || die "covshift run --help lists no keys"
}

# The command table of `covshift --help`: "  name  help" lines after "commands:".
gen_commands() {
    local help line in=0 n=0
    help=$("$bin" --help) || die "covshift --help failed"
    echo "| command | what it does |"
    echo "|---|---|"
    while IFS= read -r line; do
        if ((!in)); then
            [[ $line == "commands:" ]] && in=1
            continue
        fi
        [[ $line =~ ^\ \ ([a-z]+)\ +(.*)$ ]] || break
        printf '| `covshift %s` | %s |\n' "${BASH_REMATCH[1]}" "$(cell "${BASH_REMATCH[2]}")"
        n=$((n + 1))
    done <<<"$help"
    ((n > 0)) || die "covshift --help lists no commands"
}

# The exit statuses of `covshift --help`: "  STATUS  meaning" lines after
# "exit status:", then the closing sentence.
gen_exit_status() {
    local help line in=0 n=0
    help=$("$bin" --help) || die "covshift --help failed"
    echo "| status | meaning |"
    echo "|---|---|"
    while IFS= read -r line; do
        if ((!in)); then
            [[ $line == "exit status:" ]] && in=1
            continue
        fi
        if [[ $line =~ ^\ \ ([0-9]([0-9,\ ]*[0-9])?)\ +(.*)$ ]]; then
            printf '| %s | %s |\n' "${BASH_REMATCH[1]}" "$(cell "${BASH_REMATCH[3]}")"
            n=$((n + 1))
        else
            [[ -n $line ]] && printf '\n%s\n' "$line"
            break
        fi
    done <<<"$help"
    ((n > 0)) || die "covshift --help lists no exit statuses"
}

# The usage lines of `covshift CMD --help`: from the top to the first blank line.
gen_usage() {
    local cmd=$1 help
    help=$("$bin" "$cmd" --help) || die "covshift $cmd --help failed"
    [[ $help == usage:* ]] || die "covshift $cmd --help does not start with 'usage:'"
    echo '```text'
    sed '/^$/q' <<<"$help" | sed '/^$/d'
    echo '```'
}

generate() { # NAME
    case $1 in
    keys) gen_keys ;;
    commands) gen_commands ;;
    exit-status) gen_exit_status ;;
    usage-*) gen_usage "${1#usage-}" ;;
    *) die "unknown generated block '$1'" ;;
    esac
}

# Prints FILE with every block regenerated.
regen_file() {
    local file=$1 line name="" lineno=0 out
    while IFS= read -r line || [[ -n $line ]]; do
        lineno=$((lineno + 1))
        if [[ -z $name ]]; then
            printf '%s\n' "$line"
            if [[ $line =~ ^\<!--\ ([a-z0-9-]+):begin\ --\>$ ]]; then
                name=${BASH_REMATCH[1]}
                out=$(generate "$name") || die "$file:$lineno: block '$name' could not be generated"
                printf '%s\n' "$out"
            elif [[ $line =~ ^\<!--\ ([a-z0-9-]+):end\ --\>$ ]]; then
                die "$file:$lineno: '${BASH_REMATCH[1]}:end' without a begin"
            fi
        elif [[ $line == "<!-- $name:end -->" ]]; then
            printf '%s\n' "$line"
            name=""
        fi # lines inside a block are replaced
    done <"$file"
    [[ -z $name ]] || die "$file: block '$name' has no '<!-- $name:end -->'"
}

files=()
for f in "$root/README.md" "$root"/docs/*.md; do
    [[ -f $f ]] && grep -q -- '^<!-- [a-z0-9-]*:begin -->$' "$f" && files+=("$f")
done
((${#files[@]})) || die "no generated blocks in $root/README.md or $root/docs/*.md"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/covshift-gen-docs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
status=0
for f in "${files[@]}"; do
    regen_file "$f" >"$tmp/new" || exit 1
    rel=${f#"$root"/}
    if ! cmp -s "$f" "$tmp/new"; then
        if ((check)); then
            echo "gen_docs: $rel differs from what the binary prints; run bash scripts/gen_docs.sh" >&2
            diff -u --label "$rel (committed)" --label "$rel (regenerated)" "$f" "$tmp/new" || true
            status=1
        else
            cp "$tmp/new" "$f"
            echo "gen_docs: rewrote $rel"
        fi
    fi
done
exit $status

#!/usr/bin/env bash
# The docs stay true to the tree they describe (docs/internals.md,
# "Development"):
#   links     every relative link and #anchor in README.md, docs/*.md,
#             bench/README.md and results/README.md resolves: the file exists
#             inside the repository, the anchor is a heading's GitHub slug;
#   generated the blocks copied from the binary (the keys table, the command
#             list, usage lines) equal a regeneration (scripts/gen_docs.sh);
#   schema    docs/database.md has a section for every table and view of
#             sim/store/schema.sql listing exactly its columns;
#   layout    docs/internals.md's layout map lists every source file, and
#             only files that exist;
#   material  no page points at material users do not have.
# Each checker is first run on a copy broken on purpose, and must fail there.
# usage: test_docs.sh COVSHIFT_BINARY SOURCE_DIR
set -euo pipefail
bin=$1
src=$(cd "$2" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*" >&2; fail=1; }

# ---------------------------------------------------------------- links
cat >"$tmp/links.pl" <<'PERL'
# links.pl ROOT FILE...: checks every relative link and anchor of the
# Markdown FILEs (paths relative to ROOT). Prints one line per broken link
# and exits 1 if there is any, or if no link was found at all.
use strict;
use warnings;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
binmode STDOUT, ':encoding(UTF-8)';

my ($root, @files) = @ARGV;
my $aroot = abs_path($root);

sub slurp {
    open my $fh, '<:encoding(UTF-8)', $_[0] or die "cannot read $_[0]: $!\n";
    local $/;
    my $t = <$fh>;
    return defined $t ? $t : '';
}

# The text with fenced code blocks blanked (line numbers kept).
sub strip_fences {
    my @out;
    my ($ch, $len);
    for my $l (split /\n/, $_[0], -1) {
        if (defined $ch) {
            undef $ch if $l =~ /^ {0,3}\Q$ch\E{$len,}\s*$/;
            push @out, '';
        } elsif ($l =~ /^ {0,3}(`{3,}|~{3,})/) {
            ($ch, $len) = (substr($1, 0, 1), length $1);
            push @out, '';
        } else {
            push @out, $l;
        }
    }
    return join "\n", @out;
}

# GitHub's anchor for a heading (github-slugger): the rendered text, lower
# case, without characters other than letters, marks, numbers, connectors
# (_), spaces and hyphens, each space a hyphen.
sub slug {
    my $t = shift;
    $t =~ s/!?\[([^\]]*)\]\([^)]*\)/$1/g;    # a link renders as its text
    $t =~ s/<[^>]*>//g;                       # HTML tags render as nothing
    $t = lc $t;
    $t =~ s/[^\p{L}\p{M}\p{N}\p{Pc} \-]//g;
    $t =~ s/ /-/g;
    return $t;
}

my %anchor_cache;
sub anchors {
    my $path = shift;
    return $anchor_cache{$path} if $anchor_cache{$path};
    my (%seen, %set);
    for my $l (split /\n/, strip_fences(slurp($path))) {
        if ($l =~ /^ {0,3}#{1,6}(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/) {
            my $t = defined $1 ? $1 : '';
            $t =~ s/^\s+|\s+$//g;
            my $s = slug($t);
            my $u = $s;
            while (exists $seen{$u}) {      # duplicates get -1, -2, ...
                $seen{$s}++;
                $u = "$s-$seen{$s}";
            }
            $seen{$u} = 0;
            $set{$u} = 1;
        }
        $set{$1} = 1 while $l =~ /<a\s+(?:name|id)="([^"]+)"/g;
    }
    return $anchor_cache{$path} = \%set;
}

my ($checked, $broken) = (0, 0);
for my $rel (@files) {
    my $file = "$root/$rel";
    my $text = strip_fences(slurp($file));
    # inline code spans are not links; blank them, keeping offsets
    $text =~ s/(`+)(.+?)\1/my $c = "$1$2$1"; $c =~ s{[^\n]}{ }g; $c/gse;
    my @targets;
    while ($text =~ /!?\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\(\s*(<[^>]*>|[^\s)]+)(?:\s+(?:"[^"]*"|'[^']*'))?\s*\)/g) {
        push @targets, [$2, 1 + (substr($text, 0, $-[0]) =~ tr/\n//)];
    }
    while ($text =~ /^ {0,3}\[[^\]]+\]:[ \t]*(\S+)/mg) {
        push @targets, [$1, 1 + (substr($text, 0, $-[0]) =~ tr/\n//)];
    }
    for my $t (@targets) {
        my ($target, $line) = @$t;
        $target =~ s/^<(.*)>$/$1/;
        next if $target =~ m{^[A-Za-z][A-Za-z0-9+.-]*:} || $target =~ m{^//};
        $checked++;
        my ($path, $anchor) = $target =~ /^([^#]*)(?:#(.*))?$/s;
        $path =~ s/%([0-9A-Fa-f]{2})/chr(hex $1)/ge;
        my $dest = $path eq '' ? $file : $path =~ m{^/} ? "$root$path" : dirname($file) . "/$path";
        my $err;
        if (!-e $dest) {
            $err = "no such file";
        } else {
            my $ad = abs_path($dest);
            if ($ad ne $aroot && index($ad, "$aroot/") != 0) {
                $err = "outside the repository";
            } elsif (defined $anchor) {
                if ($anchor eq '') {
                    $err = "empty anchor";
                } elsif (-d $dest || $dest !~ /\.md$/i) {
                    $err = "an anchor on a file that is not Markdown";
                } elsif (!anchors($dest)->{$anchor}) {
                    $err = "no heading in " . ($path eq '' ? $rel : $path) . " has the anchor #$anchor";
                }
            }
        }
        if ($err) {
            print "$rel:$line: link '$target': $err\n";
            $broken++;
        }
    }
}
print "links: $checked relative links checked in " . scalar(@files) . " files, $broken broken\n";
exit($broken || !$checked ? 1 : 0);
PERL

check_links() { # ROOT FILE...
    perl "$tmp/links.pl" "$@"
}

# Can fail: a missing file, a missing heading in this file and in another.
mkdir -p "$tmp/neg_links/docs"
cat >"$tmp/neg_links/README.md" <<'EOF'
# Top
See [a page](docs/nope.md), [here](#no-such-heading), [there](docs/good.md#missing),
and these, which are right: [good](docs/good.md#a-heading-with-code-and-2-parts),
[again](docs/good.md#a-heading-with-code-and-2-parts-1), [top](#top), `[code](not/a/link.md)`.
EOF
cat >"$tmp/neg_links/docs/good.md" <<'EOF'
# A heading with `code` and 2 parts
# A heading with `code` and 2 parts
```sh
# not a heading
```
EOF
if out=$(check_links "$tmp/neg_links" README.md 2>&1); then
    bad "links: a broken copy passed: $out"
else
    n=$(grep -c ': link ' <<<"$out" || true)
    if [[ $n == 3 ]] && grep -q "docs/nope.md': no such file" <<<"$out" &&
        grep -q "#no-such-heading" <<<"$out" && grep -q "docs/good.md#missing" <<<"$out"; then
        ok "links: the broken copy fails on exactly its 3 broken links"
    else
        bad "links: the broken copy should fail on exactly 3 links, got: $out"
    fi
fi

docs=(README.md bench/README.md results/README.md)
for f in "$src"/docs/*.md; do docs+=("docs/${f##*/}"); done
for f in "${docs[@]}"; do
    [[ -f "$src/$f" ]] || bad "missing page $f"
done
if out=$(check_links "$src" "${docs[@]}" 2>&1); then
    ok "$(tail -n1 <<<"$out")"
else
    bad "links:"$'\n'"$out"
fi

# ---------------------------------------------------------------- generated blocks
gen=$src/scripts/gen_docs.sh
# Can fail: a copy with one key's default changed in the keys table.
mkdir -p "$tmp/neg_gen/docs"
cp "$src/README.md" "$tmp/neg_gen/"
cp "$src"/docs/*.md "$tmp/neg_gen/docs/"
sed -i 's/^\(| [^|]* | `depth` | .*\) | 10 |$/\1 | 11 |/' "$tmp/neg_gen/docs/experiments.md"
if cmp -s "$src/docs/experiments.md" "$tmp/neg_gen/docs/experiments.md"; then
    bad "generated: could not break the depth row of the keys table (is it there?)"
elif out=$(bash "$gen" --check --covshift "$bin" --root "$tmp/neg_gen" 2>&1); then
    bad "generated: a copy with a wrong default passed"
elif grep -q '^-| .* `depth` .* | 11 |$' <<<"$out" && grep -q '^+| .* `depth` .* | 10 |$' <<<"$out"; then
    ok "generated: a wrong default in the keys table fails, with the diff"
else
    bad "generated: expected a diff of the depth row, got: $out"
fi
if out=$(bash "$gen" --check --covshift "$bin" --root "$src" 2>&1); then
    ok "generated: every block equals what $(basename "$bin") prints"
    for block in keys commands exit-status usage-run; do
        grep -rqx -- "<!-- $block:begin -->" "$src/README.md" "$src/docs" ||
            bad "generated: no '$block' block in the docs"
    done
else
    bad "generated blocks are out of date (run bash scripts/gen_docs.sh):"$'\n'"$out"
fi

# ---------------------------------------------------------------- schema
cat >"$tmp/schema.pl" <<'PERL'
# schema.pl DOC < OBJECTS: OBJECTS has one line per table or view,
# "type name col1 col2 ...". DOC must have, for each, a heading holding
# `name`, and in that section table rows whose first cells list exactly
# the columns (as `col`). Headings in the Tables and Views parts must name
# objects that exist.
use strict;
use warnings;
my $doc = shift;
open my $fh, '<:encoding(UTF-8)', $doc or die "cannot read $doc: $!\n";
my @lines = <$fh>;
chomp @lines;
my %objects;
while (<STDIN>) {
    my ($type, $name, @cols) = split;
    $objects{$name} = {type => $type, cols => \@cols};
}
my (@sections, $part, $fence);
for my $i (0 .. $#lines) {
    my $l = $lines[$i];
    $fence = !$fence, next if $l =~ /^ {0,3}(```|~~~)/;
    next if $fence;
    if ($l =~ /^(#{1,6})\s+(.*)$/) {
        my ($level, $text) = (length $1, $2);
        $part = $text if $level == 2;
        push @sections, {level => $level, text => $text, part => $part, line => $i + 1, rows => []};
    } elsif (@sections && $l =~ /^\|([^|]*)\|/) {
        my $cell = $1;
        next if $cell =~ /^\s*-+\s*$/;
        push @{$sections[-1]{rows}}, $cell;
    }
}
# A section's rows include those of its subsections.
for my $k (0 .. $#sections) {
    for my $j ($k + 1 .. $#sections) {
        last if $sections[$j]{level} <= $sections[$k]{level};
        push @{$sections[$k]{all}}, @{$sections[$j]{rows}};
    }
    unshift @{$sections[$k]{all}}, @{$sections[$k]{rows}};
}
my $errors = 0;
sub err { print "$doc: $_[0]\n"; $errors++ }
for my $name (sort keys %objects) {
    my ($sec) = grep { my $t = $_->{text}; grep { $_ eq $name } $t =~ /`([^`]+)`/g } @sections;
    my $what = "$objects{$name}{type} $name";
    if (!$sec) { err("no section for $what (a heading with `$name`)"); next }
    my %doc;
    $doc{$_} = 1 for map { /`([^`]+)`/g } @{$sec->{all}};
    for my $c (@{$objects{$name}{cols}}) {
        err("$what: column $name.$c is not documented in its section (line $sec->{line})") unless $doc{$c};
    }
    my %have = map { $_ => 1 } @{$objects{$name}{cols}};
    for my $c (sort keys %doc) {
        err("$what: the section (line $sec->{line}) documents a column `$c` that $name does not have") unless $have{$c};
    }
}
for my $sec (@sections) {
    next unless $sec->{level} == 3 && defined $sec->{part} && $sec->{part} =~ /^(Tables|Views)$/;
    my ($first) = $sec->{text} =~ /`([^`]+)`/;
    err("line $sec->{line}: '$sec->{text}' names no table or view of the schema")
        unless defined $first && $objects{$first};
}
my $n = 0;
$n += @{$_->{cols}} for values %objects;
print "schema: " . scalar(keys %objects) . " tables and views, $n columns, $errors errors\n";
exit($errors || !$n ? 1 : 0);
PERL

sqlite3 "$tmp/schema.db" <"$src/sim/store/schema.sql"
sqlite3 -batch -noheader "$tmp/schema.db" \
    "SELECT m.type || ' ' || m.name || ' ' || (SELECT group_concat(name, ' ') FROM pragma_table_info(m.name))
     FROM sqlite_master m WHERE m.type IN ('table', 'view') AND m.name NOT LIKE 'sqlite_%'
     ORDER BY m.name" >"$tmp/objects"
nobj=$(wc -l <"$tmp/objects")
((nobj >= 10)) || bad "schema: only $nobj tables and views in a database built from schema.sql"

# Can fail: a copy of database.md without layer_stats' `nonfinite`, and one
# that documents a column runs does not have.
sed 's/^| `nonfinite` | .*$//' "$src/docs/database.md" >"$tmp/db_missing.md"
sed 's/^| `error` | \(.*\)$/| `error`, `no_such_column` | \1/' "$src/docs/database.md" >"$tmp/db_extra.md"
if out=$(perl "$tmp/schema.pl" "$tmp/db_missing.md" <"$tmp/objects" 2>&1); then
    bad "schema: a copy without layer_stats.nonfinite passed"
elif grep -q 'column layer_stats.nonfinite is not documented' <<<"$out"; then
    ok "schema: a copy without layer_stats.nonfinite fails"
else
    bad "schema: expected layer_stats.nonfinite to be missing, got: $out"
fi
if out=$(perl "$tmp/schema.pl" "$tmp/db_extra.md" <"$tmp/objects" 2>&1); then
    bad "schema: a copy with a column runs does not have passed"
elif grep -q 'table runs: .*`no_such_column`' <<<"$out"; then
    ok "schema: a copy with a column runs does not have fails"
else
    bad "schema: expected runs.no_such_column to be reported, got: $out"
fi
if out=$(perl "$tmp/schema.pl" "$src/docs/database.md" <"$tmp/objects" 2>&1); then
    ok "$out"
else
    bad "docs/database.md against sim/store/schema.sql:"$'\n'"$out"
fi

# ---------------------------------------------------------------- layout
cat >"$tmp/layout.pl" <<'PERL'
# layout.pl DOC < FILES: in DOC's "## Layout" part, the first cell of each
# table row lists paths (`core/cs_norm.c`), globs (`experiments/*.ini`,
# whose files must also be named on the row) or folders (`tests/fixtures/`).
# Every file of FILES must be listed; every listed path must exist.
use strict;
use warnings;
my $doc = shift;
open my $fh, '<:encoding(UTF-8)', $doc or die "cannot read $doc: $!\n";
my ($in, @rows) = (0);
while (my $l = <$fh>) {
    chomp $l;
    if ($l =~ /^## /) { $in = $l =~ /^## Layout\s*$/; next }
    next unless $in && $l =~ /^\|([^|]*)\|/;
    push @rows, {first => [$1 =~ /`([^`]+)`/g], all => {map { $_ => 1 } $l =~ /`([^`]+)`/g}};
}
my @files = map { chomp; $_ } <STDIN>;
my %exists = map { $_ => 1 } @files;
my $errors = 0;
for my $f (@files) {
    (my $base = $f) =~ s{.*/}{};
    my $listed = 0;
    for my $r (@rows) {
        for my $p (@{$r->{first}}) {
            if ($p eq $f) { $listed = 1 }
            elsif ($p =~ m{/$} && index($f, $p) == 0) { $listed = 1 }
            elsif ($p =~ /\*/) {
                (my $re = quotemeta $p) =~ s/\\\*/[^\/]*/g;
                $listed = 1 if $f =~ /^$re$/ && $r->{all}{$base};
            }
        }
    }
    unless ($listed) { print "$doc: $f is not in the layout map\n"; $errors++ }
}
for my $r (@rows) {
    for my $p (@{$r->{first}}) {
        next if $p =~ /\*/ || $p =~ m{/$} || $exists{$p};
        print "$doc: the layout map lists $p, which does not exist\n";
        $errors++;
    }
}
print "layout: " . scalar(@files) . " files, $errors errors\n";
exit($errors || !@files ? 1 : 0);
PERL

# The source files of the tree: what a clean clone holds, without build trees
# or results (only results/README.md, .gitkeep and readme/ are committed).
(
    cd "$src"
    find . -maxdepth 1 -type f ! -name .git | sed 's|^\./||'
    find .ci core sim cli scripts tests bench experiments docs -type f \
        ! -path '*/__pycache__/*' ! -name '*.pyc' ! -name '*~' ! -name '*.orig' ! -name '*.rej' \
        ! -name '.*.swp' 2>/dev/null
    find results -maxdepth 1 -type f \( -name README.md -o -name .gitkeep \)
    find results/readme -type f 2>/dev/null
) | sort >"$tmp/files"
cp "$tmp/files" "$tmp/files_neg"
sed '/`sim\/run\/cs_team.c`/d' "$src/docs/internals.md" >"$tmp/internals_neg.md"
echo "docs/no_such_page.md" >>"$tmp/files_neg"
if out=$(perl "$tmp/layout.pl" "$tmp/internals_neg.md" <"$tmp/files_neg" 2>&1); then
    bad "layout: a map without sim/run/cs_team.c passed"
elif grep -q 'sim/run/cs_team.c is not in the layout map' <<<"$out" &&
    grep -q 'docs/no_such_page.md is not in the layout map' <<<"$out"; then
    ok "layout: a map without sim/run/cs_team.c, and a file not in the map, fail"
else
    bad "layout: expected sim/run/cs_team.c and docs/no_such_page.md to be reported, got: $out"
fi
if out=$(perl "$tmp/layout.pl" "$src/docs/internals.md" <"$tmp/files" 2>&1); then
    ok "$out"
else
    bad "docs/internals.md's layout map:"$'\n'"$out"
fi

# ---------------------------------------------------------------- material users lack
# The design notes and seed material the project grew from are not in the
# repository: a page must say what it needs in its own words.
if out=$(cd "$src" && grep -n -E 'DESIGN §|DESIGN\.md|seeds/|/work/shared|\.\./shared' "${docs[@]}"); then
    bad "pages point at material users do not have:"$'\n'"$out"
else
    ok "no page cites DESIGN.md or seeds/"
fi

# Comments say why and cite docs/design.md, never a ticket or the notes:
# no tracked source file (the old schema fixtures excepted, which are
# copies of what old versions wrote) carries such a tag.
sources=$(cd "$src" && git ls-files -- '*.c' '*.h' '*.gp' '*.sql' '*.sh' '*.py' '*.cmake' '*.ini' \
    'CMakeLists.txt' ':!tests/fixtures/schema_v*.sql' ':!tests/test_docs.sh')
if (($(wc -l <<<"$sources") < 100)); then
    bad "git ls-files in $src listed $(wc -l <<<"$sources") source files (a git checkout is needed)"
elif out=$(cd "$src" && xargs grep -n -E '[Ii]ssues? [0-9]+|DESIGN(\.md)? ?§|STYLE(\.md)? ?[0-9§]|seeds/|\.\./shared' <<<"$sources"); then
    bad "source comments cite tickets or material users do not have:"$'\n'"$out"
else
    ok "no source file of $(wc -l <<<"$sources") cites a ticket, DESIGN.md or seeds/"
fi

exit $fail

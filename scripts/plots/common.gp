# Shared by every figure script in scripts/plots/ (docs/figures.md "Figures and
# reports"): the options, the database access through the sqlite3 shell,
# the run filter, the keys that vary and the role each takes in a figure,
# the condition names and colours (one colour per condition in every
# figure), the title, the terminal, the panel grid and the legend. Loaded
# first by each script, after it names its own options, says what kind of
# figure it is and copies its arguments (load clears ARGV):
#   options = "site metric"
#   fig_kind = "layer"        # layer | sweep | run | claim (see "roles" below)
#   array script_args[9]; do for [i = 1:ARGC] { script_args[i] = ARGV[i] }; script_argc = ARGC
#   load here(ARG0) . "common.gp"
#
# Options are the script's arguments, one key=value word each (gnuplot
# passes at most nine), so that every value reaches the script as a string
# and never as program text:
#   gnuplot -c SCRIPT.gp db=results/quickstart.db out=fig.png [key=value ...]
#   db          results database (required)
#   out         output file (required); its extension picks the terminal
#   term        png | svg | pdf (default from out, else png)
#   experiment  experiment name (default: the newest one with done runs)
#   runs        run ids, 3,4,7 or '3 4 7' (default: every done run)
#   fix         swept keys held at one value, 'depth=50 shift_scale=2'
#               (default: each key a figure does not draw is held at its
#               largest value, and the title says so)
#   data        a file to which the script writes the data it plots, block
#               by block, each under a line naming its panel and curve
#   activation, seed, site, metric, layers, phase, key, part: see each script.
# The scripts read the database and never write it. No value from the
# options or the database is evaluated: eval runs only commands built from
# numbers the scripts computed and the names of their own variables, every
# shell word is single-quoted (shq), every SQL string literal doubled
# (sqlq), a column name is used only when it is a plain lower-case word,
# a value only as a checked number or a quoted literal, every text shown is
# escaped for gnuplot's enhanced text (enh), and a path is never read as a
# command ('<cmd', '|cmd') or an option ('-cmd').
#
# gnuplot's string functions count bytes under its default encoding (not
# `set encoding utf8`, which counts characters and misplaces a quote after
# a byte that is not UTF-8): the quoting below depends on it. The cairo
# and svg terminals draw UTF-8 text either way.

# ---- strings and quoting ----
# rep(s, a, b): s with every a replaced by b (gnuplot 5.4 has no strsubst).
rep(s, a, b) = strstrt(s, a) == 0 ? s : \
    s[1:strstrt(s, a) - 1] . b . rep(s[strstrt(s, a) + strlen(a):], a, b)
# A shell single-quoted word, and a SQL string literal: a path or an
# experiment name with quotes in it must not break the command.
# rep1: rep for a one-character a, in halves, so that the recursion stays
# within gnuplot's depth limit (about 250 calls) however many times a occurs.
rep1(s, a, b) = strlen(s) <= 128 ? rep(s, a, b) : \
    rep1(s[1:strlen(s) / 2], a, b) . rep1(s[strlen(s) / 2 + 1:], a, b)
shq(s) = "'" . rep1(s, "'", "'\\''") . "'"
sqlq(s) = "'" . rep1(s, "'", "''") . "'"
# A relative path as ./path: gnuplot reads an output or a load file whose
# name starts with '|' or '<' as a command, sqlite3 and test a word
# starting with '-' as an option.
anchored(p) = p[1:1] eq "/" ? p : "./" . p
# enh(s): s shown as it is under enhanced text, where _ ^ @ & ~ { } and \
# are markup (subscripts, superscripts, overprints): each is escaped. Every
# name and value from the options or the database goes through it, so
# that 'mean_shift' prints as written while the scripts' own labels keep
# real subscripts and superscripts (σ_A, 10^{-3}). Used as a parenthesised
# expression, (enh(s)): `set label 1 enh(s)` would bypass the escapes.
enh(s) = rep1(rep1(rep1(rep1(rep1(rep1(rep1(rep1(s, "\\", "\\\\"), "_", "\\_"), "^", "\\^"), \
         "@", "\\@"), "&", "\\&"), "~", "\\~"), "{", "\\{"), "}", "\\}")
imax(a, b) = a > b ? a : b
imin(a, b) = a < b ? a : b
rank_in(w, list, i) = i > words(list) ? 0 : word(list, i) eq w ? i : rank_in(w, list, i + 1)
# Titles are broken into lines of at most n bytes after ", " or "; " (or,
# when there is none in the second half of the line, at a space).
last_sep(s, n) = n < 2 ? 0 : (s[n - 1:n] eq ", " || s[n - 1:n] eq "; ") ? n - 1 : last_sep(s, n - 1)
last_sp(s, n) = n < 2 ? 0 : s[n:n] eq " " ? n - 1 : last_sp(s, n - 1)
brk_at(s, n) = last_sep(s, n) > n / 2 ? last_sep(s, n) : last_sp(s, n)
wrap(s, n) = strlen(s) <= n || brk_at(s, n) == 0 ? s : \
    s[1:brk_at(s, n)] . "\n" . wrap(s[brk_at(s, n) + 2:], n)
nlines(s) = strstrt(s, "\n") == 0 ? 1 : 1 + nlines(s[strstrt(s, "\n") + 1:])

# ---- options ----
usage = "usage: gnuplot -c SCRIPT.gp db=DATABASE out=FILE [key=value ...]; keys: db out term experiment runs fix data " . options
if (script_argc == 0) { exit error usage }
do for [i = 1:script_argc] {
    opt = script_args[i]
    at = strstrt(opt, "=")
    key = at > 1 ? opt[1:at - 1] : ""
    if (key eq "" || strstrt(key, " ") > 0 || \
        strstrt(" db out term experiment runs fix data " . options . " ", " " . key . " ") == 0) {
        exit error sprintf("unknown option '%s' (%s)", at > 1 ? key : opt, usage)
    }
    val = opt[at + 1:]
    if (key eq "db") { db = val }
    if (key eq "out") { out = val }
    if (key eq "term") { term = val }
    if (key eq "experiment") { experiment = val }
    if (key eq "runs") { runs = val }
    if (key eq "fix") { fix = val }
    if (key eq "data") { data = val }
    if (key eq "activation") { activation = val }
    if (key eq "seed") { seed = val }
    if (key eq "site") { site = val }
    if (key eq "metric") { metric = val }
    if (key eq "layers") { layers = val }
    if (key eq "phase") { phase = val }
    if (key eq "key") { sweep_key = val }
    if (key eq "part") { part = val }
    if (key eq "data") { data = val }
    if (key eq "act") { act = val }
}
if (!exists("db") || db eq "") { exit error "db=DATABASE is required (" . usage . ")" }
if (!exists("out") || out eq "") { exit error "out=FILE is required, the figure to write (" . usage . ")" }
# Numbers are checked digit by digit before SQL or sprintf sees them.
if (exists("seed")) {
    do for [k = 1:strlen(seed)] {
        if (strstrt("0123456789", seed[k:k]) == 0) { exit error sprintf("seed must be a non-negative integer, got '%s'", seed) }
    }
    if (seed eq "") { exit error "seed must be a non-negative integer, got ''" }
    seed = int(seed)
}
if (exists("layers")) {
    do for [k = 1:strlen(layers)] {
        if (strstrt("0123456789 ", layers[k:k]) == 0) { layers = "" }
    }
    if (words(layers) == 0) {
        exit error "layers must be layer numbers separated by spaces, e.g. '1 15 30'"
    }
}
if (exists("part")) {
    do for [k = 1:strlen(part)] {
        if (strstrt("0123456789", part[k:k]) == 0) { part = "" }
    }
    if (part eq "" || int(part) < 1) { exit error "part must be a number from 1" }
    part = int(part)
}
# part_of(n, per): the first and last of n rows that part K draws, per to a
# part (all of them without part).
part_first(n, per) = exists("part") ? (part - 1) * per + 1 : 1
part_last(n, per) = exists("part") ? imin(n, part * per) : n
part_words(n, per) = exists("part") && n > per ? sprintf(" (part %d of %d)", part, (n + per - 1) / per) : ""
if (exists("site") && site ne "pre" && site ne "norm" && site ne "post") {
    exit error sprintf("site must be pre, norm or post, got '%s'", site)
}

# ---- the database ----
if (system("command -v sqlite3 >/dev/null 2>&1 && echo yes") ne "yes") {
    exit error "sqlite3 not found: install the Debian package sqlite3"
}
db_path = anchored(db)
if (system("test -f " . shq(db_path) . " && test -s " . shq(db_path) . " && echo yes") ne "yes") {
    exit error sprintf("database '%s' does not exist or is empty", db)
}
# The database is opened as a read-only URI (file:PATH?mode=ro; SQLite
# reads %HH in it, and ? and # end the path). In a directory we cannot
# write, SQLite cannot make the -shm file a WAL database needs to be read:
# there, and only when no -wal file exists, the URI adds immutable=1, so
# SQLite reads the file alone without locks. That is exact, since no
# writer can change a database whose directory is read-only and whose
# journal does not exist; with a -wal file present it is left to SQLite
# (which reads it when the -shm file exists too).
dir_of(p) = strstrt(p, "/") == 0 ? "" : p[1:strstrt(p, "/")] . dir_of(p[strstrt(p, "/") + 1:])
db_dir_writable = system("test -w " . shq(dir_of(db_path)) . " && echo yes") eq "yes"
db_has_wal = system("test -s " . shq(db_path . "-wal") . " && echo yes") eq "yes"
db_uri = "file:" . (db_path[1:1] eq "/" ? "//" : "") . \
         rep1(rep1(rep1(db_path, "%", "%25"), "?", "%3f"), "#", "%23") . "?mode=ro" . \
         (db_dir_writable || db_has_wal ? "" : "&immutable=1")

# sql(q): the result of a query as one string, rows joined by newlines.
# A figure reads its data with one query into a datablock (fetch), whose
# blocks (one per curve, two blank lines apart) it plots by index: one
# sqlite3 process per figure rather than one per curve.
# -init /dev/null: a user's ~/.sqliterc (.headers on, .mode) must not
# change what the scripts parse.
sq = "sqlite3 -init /dev/null -readonly -batch -noheader -separator ' ' -nullvalue NaN " . shq(db_uri)
sql(q) = system(sq . " " . shq(q) . " 2>&1")
# srcq(q): a query as a data source of plot (the claim figures' curves).
srcq(q) = "< " . sq . " " . shq(q)
if (sql("SELECT count(*) FROM sqlite_master WHERE name = 'run_params'") ne "1") {
    exit error sprintf("cannot read '%s' as a covshift results database: %s", db, \
                       sql("SELECT count(*) FROM sqlite_master WHERE name = 'run_params'"))
}

# ---- which runs ----
# where filters the views of results (drift_by_depth, grad_by_depth, ...)
# and the tables joined to run_params USING (run_id), which hold rows of
# done runs only; wherer, over run_params, also needs status = 'done'.
where = "1"
if (exists("runs")) {
    do for [k = 1:strlen(runs)] {
        if (strstrt("0123456789, ", runs[k:k]) == 0) {
            exit error sprintf("runs must be run ids separated by commas or spaces, got '%s'", runs)
        }
    }
    if (words(rep1(runs, ",", " ")) == 0) { exit error "runs must name at least one run id" }
    run_list = ""
    do for [r in rep1(runs, ",", " ")] { run_list = run_list . (run_list eq "" ? "" : ",") . r }
    runs = run_list
    where = where . " AND run_id IN (" . runs . ")"
}
if (!exists("experiment")) {
    experiment = sql("SELECT experiment FROM run_params WHERE status = 'done' AND " . where . \
                     " ORDER BY experiment_id DESC LIMIT 1")
}
where = where . " AND experiment = " . sqlq(experiment)
wherer = where . " AND status = 'done'"

# Conditions in a fixed order, so that panels and legends always read the
# same way (a condition with dropout after its base, by rate); activations
# as sorted names. A condition with dropout has a space ('bn-batch
# dropout=0.3', run_params), so the word lists hold it with '~' for the
# space: cq(c) is the SQL literal of such a word, and every cond_ function
# takes it as it is.
cond_rank = "CASE WHEN condition LIKE 'none%' THEN 0 WHEN condition LIKE 'bn-batch%' THEN 1 " . \
            "WHEN condition LIKE 'bn-frozen%' THEN 2 WHEN condition LIKE 'bn-ema%' THEN 3 " . \
            "WHEN condition LIKE 'layer%' THEN 4 WHEN condition LIKE 'rms%' THEN 5 ELSE 6 END, condition"
cq(c) = sqlq(rep(c, "~", " "))
cond_tok = "replace(condition, ' ', '~')"
info = sql("SELECT count(*), count(DISTINCT activation), count(DISTINCT condition), " . \
           "coalesce(max(depth), 0), coalesce(min(steps_a), 0) FROM run_params WHERE " . wherer)
nruns = int(word(info, 1))
if (nruns == 0) {
    exit error sprintf("no done runs in %s match experiment '%s'%s", db, experiment, \
                       exists("runs") ? " and runs " . runs : "")
}
conds = sql("SELECT coalesce(group_concat(c, ' '), '') FROM (SELECT DISTINCT " . cond_tok . " AS c FROM run_params WHERE " \
            . wherer . " ORDER BY " . cond_rank . ")")
acts = sql("SELECT coalesce(group_concat(activation, ' '), '') FROM (SELECT DISTINCT activation FROM run_params WHERE " \
           . wherer . " ORDER BY activation)")
nconds = words(conds)
nacts = words(acts)
# A name with a space or a control character in it would split into words.
if (nacts != int(word(info, 2)) || nconds != int(word(info, 3)) || \
    sql("SELECT count(*) FROM run_params WHERE " . wherer . " AND (activation GLOB '*[^A-Za-z0-9_.+-]*' " . \
        "OR condition GLOB '*[^A-Za-z0-9_.+= -]*')") ne "0") {
    exit error sprintf("database '%s' holds an activation or condition with a space or a control character in it, which covshift does not write", db)
}
# The activations a figure draws: every one, or the activation option
# (one name, or several separated by spaces, each one the runs have).
acts_all = acts
# A per-run figure draws one activation: the first unless one is given.
one_act = exists("fig_kind") && fig_kind eq "run" || exists("one_activation")
if (one_act && !exists("activation")) { activation = word(acts_all, 1) }
if (exists("activation")) {
    if (words(activation) == 0) { exit error "activation must name an activation" }
    do for [a in activation] {
        if (rank_in(a, acts_all, 1) == 0) {
            exit error sprintf("no done run of experiment '%s' has activation '%s'", experiment, activation)
        }
    }
    acts = activation
    nacts = words(acts)
}
if (one_act && nacts != 1) {
    exit error sprintf("activation must name one activation, got '%s'", activation)
}
acts_sql = ""
do for [a in acts] { acts_sql = acts_sql . (acts_sql eq "" ? "" : ", ") . sqlq(a) }
where = where . " AND activation IN (" . acts_sql . ")"
wherer = where . " AND status = 'done'"

# ---- conditions: the words and the colour of each, in every figure ----
# Okabe-Ito colours, distinguishable with the common colour-vision deficiencies.
base_label(c) = c eq 'none' ? 'no norm' : \
                c eq 'bn-batch' ? 'BN, batch stats in B' : \
                c eq 'bn-frozen' ? 'BN, frozen (inference) in B' : \
                c eq 'bn-ema' ? 'BN, running average (ema) in B' : \
                c eq 'layer' ? 'LayerNorm (per sample)' : \
                c eq 'rms' ? 'RMSNorm (per sample)' : c
base_rgb(c) = c eq 'none' ? 0x000000 : c eq 'bn-batch' ? 0x0072B2 : \
              c eq 'bn-frozen' ? 0xD55E00 : c eq 'bn-ema' ? 0x009E73 : \
              c eq 'layer' ? 0xCC79A7 : c eq 'rms' ? 0xE69F00 : 0x888888
# tint(v, t): the colour v (0xRRGGBB) mixed with white, t = 0 (v) to 1
# (white), or for t < 0 with black.
tint_c(x, t) = t >= 0 ? int(x * (1 - t) + 255 * t + 0.5) : int(x * (1 + t) + 0.5)
tint(v, t) = sprintf("#%02x%02x%02x", tint_c((v >> 16) & 255, t), tint_c((v >> 8) & 255, t), tint_c(v & 255, t))
# A condition with dropout keeps its base's colour and gets a dash pattern
# per rate (the experiment's rates in increasing order: dashes, dash-dot,
# dash-dot-dot, dots), and its words add "dropout p=RATE".
cond_base(c) = strstrt(c, "~dropout=") == 0 ? c : c[1:strstrt(c, "~dropout=") - 1]
cond_rate(c) = strstrt(c, "~dropout=") == 0 ? "" : c[strstrt(c, "~dropout=") + 9:]
drop_rates = sql("SELECT coalesce(group_concat(d, ' '), '') FROM (SELECT DISTINCT dropout AS d FROM run_params WHERE " \
                 . wherer . " AND dropout > 0 ORDER BY d)")
cond_label(c) = base_label(cond_base(c)) . (cond_rate(c) eq "" ? "" : ", dropout p=" . cond_rate(c))
cond_rgb(c) = base_rgb(cond_base(c))
cond_color(c) = tint(cond_rgb(c), 0)
cond_dt(c) = cond_rate(c) eq "" ? 1 : int(word("2 4 5 3", (rank_in(cond_rate(c), drop_rates, 1) - 1) % 4 + 1))
# A point type per rate, for figures whose dashes already mean something
# (second_moment's phase A): filled circle without dropout, then open
# circle, open square, open triangle (larger, so that they read as open).
cond_pt(c) = cond_rate(c) eq "" ? 7 : int(word("6 4 8 10", (rank_in(cond_rate(c), drop_rates, 1) - 1) % 4 + 1))
cond_ps(c) = cond_rate(c) eq "" ? 0.5 : 0.8
# Fewer words for panel titles and labels, where the legend's would not fit.
short_base(b) = b eq 'none' ? 'no norm' : b eq 'bn-batch' ? 'BN batch stats' : \
                b eq 'bn-frozen' ? 'BN frozen' : b eq 'bn-ema' ? 'BN ema' : \
                b eq 'layer' ? 'LayerNorm' : b eq 'rms' ? 'RMSNorm' : b
cond_short(c) = short_base(cond_base(c)) . (cond_rate(c) eq "" ? "" : ", p=" . cond_rate(c))
# A panel title: the legend's words, shortened when the condition has dropout.
cond_title(c) = cond_rate(c) eq "" ? cond_label(c) : \
                short_base(cond_base(c)) . ", dropout p=" . cond_rate(c)
phase_a_color = '#999999'

# ---- the keys that vary (docs/design.md §4 sweeps) ----
# Every run parameter is a column of run_params (the parameter table,
# sim/model/cs_param.c, has one each); read from the database, so that a
# parameter added later is handled like the others. Besides the
# bookkeeping columns, seed, activation and the condition (norm,
# bn_phase_b, dropout) have fixed roles; every other column whose value
# differs between runs of the same activation and condition is a swept
# key. (One that differs only between conditions, such as population,
# which batch norm alone uses, is part of the condition.)
pcols = sql("SELECT coalesce(group_concat(CASE WHEN name GLOB '[a-z]*' AND name NOT GLOB '*[^a-z0-9_]*' " . \
            "THEN name ELSE '!' END, ' '), '') FROM pragma_table_info('run_params')")
if (strstrt(" " . pcols . " ", " ! ") > 0) {
    exit error sprintf("database '%s' has a run_params column that is not a plain name, which covshift does not write", db)
}
not_params = " run_id experiment experiment_id run_key status condition started_at finished_at wall_s error " . \
             "seed activation norm bn_phase_b dropout "
params = ""
do for [c in pcols] { if (strstrt(not_params, " " . c . " ") == 0) { params = params . " " . c } }
# The most values a column takes within one (activation, condition).
cnt_outer = ""
cnt_inner = ""
do for [c in params] {
    cnt_outer = cnt_outer . (cnt_outer eq "" ? "" : " || ' ' || ") . "max(n_" . c . ")"
    cnt_inner = cnt_inner . ", count(DISTINCT quote(" . c . ")) AS n_" . c
}
counts = sql("SELECT " . cnt_outer . " FROM (SELECT 1" . cnt_inner . " FROM run_params WHERE " . \
             wherer . " GROUP BY activation, condition)")
sk = ""
do for [i = 1:words(params)] { if (int(word(counts, i)) > 1) { sk = sk . " " . word(params, i) } }
nsk = words(sk)
# Each swept key's values, sorted: as tokens that SQL reads back exactly
# (integers, reals as %.17g, quoted names, NULL) and as shown (%g).
tok_expr(c) = "CASE typeof(" . c . ") WHEN 'real' THEN printf('%.17g', " . c . ") WHEN 'null' THEN 'NULL' ELSE " . c . " END"
array sk_vals[nsk + 1]
array sk_type[nsk + 1]
array sk_role[nsk + 1]
array sk_pick[nsk + 1]
do for [i = 1:nsk] {
    c = word(sk, i)
    v = sql("SELECT CASE WHEN max(typeof(v) = 'text') THEN 'text' ELSE 'num' END || ' ' || " . \
            "group_concat(t, ' ') FROM (SELECT DISTINCT " . tok_expr(c) . " AS t, " . c . " AS v " . \
            "FROM run_params WHERE " . wherer . " ORDER BY v)")
    sk_type[i] = word(v, 1)
    sk_vals[i] = v[strlen(word(v, 1)) + 2:]
    sk_role[i] = "pick"
    sk_pick[i] = word(sk_vals[i], words(sk_vals[i]))
    do for [t in sk_vals[i]] {
        do for [k = 1:strlen(t)] {
            if (strstrt(sk_type[i] eq "text" ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.+-" : \
                        "0123456789.eE+-NUL", t[k:k]) == 0) {
                exit error sprintf("database '%s' holds a value of %s that covshift does not write", db, c)
            }
        }
    }
}
sk_name(i) = word(sk, i)
sk_count(i) = words(sk_vals[i])
sk_index(name) = rank_in(name, sk, 1)
# A value as shown, as a SQL literal, and the SQL test that a run has it.
sk_disp(i, t) = t eq "NULL" ? "none" : sk_type[i] eq "text" ? t : sprintf("%g", real(t))
sk_lit(i, t) = t eq "NULL" ? "NULL" : sk_type[i] eq "text" ? sqlq(t) : t
# Reals compare within 1e-12 (SQLite's reading of %.17g text may be one
# unit in the last place off).
sk_pin(i, t) = t eq "NULL" || sk_type[i] eq "text" ? sk_name(i) . " IS " . sk_lit(i, t) : \
               "abs(" . sk_name(i) . " - " . t . ") <= 1e-12 * abs(" . t . ")"
# "1, 2, 5, 10" or, for more than six values, "1, 2, …, 200 (8 values)".
sk_list(i) = sk_count(i) <= 6 ? sk_join(i, 1, sk_count(i)) : \
             sk_join(i, 1, 2) . ", …, " . sk_disp(i, word(sk_vals[i], sk_count(i))) . sprintf(" (%d values)", sk_count(i))
sk_join(i, a, b) = a > b ? "" : sk_disp(i, word(sk_vals[i], a)) . (a < b ? ", " . sk_join(i, a + 1, b) : "")

# fix: keys held at one value, each one that varies, each value one it takes.
if (exists("fix")) {
    do for [f in fix] {
        at = strstrt(f, "=")
        fk = at > 1 ? f[1:at - 1] : f
        fv = at > 1 ? f[at + 1:] : ""
        i = sk_index(fk)
        if (i == 0) {
            exit error sprintf("fix: '%s' is not a key that varies in experiment '%s' (keys that vary:%s)", \
                               fk, experiment, nsk ? sk : " none")
        }
        found = ""
        fv_num = fv ne ""
        do for [k = 1:strlen(fv)] { if (strstrt("0123456789.eE+-", fv[k:k]) == 0) { fv_num = 0 } }
        do for [t in sk_vals[i]] {
            if (t eq fv || (sk_type[i] eq "num" && t ne "NULL" && fv_num && real(t) == real(fv))) { found = t }
        }
        if (found eq "") {
            exit error sprintf("fix: %s has no runs at '%s' (its values: %s)", fk, fv, sk_list(i))
        }
        sk_pick[i] = found
        sk_role[i] = "fixed"
    }
}

# ---- roles: what a figure does with each swept key ----
# A key that varies is never pooled. Each figure kind gives it a role, by
# how many values it has, and holds every key left at one value (the
# largest unless fix says otherwise), which its title states:
#   layer  curves by layer (drift_by_depth, second_moment): the key with the
#          most values (at most 8) whose curves, times the conditions,
#          number at most 12 is shaded, light (smallest) to dark, in each
#          condition's colour; the next such key with at most 4 values,
#          when no condition has dropout (and the script's dashes mean
#          nothing else: no_dash), gets a dash pattern per value.
#   sweep  a metric against the key given (key=...): the others as in
#          layer, without the limit of 12 curves; when more than 12 would
#          share a panel, the conditions (at most 4) get a column each.
#   run    one run per panel (percentile_bands, heatmap, histograms): the
#          key with the most values whose panels, times the conditions,
#          number at most multi_limit gets a panel per value.
#   claim  every key the script does not draw itself (own_keys) is held.
if (!exists("fig_kind")) { fig_kind = "claim" }
if (!exists("own_keys")) { own_keys = "" }
if (!exists("multi_limit")) { multi_limit = 4 }
do for [i = 1:nsk] { if (rank_in(sk_name(i), own_keys, 1) > 0 && sk_role[i] eq "pick") { sk_role[i] = "own" } }
x_i = 0
if (fig_kind eq "sweep") {
    if (!exists("sweep_key")) {
        do for [i = nsk:1:-1] { if (sk_type[i] eq "num" && sk_role[i] eq "pick") { sweep_key = sk_name(i) } }
    }
    if (!exists("sweep_key")) { exit error sprintf("key: experiment '%s' has no numeric key that varies", experiment) }
    x_i = sk_index(sweep_key)
    if (x_i == 0 || sk_type[x_i] ne "num" || sk_role[x_i] eq "fixed") {
        exit error sprintf("key must be a numeric key that varies in experiment '%s', got '%s'", experiment, sweep_key)
    }
    sk_role[x_i] = "x"
}
# best_key(lim, room): the held key with the most values, at most lim,
# whose values times room are at most 12 (0 when none). Of keys with as
# many values the one later in the parameter table wins: the data and
# schedule keys (steps_a, batch), which a study adds to vary on purpose.
best_key(lim, room) = best_from(1, 0, lim, room)
best_from(i, b, lim, room) = i > nsk ? b : best_from(i + 1, \
    (sk_role[i] eq "pick" && sk_count(i) <= lim && sk_count(i) * room <= 12 && \
     (b == 0 || sk_count(i) >= sk_count(b))) ? i : b, lim, room)
shade_i = 0
dash_i = 0
panel_i = 0
cond_cols = 0
if (fig_kind eq "layer" || fig_kind eq "sweep") {
    room = fig_kind eq "layer" ? nconds : 1
    shade_i = best_key(8, room)
    if (shade_i) { sk_role[shade_i] = "shade" }
    if (words(drop_rates) == 0 && !exists("no_dash")) {
        dash_i = best_key(4, room * (shade_i ? sk_count(shade_i) : 1))
        if (dash_i) { sk_role[dash_i] = "dash" }
    }
    ncurves = nconds * (shade_i ? sk_count(shade_i) : 1) * (dash_i ? sk_count(dash_i) : 1)
    if (fig_kind eq "sweep" && ncurves > 12 && dash_i) {
        sk_role[dash_i] = "pick"; dash_i = 0; ncurves = nconds * (shade_i ? sk_count(shade_i) : 1)
    }
    if (fig_kind eq "sweep" && ncurves > 12) {
        if (nconds <= 4) { cond_cols = 1 } else { sk_role[shade_i] = "pick"; shade_i = 0 }
    }
}
if (fig_kind eq "run") {
    do for [i = 1:nsk] {
        if (sk_role[i] eq "pick" && nconds * sk_count(i) <= multi_limit && \
            (panel_i == 0 || sk_count(i) > sk_count(panel_i))) { panel_i = i }
    }
    if (panel_i) { sk_role[panel_i] = "panel" }
}
n_shade = shade_i ? sk_count(shade_i) : 1
n_dash = dash_i ? sk_count(dash_i) : 1
n_panel = panel_i ? sk_count(panel_i) : 1
# The runs drawn: every key held at its value. A held key takes the
# largest value (a step count in a figure over steps: the smallest) that
# has runs with the keys held before it (a selection of
# runs need not hold every combination); fix's values come first.
pins = ""
do for [i = 1:nsk] { if (sk_role[i] eq "fixed") { pins = pins . " AND " . sk_pin(i, sk_pick[i]) } }
# A figure over steps (fig_kind run) holds a step count at its smallest
# value instead: at steps_a 200 phase B's 10 steps would be a sliver.
pick_low(i) = fig_kind eq "run" && (sk_name(i) eq "steps_a" || sk_name(i) eq "steps_b")
do for [i = 1:nsk] {
    if (sk_role[i] eq "pick") {
        v = sql("SELECT " . tok_expr(sk_name(i)) . " FROM run_params WHERE " . wherer . pins . \
                " ORDER BY " . sk_name(i) . (pick_low(i) ? " ASC" : " DESC") . " LIMIT 1")
        if (rank_in(v, sk_vals[i], 1) > 0) { sk_pick[i] = v }
        pins = pins . " AND " . sk_pin(i, sk_pick[i])
    }
}
if (pins ne "") {
    where = where . " AND run_id IN (SELECT run_id FROM run_params WHERE 1" . pins . ")"
    wherer = where . " AND status = 'done'"
    if (sql("SELECT count(*) FROM run_params WHERE " . wherer) eq "0") {
        exit error sprintf("fix: no done run of experiment '%s' has%s", experiment, rep(pins, " AND ", " "))
    }
}
# A value's place among its key's values (1 = smallest), for shades and dashes.
val_rank(i, t) = rank_in(t, sk_vals[i], 1)
shade_t(j, n) = n <= 1 ? 0 : 0.62 - 0.87 * (j - 1) / (n - 1.0)
# The colour of value j of n in the colour v: light to dark, through v
# (black, which cannot be darker, from light grey to black).
shade_color(v, j, n) = v == 0 ? tint(0, n <= 1 ? 0 : 0.75 * (n - j) / (n - 1.0)) : tint(v, shade_t(j, n))
dash_of(j) = int(word("1 2 4 5", (j - 1) % 4 + 1))
pt_of(j) = int(word("7 5 9 13", (j - 1) % 4 + 1))
# What the title says about the keys that vary: the ones held, at which
# value; the ones drawn, how.
held_text = ""
do for [i = 1:nsk] {
    if (sk_role[i] eq "pick" || sk_role[i] eq "fixed") {
        held_text = held_text . (held_text eq "" ? "" : "; ") . \
            sprintf("%s %s of %s", sk_name(i), sk_disp(i, sk_pick[i]), sk_list(i))
    }
}
drawn_text = (shade_i ? sprintf("shade: %s %s", sk_name(shade_i), sk_list(shade_i)) : "") . \
             (dash_i ? (shade_i ? "; " : "") . sprintf("dashes: %s %s", sk_name(dash_i), sk_list(dash_i)) : "") . \
             (panel_i ? sprintf("a panel per %s (%s)", sk_name(panel_i), sk_list(panel_i)) : "")
# The seeds of the runs drawn.
nseeds = int(sql("SELECT count(DISTINCT seed) FROM run_params WHERE " . wherer))
maxdepth = int(sql("SELECT coalesce(max(depth), 0) FROM run_params WHERE " . wherer))
steps_a = int(sql("SELECT coalesce(min(steps_a), 0) FROM run_params WHERE " . wherer))
band_words = nseeds >= 2 ? sprintf("line: mean over %d seeds, band: min to max", nseeds) : "one seed"

# ---- the runs of a per-run figure ----
if (!exists("seed")) {
    seed = sql("SELECT min(seed) FROM run_params WHERE " . wherer)
    if (seed eq "NaN") { seed = 0 }
    seed = int(seed)
}
where1 = where . sprintf(" AND seed = %d", seed)
if (fig_kind eq "run" && int(sql("SELECT count(*) FROM run_params WHERE " . where1)) == 0) {
    exit error sprintf("no done run of experiment '%s' has activation '%s' and seed %d", \
                       experiment, acts, seed)
}
# First, middle and last hidden layer of a run of depth d, unless layers is given.
layers_given = exists("layers")
layers_of(d) = layers_given ? layers : d >= 3 ? sprintf("%d %d %d", 1, (d + 1) / 2, d) : d == 2 ? "1 2" : "1"
if (!exists("layers")) { layers = layers_of(maxdepth) }
nlayers = words(layers)

# ---- the title ----
# Line 1 what the figure shows, line 2 how to read it, then the parameters
# the runs share and what is done with the keys that vary, each broken
# into lines that fit the page.
pdisp(c) = "replace(CASE WHEN count(DISTINCT " . c . ") = 1 THEN " . \
           "CASE typeof(min(" . c . ")) WHEN 'real' THEN printf('%g', min(" . c . ")) ELSE min(" . c . ") END " . \
           "ELSE '{' || group_concat(DISTINCT " . c . ") || '}' END, '|', '/')"
fixed_row = sql("SELECT " . pdisp("depth") . " || '|' || " . pdisp("width") . " || '|' || " . pdisp("batch") . \
    " || '|' || " . pdisp("init") . " || '|' || " . pdisp("sigma_w") . " || '|' || " . pdisp("sigma_b") . \
    " || '|' || " . pdisp("input") . " || '|' || " . pdisp("shift_mean") . " || '|' || " . pdisp("shift_scale") . \
    " || '|' || " . pdisp("steps_a") . " || '|' || " . pdisp("steps_b") . " || '|' || " . \
    "(count(DISTINCT shift_scale) = 1 AND count(DISTINCT shift_mean) = 1 AND min(shift_scale) = 1 AND min(shift_mean) = 0) " . \
    "|| '|' FROM run_params WHERE " . wherer)
# field(k): the k-th '|'-separated field of fixed_row.
field_from(s, k) = k <= 1 ? s[1:strstrt(s, "|") - 1] : field_from(s[strstrt(s, "|") + 1:], k - 1)
field(k) = field_from(fixed_row, k)
swept(c) = sk_index(c) > 0
fixed_part(c, k, text) = swept(c) ? "" : text . field(k)
join2(a, b) = a eq "" ? b : b eq "" ? a : a . ", " . b
shift_words = swept("shift_mean") || swept("shift_scale") ? \
    "B = " . (swept("shift_scale") ? "shift_scale" : field(9)) . " A + " . (swept("shift_mean") ? "shift_mean" : field(8)) : \
    (field(12) eq "1" ? "no shift (B = A)" : "B = " . field(9) . " A + " . field(8))
init_words = fixed_part("init", 4, "init ") . (swept("sigma_w") && swept("sigma_b") ? "" : \
    " (" . join2(fixed_part("sigma_w", 5, "σ_w "), fixed_part("sigma_b", 6, "σ_b ")) . ")")
steps_words = swept("steps_a") || swept("steps_b") ? \
    join2(fixed_part("steps_a", 10, "A steps "), fixed_part("steps_b", 11, "B steps ")) : \
    field(10) . " A + " . field(11) . " B steps"
# enh where the text is the database's; σ_w keeps its subscript.
fixed_text = join2(join2(join2(join2(join2(enh(fixed_part("depth", 1, "depth ")), enh(fixed_part("width", 2, "width "))), \
    enh(fixed_part("batch", 3, "batch "))), rep(rep(enh(init_words), "σ\\_w", "σ_w"), "σ\\_b", "σ_b")), \
    enh(fixed_part("input", 7, "A "))), enh(shift_words)) . ", " . enh(steps_words)
title_cols = 76
# figure_title(what, how): the title's text; title_h(t) its height (in).
figure_title(what, how) = wrap(enh(experiment) . ": " . what, title_cols) . "\n" . \
    wrap(how, title_cols) . "\n" . wrap(fixed_text, title_cols) . \
    (drawn_text ne "" ? "\n" . wrap(enh(drawn_text), title_cols) : "") . \
    (held_text ne "" ? "\n" . wrap(enh("shown at " . held_text), title_cols) : "")
title_h(t) = 0.12 + nlines(t) * 0.19

# ---- terminal ----
# Every figure is W = 6.5 in wide, a page's text width, with 8 pt text (9
# pt in the title), the same layout in every format: pdf in inches and
# points; svg at 72 units per inch, so that its units are points; png at
# png_dpi pixels per inch, its fonts, lines and points scaled to match
# (cairo draws png text and lines at 72 units per inch, and pdf lines at
# half a point per linewidth unit). Never '|cmd' (a pipe to a command) or
# '-': the file is created as named.
out_file = anchored(out)
if (!exists("term")) {
    term = strlen(out) > 4 && out[strlen(out) - 3:] eq ".svg" ? "svg" : \
           strlen(out) > 4 && out[strlen(out) - 3:] eq ".pdf" ? "pdf" : "png"
}
if (term ne "png" && term ne "svg" && term ne "pdf") {
    exit error sprintf("term must be png, svg or pdf, got '%s'", term)
}
W = 6.5
fpt = 8
png_dpi = 150
lw_base = 1.6
# The height is rounded up to whole points (H with it), as the pdf's page
# is, so that the png's pixels and the svg's units give the same inches
# (pdfcairo truncates its page to whole points: a hair more keeps it).
pt_up(h) = ceil(h * 72 - 1e-6) / 72.0
set_term(w, h) = sprintf("H = %.10g; ", pt_up(h)) . (term eq "png" ? \
    sprintf("set terminal pngcairo size %d,%d enhanced font 'Sans,%g' fontscale %g linewidth %g pointscale %g", \
            w * png_dpi + 0.5, pt_up(h) * png_dpi + 0.5, fpt, png_dpi / 72.0, lw_base * 0.5 * png_dpi / 72.0, png_dpi / 72.0) : \
    term eq "svg" ? \
    sprintf("set terminal svg size %d,%d fixed enhanced font 'Sans,%g' linewidth %g background '#ffffff'", \
            w * 72 + 0.5, pt_up(h) * 72 + 0.5, fpt, lw_base * 0.5) : \
    sprintf("set terminal pdfcairo size %.4fin,%.6fin enhanced font 'Sans,%g' linewidth %g", w, pt_up(h) + 2e-4, fpt, lw_base))
title_font = "font ',9'"

# ---- panels ----
# Multiplot panels placed by hand, in inches from the top left, so that the
# title, the labels and the legend under all panels always have room
# (multiplot layout's own margins do not). The script sets W, H, the outer
# margins ml, mr, mt (title), mb (x label and legend) and the gaps gx, gy
# between panels; nr x nc panels share the rest. At 8 pt a line of text is
# 0.15 in: a y axis's tick labels and label take about 0.55 in, an x axis's
# 0.4 in, a panel title 0.2 in.
pw(nc) = (W - ml - mr - (nc - 1) * gx) / nc
ph(nr) = (H - mt - mb - (nr - 1) * gy) / nr
panel_l(c, nc) = ml + (c - 1) * (pw(nc) + gx)
panel_t(r, nr) = mt + (r - 1) * (ph(nr) + gy)
set_panel(r, c, nr, nc) = sprintf("set lmargin at screen %.5f; set rmargin at screen %.5f; " . \
    "set tmargin at screen %.5f; set bmargin at screen %.5f", \
    panel_l(c, nc) / W, (panel_l(c, nc) + pw(nc)) / W, \
    1 - panel_t(r, nr) / H, 1 - (panel_t(r, nr) + ph(nr)) / H)

# A row's label at the figure's left edge, rotated (the activation of a
# row of panels): row_text, already enhanced text, beside row r.
row_label(r, nr) = sprintf("set label 60 (row_text) at screen %.5f, screen %.5f center rotate by 90 front", \
                           0.12 / W, 1 - (panel_t(r, nr) + ph(nr) / 2) / H)
# The drift metrics' definitions, under a figure's legend.
drift_note(ms) = wrap(drift_note_k(ms, 1), 92)
drift_note_k(ms, k) = k > words(ms) ? "" : enh(word(ms, k)) . " = " . drift_label(word(ms, k)) . \
                      (k < words(ms) ? "; " . drift_note_k(ms, k + 1) : "")

# ---- the legend ----
# Drawn by the scripts themselves along the bottom, in columns of equal
# width, so that it has the same rows in every format (gnuplot's key
# guesses text widths and wraps differently). leg_add_* append an entry:
# its kind (line, box, point), colour, dash, point type and words; the
# words are escaped when added. legend_h(leg_n) is the height it needs (in),
# with a line more for leg_note (a sentence under the entries, enhanced
# text) when it exists; after the last panel, `eval legend_draw(leg_n)`
# draws it in an empty plot.
array leg_kind[64]
array leg_color[64]
array leg_dt[64]
array leg_pt[64]
array leg_text[64]
leg_n = 0
leg_maxlen = 0
leg_line = "leg_n = leg_n + 1; leg_kind[leg_n] = 'line'; leg_color[leg_n] = lg_c; leg_dt[leg_n] = lg_dt; " . \
           "leg_pt[leg_n] = lg_pt; leg_text[leg_n] = enh(lg_t); leg_maxlen = imax(leg_maxlen, strlen(lg_t))"
leg_box = "leg_n = leg_n + 1; leg_kind[leg_n] = 'box'; leg_color[leg_n] = lg_c; leg_dt[leg_n] = 1; " . \
          "leg_pt[leg_n] = 0; leg_text[leg_n] = enh(lg_t); leg_maxlen = imax(leg_maxlen, strlen(lg_t))"
# Columns: an entry takes its sample (0.35 in) and its words at about 0.06
# in a character (8 pt Sans, with room).
leg_cols(n) = n == 0 ? 1 : imax(1, imin(n, floor((W - 0.3) / (0.45 + 0.062 * leg_maxlen))))
leg_rows(n) = n == 0 ? 0 : ceil(n * 1.0 / leg_cols(n))
legend_h(n) = (n == 0 ? 0 : 0.12 + 0.19 * leg_rows(n)) + (exists("leg_note") ? 0.19 * nlines(leg_note) : 0)
# Entry k at column c, row r (from the top of the strip, whose top is
# legend_top in from the figure's top).
leg_x(k) = (0.15 + ((k - 1) % leg_cols(leg_n)) * (W - 0.3) / leg_cols(leg_n)) / W
leg_y(k) = 1 - (legend_top + 0.1 + 0.19 * ((k - 1) / leg_cols(leg_n)) + 0.08) / H
leg_cmd(k) = leg_kind[k] eq 'point' ? \
    sprintf("set label %d '' at screen %.5f, screen %.5f point pt leg_pt[%d] ps 1.2 lc rgb leg_color[%d] front; ", \
            200 + k, leg_x(k) + 0.15 / W, leg_y(k), k, k) : \
    leg_kind[k] eq 'box' ? \
    sprintf("set object %d rect from screen %.5f, screen %.5f to screen %.5f, screen %.5f fc rgb leg_color[%d] fs solid 1.0 noborder front; ", \
            100 + k, leg_x(k), leg_y(k) - 0.05 / H, leg_x(k) + 0.3 / W, leg_y(k) + 0.05 / H, k) : \
    sprintf("set arrow %d from screen %.5f, screen %.5f to screen %.5f, screen %.5f nohead lw 1.6 lc rgb leg_color[%d] dt leg_dt[%d] front; ", \
            100 + k, leg_x(k), leg_y(k), leg_x(k) + 0.3 / W, leg_y(k), k, k) . \
    (leg_pt[k] > 0 ? sprintf("set label %d '' at screen %.5f, screen %.5f point pt leg_pt[%d] ps 0.55 lc rgb leg_color[%d] front; ", \
                             200 + k, leg_x(k) + 0.15 / W, leg_y(k), k, k) : "")
leg_cmds(k) = k > leg_n ? "" : leg_cmd(k) . sprintf("set label %d (leg_text[%d]) at screen %.5f, screen %.5f left front; ", \
    300 + k, k, leg_x(k) + 0.36 / W, leg_y(k)) . leg_cmds(k + 1)
legend_draw(n) = "unset arrow; unset label; unset object; unset title; unset xlabel; unset ylabel; unset border; unset tics; " . \
    "unset logscale; unset grid; unset colorbox; unset key; " . \
    "set lmargin at screen 0; set rmargin at screen 1; set tmargin at screen 1; set bmargin at screen 0; " . \
    "set xrange [0:1]; set yrange [0:1]; " . leg_cmds(1) . \
    (exists("leg_note") ? sprintf("set label 399 (leg_note) at screen 0.5, screen %.5f center front; ", \
                                 1 - (legend_top + 0.1 + 0.19 * leg_rows(n) + 0.08) / H) : "") . " plot 2 notitle"
# The legend of a figure whose curves are the conditions, and of the
# shades and dashes of the keys drawn.
leg_conditions = "do for [c in conds] { lg_c = cond_color(c); lg_dt = cond_dt(c); lg_pt = 7; lg_t = cond_label(c); eval leg_line }"
leg_keys = "if (shade_i) { do for [j = 1:n_shade] { lg_c = shade_color(0, j, n_shade); lg_dt = 1; lg_pt = 7; " . \
    "lg_t = sprintf('%s %s', sk_name(shade_i), sk_disp(shade_i, word(sk_vals[shade_i], j))); eval leg_line } }; " . \
    "if (dash_i) { do for [j = 1:n_dash] { lg_c = '#000000'; lg_dt = dash_of(j); lg_pt = pt_of(j); " . \
    "lg_t = sprintf('%s %s', sk_name(dash_i), sk_disp(dash_i, word(sk_vals[dash_i], j))); eval leg_line } }"

# Marks the switch from phase A to phase B on a step axis (steps count
# from 0, so B starts at steps_a).
mark_switch = "set arrow 1 from steps_a - 0.5, graph 0 to steps_a - 0.5, graph 1 nohead dt 2 lw 1.2 lc rgb '#000000' front; " . \
              "set label 1 'A' at steps_a - 0.5, graph 0.9 offset -0.3, 0 right front boxed; " . \
              "set label 2 'B' at steps_a - 0.5, graph 0.9 offset 0.3, 0 left front boxed"

# ---- the data of a figure ----
# A figure's curves come from one query (curves_q) into the datablock $d,
# one block per group of its group query (groups_q), in the same order;
# block k (index k - 1) is group k. fetch_d runs it (eval sees only the
# variables' names): set dq to the query first.
fetch_d = "set print $d; print sql(dq); unset print"
# The last row of each group ends with two blank lines: a new block.
block_end(g) = "CASE WHEN row_number() OVER (PARTITION BY " . g . " ORDER BY x DESC) = 1 " . \
               "THEN char(10) || char(10) ELSE '' END"
# curves_q(src, flt, g, go, x, ys): per group g (its columns, ordered by
# go) and value x, the columns ys (aggregates over the rows of src that
# match flt, named y1, y2, ...), ordered by x, a block per group.
curves_q(src, flt, g, go, x, ys) = "SELECT x, " . ys_out(ys) . ", " . block_end(g) . \
    " FROM (SELECT " . g . ", " . x . " AS x, " . ys . " FROM " . src . " WHERE " . flt . \
    " GROUP BY " . g . ", x) ORDER BY " . go . ", x"
# The inner columns are named y1, y2, ... by ys itself ("avg(m) AS y1, ...").
ys_out(ys) = ys_names(1, ys_count(ys, 1))
ys_count(ys, k) = strstrt(ys, sprintf(" AS y%d", k)) == 0 ? k - 1 : ys_count(ys, k + 1)
ys_names(k, n) = k > n ? "" : sprintf("y%d", k) . (k < n ? ", " . ys_names(k + 1, n) : "")
# groups_q(src, flt, g, go, extra): one line per group: its columns (as
# tokens: spaces as '~'), then the columns extra (aggregates over its rows).
groups_q(src, flt, g, gt, go, extra) = "SELECT " . gt . ", " . extra . " FROM " . src . " WHERE " . flt . \
    " GROUP BY " . g . " ORDER BY " . go
data_on = exists("data")
if (data_on) {
    data_file = anchored(data)
    set print data_file
    print "# covshift figure data: each block is one curve as plotted, under '# panel ...; curve ...'"
    unset print
}
# index_d: after fetch_d, blk_from[k] is the first line of block k of $d.
index_d = "array blk_from[|$d| + 2]; blk_n = 0; blk_blank = 2; do for [i = 1:|$d|] { " . \
          "if ($d[i] eq '') { blk_blank = blk_blank + 1 } else { if (blk_blank >= 2) { blk_n = blk_n + 1; " . \
          "blk_from[blk_n] = i }; blk_blank = 0 } }"
# dump_curve: with data=FILE, appends the line dump_words and the columns
# dump_cols ('1 2 3 4') of the rows of block dump_k of $d, as plotted.
dump_curve = "set print data_file append; print dump_words; dump_i = blk_from[dump_k]; " . \
             "while (dump_i <= |$d| && $d[dump_i] ne '') { dump_line = ''; " . \
             "do for [dump_c in dump_cols] { dump_line = dump_line . ' ' . word($d[dump_i], int(dump_c)) }; " . \
             "print dump_line[2:]; dump_i = dump_i + 1 }; print ''; unset print"

# ---- drift metrics (docs/design.md §2 drift) ----
# One line each: the column of the drift table and its axis label. A
# metric the database does not have (an older schema) is left out.
array drift_defs = [ \
    "mean_shift",    "|μ_B − μ_A| / σ_A", \
    "var_log_ratio", "|log(v_B / v_A)|", \
    "kl_sym",        "KL_{sym}(A, B)", \
    "w1",            "W_1(A, B) / σ_A" \
]
drift_cols = " " . sql("SELECT coalesce(group_concat(name, ' '), '') FROM pragma_table_info('drift')") . " "
drift_metrics = ""
do for [k = 1:|drift_defs|:2] {
    if (strstrt(drift_cols, " " . drift_defs[k] . " ") > 0) { drift_metrics = drift_metrics . " " . drift_defs[k] }
}
drift_label(m) = drift_label_k(m, 1)
drift_label_k(m, k) = k > |drift_defs| ? m : drift_defs[k] eq m ? drift_defs[k + 1] : drift_label_k(m, k + 2)

# ---- diverged runs (docs/design.md §2 nonfinite) ----
# A run whose values overflow holds NaN or Inf from some layer on: its
# statistics there are NULL (read as NaN) or Inf, both of which gnuplot
# leaves out. A plot whose points are all left out stops gnuplot ("all
# points y value undefined"), so a curve is drawn only when it has a
# finite point, a panel without any says so, and every panel notes the
# conditions whose runs diverged and from which layer.
# fin(x): the SQL test that x is a finite number (NULL and Inf are not).
fin(x) = "abs(" . x . ") <= 1.7976931348623157e308"
# n_fin(q): the rows of query q whose column m is finite (the claim figures).
n_fin(q) = int(sql("SELECT count(*) FROM (" . q . ") WHERE " . fin("m")))
# div_from(f): the first layer with a non-finite value in the runs that
# match the SQL filter f (over run_params), 0 when none diverged.
div_from(f) = int(sql("SELECT coalesce(min(layer), 0) FROM layer_stats WHERE nonfinite > 0 AND run_id IN " . \
                      "(SELECT run_id FROM run_params WHERE " . f . ")"))
# The first diverged layer of each (activation, condition) of the runs
# drawn, as words "activation:condition:layer", in one query.
div_list = sql("SELECT coalesce(group_concat(w, ' '), '') FROM (SELECT p.activation || ':' || replace(p.condition, ' ', '~') || ':' || " . \
               "min(s.layer) AS w FROM layer_stats s JOIN run_params p USING (run_id) WHERE s.nonfinite > 0 AND " . \
               where . " GROUP BY p.activation, p.condition)")
any_diverged = words(div_list) > 0
# div_at(a, c): the layer from which the runs of (a, c) diverged, 0 if none.
div_at_k(a, c, k) = k > words(div_list) ? 0 : \
    strstrt(word(div_list, k), a . ":" . c . ":") == 1 ? int(word(div_list, k)[strlen(a . ":" . c . ":") + 1:]) : \
    div_at_k(a, c, k + 1)
div_at(a, c) = div_at_k(a, c, 1)
# div_label(k): the command that shows the variable div_text in the colour
# div_color as a panel's k-th note, down from graph height div_y (eval
# sees only the variables' names, never their text); div_clear removes the
# notes.
div_y = 0.93
div_label(k) = sprintf("set label %d (enh(div_text)) at graph 0.03, graph %.4f left front boxed tc rgb div_color", \
                       40 + k, div_y - 0.1 * (k - 1))
# A panel of several conditions lists those whose runs diverged as words
# "INDEX:LAYER" (INDEX in conds): one note when every condition diverged
# at the same layer, else a note per condition, in its colour.
div_c(w) = word(conds, int(w[1:strstrt(w, ":") - 1]))
div_L(w) = w[strstrt(w, ":") + 1:]
div_same(da, k) = k > words(da) ? 1 : div_L(word(da, k)) eq div_L(word(da, 1)) && div_same(da, k + 1)
div_every(da) = nconds > 1 && words(da) == nconds && div_same(da, 2)
div_note(w) = sprintf("%s: diverged at layer %s", cond_short(div_c(w)), div_L(w))
div_clear = "unset label 41; unset label 42; unset label 43; unset label 44; " . \
            "unset label 45; unset label 46; unset label 47; unset label 48"
div_color = '#000000'
# div_words(a): the conditions of activation a that diverged, as div_c words.
div_words(a) = div_words_k(a, 1)
div_words_k(a, ic) = ic > nconds ? "" : \
    (div_at(a, word(conds, ic)) > 0 ? sprintf(" %d:%d", ic, div_at(a, word(conds, ic))) : "") . div_words_k(a, ic + 1)
# div_notes: the command that shows the notes of the words da in a panel.
div_notes = "eval div_clear; if (div_every(da)) { div_text = 'runs diverged at layer ' . div_L(word(da, 1)); eval div_label(1) }; " . \
            "if (!div_every(da)) { do for [k = 1:imin(words(da), 8)] { div_text = div_note(word(da, k)); " . \
            "div_color = cond_color(div_c(word(da, k))); eval div_label(k) } }; div_color = '#000000'"
# An empty panel: a fixed range, so that gnuplot has nothing to autoscale.
empty_panel = "unset logscale y; set yrange [0:1]; set format y '%g'"
set style textbox opaque fc rgb '#ffffff' noborder margins 1, 1

# Tics that fit: a step of 1, 2 or 5 times a power of ten giving at most n
# intervals over span; on a panel w in wide, labels of c characters.
nice_m(raw, p) = raw <= p ? p : raw <= 2 * p ? 2 * p : raw <= 5 * p ? 5 * p : 10 * p
nice_step(span, n) = span <= 0 ? 1 : nice_m(span * 1.0 / imax(n, 1), 10.0 ** floor(log10(span * 1.0 / imax(n, 1))))
# nice_near: the 1, 2 or 5 times a power of ten nearest to span / n (about
# n intervals, for value axes where the ends are not round).
near_m(raw, p) = raw < 1.5 * p ? p : raw < 3.5 * p ? 2 * p : raw < 7.5 * p ? 5 * p : 10 * p
nice_near(span, n) = span <= 0 ? 1 : near_m(span * 1.0 / imax(n, 1), 10.0 ** floor(log10(span * 1.0 / imax(n, 1))))
# An axis whose values reach v in size is drawn in units of scale_of(v):
# 1, or past 10^5 and below 10^-3 a power of ten, which scale_words(s)
# names (×10^{14}), so that tic labels stay short and need no "2e+14".
scale_of(v) = v != 0 && (abs(v) >= 1e5 || abs(v) < 1e-3) ? 10.0 ** floor(log10(abs(v))) : 1
scale_words(s) = s == 1 ? "" : sprintf("×10^{%d}", int(floor(log10(s) + 0.5)))
tic_room(w, c) = imax(1, floor(w / (0.065 * c + 0.12)))
# Integer tics on layer and step axes (no "layer 2.5"), as many as fit.
int_step(span, w) = imax(1, nice_step(span, tic_room(w, strlen(sprintf("%d", span)))))
int_tics(span, w) = sprintf("set xtics %d; set mxtics %d", int_step(span, w), int_step(span, w) >= 2 ? 2 : 1)
# Decades on log axes as 10 with a real superscript.
log_format = "10^{%T}"
# A log axis when the positive finite values span more than two decades.
wants_log(lo, hi) = lo > 0 && hi > 0 && hi / lo > 100
# The y axis of a panel h in tall whose values are >= 0 (drift, variances,
# norms), lo the smallest positive and hi the largest: decades when they
# span more than two, else linear from 0 with as many round tics as fit.
# On a log axis a label every k decades, k such that they fit (past 10,
# gnuplot's own: it warns of explicit steps that large).
log_every(lo, hi, h) = imax(1, ceil(log10(hi / lo) / imax(1, floor(h / 0.24))))
y_top(hi) = hi > 0 && hi < 1e300 ? hi * 1.08 : 1
y_axis0(lo, hi, h) = wants_log(lo, hi) ? \
    sprintf("set logscale y; set format y log_format; set yrange [%.6g:%.6g]; %s", \
            lo / 1.6, hi < 1e307 ? hi * 1.6 : 1.7e308, log_every(lo, hi, h) > 10 ? "set ytics autofreq; set mytics 1" : \
            sprintf("set ytics 1e%d; set mytics %d", log_every(lo, hi, h), log_every(lo, hi, h) > 1 ? 1 : 10)) : \
    hi >= 1e300 || (hi > 0 && hi < 1e-290) ? "unset logscale y; set format y '%h'; set autoscale y; set ytics autofreq" : \
    sprintf("unset logscale y; set format y '%%g'; set yrange [0:%.6g]; set ytics %.6g", \
            y_top(hi), nice_step(y_top(hi), floor(h / 0.22)))

set style fill transparent solid 0.22 noborder
set grid lc rgb '#dddddd' lw 0.8
set border 3 lw 0.8
set tics nomirror out scale 0.6
set xtics offset 0, 0.3
# The x label under its tick labels, which the offset above lifts.
set xlabel offset 0, 0.45
set ytics offset 0.5, 0

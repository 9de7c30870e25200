# Shared by every figure script in scripts/plots/ (docs/figures.md "Figures and
# reports"): the options, the database access through the sqlite3 shell,
# the run filter, the condition names and colours (one colour per
# condition in every figure), the figure title and the terminal. Loaded
# first by each script, after it names its own options and copies its
# arguments (load clears ARGV):
#   options = "site metric"
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
#   activation  the activation for per-run figures (default: the first)
#   seed        the seed for per-run figures (default: the smallest)
#   site, metric, layers, phase: see each script.
# The scripts read the database and never write it. No value from the
# options or the database is evaluated: eval runs only commands built from
# numbers the scripts computed, every shell word is single-quoted (shq),
# every SQL string literal doubled (sqlq), and a path is never read as a
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

# ---- options ----
usage = "usage: gnuplot -c SCRIPT.gp db=DATABASE out=FILE [key=value ...]; keys: db out term experiment runs " . options
if (script_argc == 0) { exit error usage }
do for [i = 1:script_argc] {
    opt = script_args[i]
    at = strstrt(opt, "=")
    key = at > 1 ? opt[1:at - 1] : ""
    if (key eq "" || strstrt(key, " ") > 0 || \
        strstrt(" db out term experiment runs " . options . " ", " " . key . " ") == 0) {
        exit error sprintf("unknown option '%s' (%s)", at > 1 ? key : opt, usage)
    }
    val = opt[at + 1:]
    if (key eq "db") { db = val }
    if (key eq "out") { out = val }
    if (key eq "term") { term = val }
    if (key eq "experiment") { experiment = val }
    if (key eq "runs") { runs = val }
    if (key eq "activation") { activation = val }
    if (key eq "seed") { seed = val }
    if (key eq "site") { site = val }
    if (key eq "metric") { metric = val }
    if (key eq "layers") { layers = val }
    if (key eq "phase") { phase = val }
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
# srcq(q): a gnuplot data source for plot: columns separated by spaces,
# NULL (a NaN statistic, DESIGN §3) read as NaN so it leaves a gap.
# -init /dev/null: a user's ~/.sqliterc (.headers on, .mode) must not
# change what the scripts parse.
sq = "sqlite3 -init /dev/null -readonly -batch -noheader -separator ' ' -nullvalue NaN " . shq(db_uri)
sql(q) = system(sq . " " . shq(q) . " 2>&1")
srcq(q) = "< " . sq . " " . shq(q)
if (sql("SELECT count(*) FROM sqlite_master WHERE name = 'run_params'") ne "1") {
    exit error sprintf("cannot read '%s' as a covshift results database: %s", db, \
                       sql("SELECT count(*) FROM sqlite_master WHERE name = 'run_params'"))
}

# ---- which runs ----
# where filters the views of results (drift_by_depth, layer_stats_by_run),
# which hold rows of done runs only; run_params also needs status = 'done'.
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
nruns = int(sql("SELECT count(*) FROM run_params WHERE " . wherer))
if (nruns == 0) {
    exit error sprintf("no done runs in %s match experiment '%s'%s", db, experiment, \
                       exists("runs") ? " and runs " . runs : "")
}

# Conditions in a fixed order, so that panels and legends always read the
# same way (a condition with dropout after its base, by rate); activations
# as sorted names. A condition with dropout has a space ('bn-batch
# dropout=0.3', run_params), so the word lists hold it with '~' for the
# space: cq(c) is the SQL literal of such a word, and every cond_ function
# takes it as it is.
cond_rank = "CASE WHEN condition LIKE 'none%' THEN 0 WHEN condition LIKE 'bn-batch%' THEN 1 " . \
            "WHEN condition LIKE 'bn-frozen%' THEN 2 ELSE 3 END, condition"
cq(c) = sqlq(rep(c, "~", " "))
conds = sql("SELECT coalesce(group_concat(replace(condition, ' ', '~'), ' '), '') FROM (SELECT DISTINCT condition FROM run_params WHERE " \
            . wherer . " ORDER BY " . cond_rank . ")")
acts = sql("SELECT coalesce(group_concat(activation, ' '), '') FROM (SELECT DISTINCT activation FROM run_params WHERE " \
           . wherer . " ORDER BY activation)")
nconds = words(conds)
nacts = words(acts)
# A name with a space or a control character in it would split into words.
if (nacts != int(sql("SELECT count(DISTINCT activation) FROM run_params WHERE " . wherer)) || \
    nconds != int(sql("SELECT count(DISTINCT condition) FROM run_params WHERE " . wherer))) {
    exit error sprintf("database '%s' holds an activation or condition with a space or a control character in it, which covshift does not write", db)
}
maxdepth = int(sql("SELECT max(depth) FROM run_params WHERE " . wherer))
steps_a = int(sql("SELECT min(steps_a) FROM run_params WHERE " . wherer))
if (!exists("activation")) { activation = word(acts, 1) }
if (!exists("seed")) {
    seed = sql("SELECT min(seed) FROM run_params WHERE " . wherer . " AND activation = " . sqlq(activation))
    if (seed eq "NaN") {
        exit error sprintf("no done run of experiment '%s' has activation '%s'", experiment, activation)
    }
    seed = int(seed)
}
# The filter of a per-run figure: one activation, one seed.
where1 = where . " AND activation = " . sqlq(activation) . sprintf(" AND seed = %d", seed)
if (int(sql("SELECT count(*) FROM run_params WHERE " . where1 . " AND status = 'done'")) == 0) {
    exit error sprintf("no done run of experiment '%s' has activation '%s' and seed %d", \
                       experiment, activation, seed)
}
# First, middle and last hidden layer unless layers is given ('1 15 30').
layers_given = exists("layers")
if (!exists("layers")) {
    layers = maxdepth >= 3 ? sprintf("%d %d %d", 1, (maxdepth + 1) / 2, maxdepth) : \
             maxdepth == 2 ? "1 2" : "1"
}
nlayers = words(layers)

# ---- conditions: the words and the colour of each, in every figure ----
# Okabe-Ito colours, distinguishable with the common colour-vision deficiencies.
base_label(c) = c eq 'none' ? 'no norm' : \
                c eq 'bn-batch' ? 'BN, batch stats in B' : \
                c eq 'bn-frozen' ? 'BN, frozen (inference) in B' : \
                c eq 'bn-ema' ? 'BN, running average (ema) in B' : c
base_color(c) = c eq 'none' ? '#000000' : \
                c eq 'bn-batch' ? '#0072B2' : \
                c eq 'bn-frozen' ? '#D55E00' : \
                c eq 'bn-ema' ? '#009E73' : '#888888'
# A condition with dropout keeps its base's colour and gets a dash pattern
# per rate (the experiment's rates in increasing order: dashes, dash-dot,
# dash-dot-dot, dots), and its words add "dropout p=RATE".
cond_base(c) = strstrt(c, "~dropout=") == 0 ? c : c[1:strstrt(c, "~dropout=") - 1]
cond_rate(c) = strstrt(c, "~dropout=") == 0 ? "" : c[strstrt(c, "~dropout=") + 9:]
drop_rates = sql("SELECT coalesce(group_concat(d, ' '), '') FROM (SELECT DISTINCT dropout AS d FROM run_params WHERE " \
                 . wherer . " AND dropout > 0 ORDER BY d)")
rank_in(w, list, i) = i > words(list) ? 0 : word(list, i) eq w ? i : rank_in(w, list, i + 1)
cond_label(c) = base_label(cond_base(c)) . (cond_rate(c) eq "" ? "" : ", dropout p=" . cond_rate(c))
cond_color(c) = base_color(cond_base(c))
cond_dt(c) = cond_rate(c) eq "" ? 1 : int(word("2 4 5 3", (rank_in(cond_rate(c), drop_rates, 1) - 1) % 4 + 1))
# A point type per rate, for figures whose dashes already mean something
# (second_moment's phase A): filled circle without dropout, then open
# circle, open square, open triangle (larger, so that they read as open).
cond_pt(c) = cond_rate(c) eq "" ? 7 : int(word("6 4 8 10", (rank_in(cond_rate(c), drop_rates, 1) - 1) % 4 + 1))
cond_ps(c) = cond_rate(c) eq "" ? 0.45 : 1.0
# Fewer words for panel titles and labels, where the legend's would not fit.
short_base(b) = b eq 'none' ? 'no norm' : b eq 'bn-batch' ? 'BN batch stats' : \
                b eq 'bn-frozen' ? 'BN frozen' : b eq 'bn-ema' ? 'BN ema' : b
cond_short(c) = short_base(cond_base(c)) . (cond_rate(c) eq "" ? "" : ", p=" . cond_rate(c))
# A panel title: the legend's words, shortened when the condition has dropout.
cond_title(c) = cond_rate(c) eq "" ? cond_label(c) : \
                short_base(cond_base(c)) . ", dropout p=" . cond_rate(c)
phase_a_color = '#999999'

# ---- the figure's second title line: the parameters the runs share ----
# A parameter that varies other than activation, condition and seed is
# listed as pooled: the figure then averages over it.
pv(label, col) = "'" . label . " ' || CASE WHEN count(DISTINCT " . col . ") = 1 THEN min(" . col . \
                 ") ELSE '{' || group_concat(DISTINCT " . col . ") || '} pooled' END"
pg(label, col) = "'" . label . " ' || CASE WHEN count(DISTINCT " . col . ") = 1 THEN printf('%g', min(" . col . \
                 ")) ELSE '{' || group_concat(DISTINCT " . col . ") || '} pooled' END"
fixed_net = sql("SELECT " . pv("depth", "depth") . " || ', ' || " . pv("width", "width") . \
    " || ', ' || " . pv("batch", "batch") . " || ', ' || " . pv("init", "init") . \
    " || ' (' || " . pg("sigma_w", "sigma_w") . " || ', ' || " . pg("sigma_b", "sigma_b") . " || ')' " . \
    "FROM run_params WHERE " . wherer)
fixed_data = sql("SELECT " . pv("A", "input") . " || ', B = ' || " . \
    "CASE WHEN count(DISTINCT shift_scale) = 1 AND count(DISTINCT shift_mean) = 1 " . \
    "THEN printf('%g A + %g', min(shift_scale), min(shift_mean)) ELSE 'A shifted {pooled}' END || ', ' || " . \
    "CASE WHEN count(DISTINCT steps_a) = 1 AND count(DISTINCT steps_b) = 1 " . \
    "THEN min(steps_a) || ' A + ' || min(steps_b) || ' B steps' ELSE 'steps {pooled}' END || ', ' || " . \
    "count(DISTINCT seed) || CASE WHEN count(DISTINCT seed) = 1 THEN ' seed' ELSE ' seeds' END " . \
    "FROM run_params WHERE " . wherer)
fixed_params = fixed_net . ", " . fixed_data
# figure_title(what, how): what the figure shows, how to read it (line,
# band), and the parameters; on two lines when the figure is wide, four
# when it is narrower than 19 in (five below 12 in). title_margin(W) is the
# room it needs.
title_margin(w) = w < 12 ? 2.45 : w < 19 ? 2.1 : 1.65
# Below 12 in, the network's parameters take two lines (from "init").
net_lines(w) = w < 12 ? rep(fixed_net, ", init", "\ninit") : fixed_net
figure_title(what, how) = W < 19 ? \
    experiment . ": " . what . "\n" . how . "\n" . net_lines(W) . "\n" . fixed_data : \
    experiment . ": " . what . " (" . how . ")\n" . fixed_net . ", " . fixed_data

# ---- terminal ----
# W, H: the figure in inches, set by the script. png and svg are 100 px
# per inch (cairo draws points at 72 per inch, hence fontscale 100/72 for
# png). Fonts grow slowly with the width: a 17 in figure of eight panels
# has 13.5 pt text, about 11 px when the PNG is shown 1000 px wide, and
# still leaves each panel room for its labels.
# Never '|cmd' (a pipe to a command) or '-': the file is created as named.
out_file = anchored(out)
if (!exists("term")) {
    term = strlen(out) > 4 && out[strlen(out) - 3:] eq ".svg" ? "svg" : \
           strlen(out) > 4 && out[strlen(out) - 3:] eq ".pdf" ? "pdf" : "png"
}
if (term ne "png" && term ne "svg" && term ne "pdf") {
    exit error sprintf("term must be png, svg or pdf, got '%s'", term)
}
# No figure narrower than 9.5 in: the two title lines must fit.
fig_width(w) = w < 9.5 ? 9.5 : w
font_pt(w) = 10 + 0.2 * w
set_term(w, h) = term eq "png" ? \
    sprintf("set terminal pngcairo size %d,%d noenhanced font 'Sans,%g' fontscale 1.39 linewidth 1.4", \
            w * 100, h * 100, font_pt(w)) : \
    term eq "svg" ? \
    sprintf("set terminal svg size %d,%d noenhanced font 'Sans,%g' linewidth 1.4 background '#ffffff'", \
            w * 100, h * 100, font_pt(w) * 1.39) : \
    sprintf("set terminal pdfcairo size %gin,%gin noenhanced font 'Sans,%g' linewidth 1.4", \
            w, h, font_pt(w))

# ---- panels ----
# Multiplot panels placed by hand, in inches from the top left, so that the
# two-line title, the labels and a legend strip under all panels always
# have room (multiplot layout's own margins do not). The script sets W, H,
# the outer margins ml, mr, mt (title), mb (x label, 0.95 in, and legend
# strip) and the gaps gx, gy between panels; nr x nc panels share the rest.
pw(nc) = (W - ml - mr - (nc - 1) * gx) / nc
ph(nr) = (H - mt - mb - (nr - 1) * gy) / nr
set_panel(r, c, nr, nc) = sprintf("set lmargin at screen %.5f; set rmargin at screen %.5f; " . \
    "set tmargin at screen %.5f; set bmargin at screen %.5f", \
    (ml + (c - 1) * (pw(nc) + gx)) / W, (ml + (c - 1) * (pw(nc) + gx) + pw(nc)) / W, \
    1 - (mt + (r - 1) * (ph(nr) + gy)) / H, 1 - (mt + (r - 1) * (ph(nr) + gy) + ph(nr)) / H)
# The legend strip: an empty plot along the bottom whose key spans the
# whole width (a key inside one panel wraps to that panel's width). The
# script then plots constants (2: below the y range [10:11], so that even a
# box from 0 stays invisible) with their titles. gnuplot gives an entry
# about 0.45 in per point of font for 30 characters (it overestimates
# proportional text), so
# legend_h(n) is the strip's height in inches for n entries: as many rows
# as they need, each a little more than a line of text.
imax(a, b) = a > b ? a : b
imin(a, b) = a < b ? a : b
# key_len: the longest entry in characters (the conditions' words unless a
# script sets it for its own entries); an entry wider than 30 characters
# widens its column in proportion.
key_len = 0
do for [c in conds] { key_len = imax(key_len, strlen(cond_label(c))) }
key_cols(n) = imax(1, imin(n, floor((W - 0.2) / (0.45 * font_pt(W) * imax(key_len, 30) / 30.0))))
legend_h(n) = 0.25 + 0.26 * ceil(n * 1.0 / key_cols(n)) * font_pt(W) / 13.0
legend_strip(n) = sprintf("set lmargin at screen 0.01; set rmargin at screen 0.99; set bmargin at screen 0; " . \
    "set tmargin at screen %.5f; unset border; unset tics; unset xlabel; unset ylabel; " . \
    "unset title; unset logscale; unset grid; unset arrow; unset label; unset colorbox; " . \
    "set xrange [0:1]; set yrange [10:11]; set key center center horizontal samplen 2.5 width 1; " . \
    "set encoding utf8", legend_h(n) / H)
# The strip is the last plot and runs no query: utf8 there only makes
# gnuplot size the entries by characters ('√' is one, not three bytes),
# never the quoting above, which needs bytes.

# Marks the switch from phase A to phase B on a step axis (steps count
# from 0, so B starts at steps_a).
mark_switch = "set arrow 1 from steps_a - 0.5, graph 0 to steps_a - 0.5, graph 1 nohead dt 2 lw 1.5 lc rgb '#000000' front; " . \
              "set style textbox opaque fc rgb '#ffffff' noborder margins 1, 1; " . \
              "set label 1 'A' at steps_a - 0.5, graph 0.92 offset -0.4, 0 right front boxed; " . \
              "set label 2 'B' at steps_a - 0.5, graph 0.92 offset 0.4, 0 left front boxed"

# ---- diverged runs (DESIGN §2 nonfinite) ----
# A run whose values overflow holds NaN or Inf from some layer on: its
# statistics there are NULL (read as NaN) or Inf, both of which gnuplot
# leaves out. A plot whose points are all left out stops gnuplot ("all
# points y value undefined"), so a curve is drawn only when it has a
# finite point, a panel without any says so, and every panel notes the
# conditions whose runs diverged and from which layer.
# fin(x): the SQL test that x is a finite number (NULL and Inf are not).
fin(x) = "abs(" . x . ") <= 1.7976931348623157e308"
# n_fin(q): the rows of query q whose column m is finite.
n_fin(q) = int(sql("SELECT count(*) FROM (" . q . ") WHERE " . fin("m")))
# div_from(f): the first layer with a non-finite value in the runs that
# match the SQL filter f (over layer_stats_by_run), 0 when none diverged.
div_from(f) = int(sql("SELECT coalesce(min(layer), 0) FROM layer_stats_by_run WHERE " . f . \
                      " AND nonfinite > 0"))
any_diverged = div_from(where) > 0
# div_label(k): the command that shows the variable div_text in the colour
# div_color as a panel's k-th note, down from graph height div_y (eval
# sees only the variables' names, never their text); div_clear removes the
# notes.
div_y = 0.93
div_label(k) = sprintf("set label %d div_text at graph 0.03, graph %.4f left front boxed tc rgb div_color " . \
                       "font ',%g'", 40 + k, div_y - 0.08 * (k - 1), 0.8 * font_pt(W))
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
# An empty panel: a fixed range, so that gnuplot has nothing to autoscale.
empty_panel = "unset logscale y; set yrange [0:1]; set format y '%g'"
set style textbox opaque fc rgb '#ffffff' noborder margins 1, 1

# Integer tics on short layer and step axes (no "layer 2.5").
int_tics(n) = n <= 12 ? "set xtics 1" : "set xtics autofreq"

set style fill transparent solid 0.25 noborder
set grid lc rgb '#dddddd' lw 1
set border 3
# Decades on log axes as 10^k (the terminals are noenhanced, so that names
# with '_' print as they are).
log_format = "10^%T"
set tics nomirror out

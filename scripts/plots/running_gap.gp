# Batch norm's running statistics against the population's, by batch size
# (issue 6, table running_gap, view running_gap_by_run; docs/claims.md,
# running gap): a panel per measure (mean_gap, var_gap, var_ratio) against the
# batch size, a colour per layer (0 = the input), solid for shuffled
# batches and dashed with open points for batches drawn from one mixture
# component (shuffle = false), when the experiment has them. Lines: the
# mean over seeds (and over conditions, whose phase A is the same), band:
# min to max. A dotted grey guide falls as 1/sqrt(batch) from the first
# point of the shuffled input: the EMA's estimation error of shuffled
# (independent) batches.
#   gnuplot -c scripts/plots/running_gap.gp db=results/running_averages.db out=running_gap.png
# Options (key=value): metric = mean_gap | var_gap | var_ratio | all (default all),
# layers (default '0 1 MID LAST': the input, the first, middle and last
# layer), and common.gp's filters.
here(p) = strstrt(p, "/") == 0 ? "" : p[1:strstrt(p, "/")] . here(p[strstrt(p, "/") + 1:])
options = "metric layers"
# load clears ARGV: common.gp reads the options from script_args.
array script_args[9]
do for [i = 1:ARGC] { script_args[i] = ARGV[i] }
script_argc = ARGC
# "./" keeps a directory named "<..." from being read as a command (load "<cmd").
load (ARG0[1:1] eq "<" ? "./" : "") . here(ARG0) . "common.gp"

if (!exists("metric")) { metric = "all" }
if (metric eq "all") { metric = "mean_gap var_gap var_ratio" }
do for [m in metric] {
    if (strstrt(" mean_gap var_gap var_ratio ", " " . m . " ") == 0) {
        exit error sprintf("metric must be mean_gap, var_gap, var_ratio or all, got '%s'", m)
    }
}
nmetrics = words(metric)
if (int(sql("SELECT count(*) FROM running_gap_by_run WHERE " . where)) == 0) {
    exit error sprintf("experiment '%s' has no running-gap rows (running_gap; run it with norm = batch and population > 0 in [measure])", experiment)
}
if (!layers_given) {
    layers = "0 " . layers
}
nlayers = words(layers)
# Batches: shuffle is NULL unless the input is a mixture, whose examples
# are then independent, as shuffled ones.
shuf = "coalesce(shuffle, 1)"
shuffles = sql("SELECT coalesce(group_concat(s, ' '), '') FROM (SELECT DISTINCT " . shuf . " AS s FROM running_gap_by_run WHERE " . \
               where . " ORDER BY s DESC)")
nshuf = words(shuffles)
bsizes = sql("SELECT coalesce(group_concat(batch, ' '), '') FROM (SELECT DISTINCT batch FROM running_gap_by_run WHERE " . \
             where . " ORDER BY batch)")
shuf_words(s) = s eq "1" ? "shuffled batches" : "each batch from one component"

metric_label(m) = m eq "mean_gap" ? "|running − population mean| / sd" : \
                  m eq "var_gap" ? "|log(running / population var)|" : "running / population variance"
metric_title(m) = m eq "mean_gap" ? "mean_gap: error of the running mean" : \
                  m eq "var_gap" ? "var_gap: error of the running variance" : "var_ratio (1 = exact)"
layer_color(i) = word("#440154 #31688E #35B779 #C99A00 #D55E00 #CC79A7", (i - 1) % 6 + 1)
layer_words(l) = l == 0 ? "input (layer 0)" : sprintf("layer %d", l)

# The title's parameters: the batch size and shuffle are the curves.
fixed_net = sql("SELECT " . pv("depth", "depth") . " || ', ' || " . pv("width", "width") . \
    " || ', ' || " . pv("init", "init") . " || ' (' || " . pg("sigma_w", "sigma_w") . " || ', ' || " . \
    pg("sigma_b", "sigma_b") . " || '), ' || " . pg("momentum", "momentum") . \
    " || CASE WHEN max(dropout) > 0 THEN ', ' || " . pg("dropout", "dropout") . " ELSE '' END " . \
    "FROM run_params WHERE " . wherer . " AND population > 0")
fixed_data = sql("SELECT " . pv("A", "input") . " || CASE WHEN min(input) = 'mixture' THEN ' (' || " . \
    pv("k", "mixture_k") . " || ', ' || " . pg("sep", "mixture_sep") . " || ')' ELSE '' END || ', ' || " . \
    pv("", "steps_a") . " || ' A steps, ' || " . pv("population", "population") . " || ', ' || " . \
    "count(DISTINCT seed) || CASE WHEN count(DISTINCT seed) = 1 THEN ' seed' ELSE ' seeds' END " . \
    "FROM run_params WHERE " . wherer . " AND population > 0")
fixed_data = rep(fixed_data, "  ", " ")

nentries = nlayers + nshuf + 1
key_len = 30
ml = 1.75; mr = 0.3; mt = 1.45; mb = 1.75; gx = 2.0; gy = 1.3
W = fig_width(5.2 * nmetrics + ml + mr + gx * (nmetrics - 1))
mb = 0.95 + legend_h(nentries)
mt = title_margin(W)
H = 3.9 + mt + mb
eval set_term(W, H)
set output out_file

set multiplot title figure_title("batch norm's running statistics after phase A against the population's", \
    "line: mean over seeds, band: min to max")
set logscale x 2
set xtics ()
do for [b in bsizes] { set xtics add (b int(b)) }
bmin = real(word(bsizes, 1))
bmax = real(word(bsizes, words(bsizes)))
set xrange [bmin / 1.3 : bmax * 1.3]
set xlabel "batch size"
unset key

# Per (metric, layer, shuffle): batch, mean, min, max over seeds and conditions.
q(m, l, s) = sprintf("SELECT batch, avg(%s) AS m, min(%s), max(%s) FROM running_gap_by_run WHERE %s AND layer = %s " . \
                     "AND %s = %s GROUP BY batch ORDER BY batch", m, m, m, where, l, shuf, s)
# The curves with a finite point (n_fin): a diverged run's are NaN.
n_of(m, l, s) = n_fin(q(m, l, s))
# Runs that diverged: one note in every panel.
L = any_diverged ? div_from(where . " AND run_id IN (SELECT run_id FROM running_gap_by_run WHERE " . where . ")") : 0
# The 1/sqrt(batch) guide through the shuffled input at the smallest batch.
guide0(m) = real(sql(sprintf("SELECT coalesce(avg(%s), 0) FROM running_gap_by_run WHERE %s AND layer = 0 " . \
                             "AND %s = 1 AND batch = %g", m, where, shuf, bmin)))
stype(s) = s eq "1" ? 7 : 6
sdt(s) = s eq "1" ? 1 : 2

do for [im = 1:nmetrics] {
    m = word(metric, im)
    eval set_panel(1, im, 1, nmetrics)
    set title metric_title(m)
    set ylabel metric_label(m)
    lo = real(sql(sprintf("SELECT coalesce(min(%s), 0) FROM running_gap_by_run WHERE %s AND %s > 0 AND %s", \
                          m, where, m, fin(m))))
    hi = real(sql(sprintf("SELECT coalesce(max(%s), 0) FROM running_gap_by_run WHERE %s AND %s", m, where, fin(m))))
    # Gaps fall as 1/sqrt(batch): a log axis once they span a decade; the
    # ratio is read against 1 on a linear one.
    if (m ne "var_ratio" && lo > 0 && hi / lo > 10) {
        set logscale y; set format y log_format; set yrange [lo / 1.5 : hi * 1.5]
    } else {
        unset logscale y; set format y "%g"
        set yrange [(m eq "var_ratio" ? (lo < 1 ? lo : 1) : 0) * 0.9 : (hi > 1 || m eq "var_ratio" ? hi : hi) * 1.1]
    }
    unset arrow
    if (m eq "var_ratio") { set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead lw 1 lc rgb "#bbbbbb" back }
    g0 = m ne "var_ratio" ? guide0(m) : 0
    # The curves here: words "layer-index:shuffle" with rows.
    cw = ""
    do for [il = 1:nlayers] {
        do for [s in shuffles] { if (n_of(m, word(layers, il), s) > 0) { cw = cw . sprintf(" %d:%s", il, s) } }
    }
    ci(w) = int(w[1:strstrt(w, ":") - 1])
    cs(w) = w[strstrt(w, ":") + 1:]
    eval div_clear
    if (L > 0) { div_text = sprintf("runs diverged at layer %d", L); eval div_label(1) }
    if (words(cw) == 0) {
        set label 49 "no finite values" at graph 0.5, graph 0.5 center front
        plot 1/0 notitle
        unset label 49
        continue
    }
    plot for [w in cw] srcq(q(m, word(layers, ci(w)), cs(w))) using 1:3:4 with filledcurves \
             lc rgb layer_color(ci(w)) fs transparent solid 0.15 noborder notitle, \
         for [w in cw] srcq(q(m, word(layers, ci(w)), cs(w))) using 1:2 with linespoints lw 2 \
             pt stype(cs(w)) ps 0.8 dt sdt(cs(w)) lc rgb layer_color(ci(w)) notitle, \
         (g0 > 0 ? g0 * sqrt(bmin / x) : 1/0) with lines dt 3 lw 1.5 lc rgb '#777777' notitle
}
unset arrow
eval legend_strip(nentries)
plot for [il = 1:nlayers] 2 with linespoints lw 2 pt 7 ps 0.8 lc rgb layer_color(il) \
         title layer_words(int(word(layers, il))), \
     for [s in shuffles] 2 with linespoints lw 2 pt stype(s) ps 0.8 dt sdt(s) lc rgb '#000000' title shuf_words(s), \
     2 with lines dt 3 lw 1.5 lc rgb '#777777' title "∝ 1/√batch (guide)"
unset multiplot
set output

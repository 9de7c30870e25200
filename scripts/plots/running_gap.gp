# Batch norm's running statistics against the population's, by batch size
# (table running_gap, view running_gap_by_run; docs/claims.md, running
# gap): a panel per measure (mean_gap, var_gap, var_ratio) against the
# batch size, a colour per layer (0 = the input), solid for shuffled
# batches and dashed with open points for batches drawn from one mixture
# component (shuffle = false), when the experiment has them. Lines: the
# mean over seeds (and over conditions, whose phase A is the same), band:
# min to max. A dotted grey guide falls as 1/sqrt(batch) from the first
# point of the shuffled input: the EMA's estimation error of shuffled
# (independent) batches. Every other key that varies is held at one value,
# which the title names (common.gp, roles "claim").
#   gnuplot -c scripts/plots/running_gap.gp db=results/running_averages.db out=running_gap.png
# Options (key=value): metric = mean_gap | var_gap | var_ratio | all (default all),
# layers (default '0 1 MID LAST': the input, the first, middle and last
# layer), and common.gp's filters.
here(p) = strstrt(p, "/") == 0 ? "" : p[1:strstrt(p, "/")] . here(p[strstrt(p, "/") + 1:])
options = "metric layers activation"
fig_kind = "claim"
own_keys = "batch shuffle"
# One activation (the first unless given): the curves are layers.
one_activation = 1
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
stype(s) = s eq "1" ? 7 : 6
sdt(s) = s eq "1" ? 1 : 2

metric_label(m) = m eq "mean_gap" ? "|running − population mean| / sd" : \
                  m eq "var_gap" ? "|log(running / population var)|" : "running / population var"
layer_color(i) = word("#440154 #31688E #35B779 #C99A00 #D55E00 #CC79A7", (i - 1) % 6 + 1)
layer_words(l) = l == 0 ? "input (layer 0)" : sprintf("layer %d", l)

# What the title adds: the mixture, the held-out population, and that the
# conditions are pooled (their phase A, where the running statistics are
# made, is the same).
mix = sql("SELECT CASE WHEN min(input) = 'mixture' THEN 'A mixture (k ' || min(mixture_k) || ', sep ' || " . \
          "printf('%g', min(mixture_sep)) || '), ' ELSE '' END || 'population ' || min(population) " . \
          "FROM run_params WHERE " . wherer . " AND population > 0")
how_words = enh(acts) . (words(acts_all) > 1 ? sprintf(" (of %d activations)", words(acts_all)) : "") . ", " . \
            mix . "; conditions pooled (the same phase A); " . band_words

do for [il = 1:nlayers] { lg_c = layer_color(il); lg_dt = 1; lg_pt = 7; lg_t = layer_words(int(word(layers, il))); eval leg_line }
do for [s in shuffles] { lg_c = '#000000'; lg_dt = sdt(s); lg_pt = stype(s); lg_t = shuf_words(s); eval leg_line }
lg_c = '#777777'; lg_dt = 3; lg_pt = 0; lg_t = "∝ 1/√batch (guide)"
eval leg_line
leg_note = ""
do for [m in metric] { leg_note = leg_note . (leg_note eq "" ? "" : "; ") . enh(m) . " = " . metric_label(m) }
leg_note = wrap(leg_note, 78)
tt = figure_title("batch norm's running statistics after phase A against the population's", how_words)
ml = 0.6; mr = 0.2; gx = 0.6; gy = 0.55
mt = title_h(tt) + 0.36
mb = 0.52 + legend_h(leg_n)
H = mt + 2.0 + mb
legend_top = H - legend_h(leg_n)
eval set_term(W, H)
set output out_file

set multiplot title tt @title_font
# One seed: the band's bounds are the line itself (nothing drawn).
bl = nseeds >= 2 ? 3 : 2
bh = nseeds >= 2 ? 4 : 2
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

do for [im = 1:nmetrics] {
    m = word(metric, im)
    eval set_panel(1, im, 1, nmetrics)
    set title (enh(m))
    unset ylabel
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
    plot for [w in cw] srcq(q(m, word(layers, ci(w)), cs(w))) using 1:(column(bl)):(column(bh)) with filledcurves \
             lc rgb layer_color(ci(w)) fs transparent solid 0.15 noborder notitle, \
         for [w in cw] srcq(q(m, word(layers, ci(w)), cs(w))) using 1:2 with linespoints lw 1.6 \
             pt stype(cs(w)) ps 0.8 dt sdt(cs(w)) lc rgb layer_color(ci(w)) notitle, \
         (g0 > 0 ? g0 * sqrt(bmin / x) : 1/0) with lines dt 3 lw 1.5 lc rgb '#777777' notitle
}
unset arrow
eval legend_draw(leg_n)
unset multiplot
set output

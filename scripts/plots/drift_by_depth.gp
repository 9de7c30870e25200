# Drift from phase A to phase B by depth (DESIGN §2 drift metrics): a
# panel per metric and activation, a curve per condition, the mean over
# seeds with a band from the smallest to the largest seed. The headline
# figure (docs/figures.md).
#   gnuplot -c scripts/plots/drift_by_depth.gp db=results/quickstart.db out=drift_by_depth.png
# Options (key=value): metric = mean_shift | var_log_ratio | kl_sym | w1 (default all
# four), site = pre | norm | post (default post), and common.gp's filters.
# A panel whose values span more than two decades has a log y axis.
here(p) = strstrt(p, "/") == 0 ? "" : p[1:strstrt(p, "/")] . here(p[strstrt(p, "/") + 1:])
options = "metric site"
# load clears ARGV: common.gp reads the options from script_args.
array script_args[9]
do for [i = 1:ARGC] { script_args[i] = ARGV[i] }
script_argc = ARGC
# "./" keeps a directory named "<..." from being read as a command (load "<cmd").
load (ARG0[1:1] eq "<" ? "./" : "") . here(ARG0) . "common.gp"

if (!exists("site")) { site = "post" }
if (!exists("metric")) { metric = "all" }
metrics = metric eq "all" ? "mean_shift var_log_ratio kl_sym w1" : metric
if (strstrt(" mean_shift var_log_ratio kl_sym w1 ", " " . metric . " ") == 0 && metric ne "all") {
    exit error sprintf("metric must be mean_shift, var_log_ratio, kl_sym, w1 or all, got '%s'", metric)
}
nmetrics = words(metrics)
metric_label(m) = m eq "mean_shift" ? "|μB − μA| / σA" : \
                  m eq "var_log_ratio" ? "|log(vB / vA)|" : \
                  m eq "kl_sym" ? "symmetrised KL(A, B)" : "Wasserstein-1 / σA"

ml = 1.6; mr = 0.3; mt = 1.45; mb = 1.75; gx = 1.5; gy = 1.3
W = fig_width(3.2 * nmetrics + ml + mr + gx * (nmetrics - 1))
mb = 0.95 + legend_h(nconds)
mt = title_margin(W)
H = 2.9 * nacts + mt + mb + gy * (nacts - 1)
eval set_term(W, H)
set output out_file

set multiplot title figure_title(sprintf("drift from phase A to phase B by depth, site %s", site), "line: mean over seeds, band: min to max")
eval int_tics(maxdepth)
set xrange [0:maxdepth]
set mxtics
unset key

# Per (activation, metric, condition): layer, mean (m), min, max over seeds.
q(a, m, c) = sprintf("SELECT layer, avg(%s) AS m, min(%s), max(%s) FROM drift_by_depth WHERE %s " . \
                     "AND activation = %s AND condition = %s AND site = %s GROUP BY layer ORDER BY layer", \
                     m, m, m, where, sqlq(a), cq(c), sqlq(site))
# max / min of the positive finite values of a panel: a log axis past 100.
span(a, m) = real(sql(sprintf("SELECT coalesce(max(%s) / min(%s), 1) FROM drift_by_depth WHERE %s " . \
                               "AND activation = %s AND site = %s AND %s > 0 AND %s", \
                               m, m, where, sqlq(a), sqlq(site), m, fin(m))))

do for [ia = 1:nacts] {
    a = word(acts, ia)
    # The conditions whose runs of this activation diverged, as words
    # "index in conds:layer".
    da = ""
    if (any_diverged) {
        do for [ic = 1:nconds] {
            L = div_from(where . " AND activation = " . sqlq(a) . " AND condition = " . cq(word(conds, ic)))
            if (L > 0) { da = da . sprintf(" %d:%d", ic, L) }
        }
    }
    do for [im = 1:nmetrics] {
        m = word(metrics, im)
        set title sprintf("%s: %s", a, m)
        set ylabel metric_label(m)
        if (ia == nacts) { set xlabel "layer (0 = input)" } else { unset xlabel }
        if (span(a, m) > 100) { set logscale y; set format y log_format } else { unset logscale y; set format y "%g" }
        set autoscale y
        eval set_panel(ia, im, nacts, nmetrics)
        eval div_clear
        if (div_every(da)) { div_text = "runs diverged at layer " . div_L(word(da, 1)); eval div_label(1) }
        if (!div_every(da)) { do for [k = 1:imin(words(da), 8)] {
            div_text = div_note(word(da, k)); div_color = cond_color(div_c(word(da, k))); eval div_label(k)
        } }
        div_color = '#000000'
        pc = ""
        do for [c in conds] { if (n_fin(q(a, m, c)) > 0) { pc = pc . " " . c } }
        if (words(pc) == 0) {
            eval empty_panel
            set label 49 "no finite values" at graph 0.5, graph 0.35 center front
            plot 1/0 notitle
            unset label 49
            continue
        }
        plot for [c in pc] srcq(q(a, m, c)) using 1:3:4 with filledcurves lc rgb cond_color(c) notitle, \
             for [c in pc] srcq(q(a, m, c)) using 1:2 with linespoints lw 2 pt 7 ps 0.45 lc rgb cond_color(c) dt cond_dt(c) notitle
    }
}
eval legend_strip(nconds)
plot for [c in conds] 2 with linespoints lw 2 pt 7 ps 0.45 lc rgb cond_color(c) dt cond_dt(c) title cond_label(c)
unset multiplot
set output

# The second moment of the pre-activations by depth (DESIGN §1 site pre,
# §2 var): a panel per activation, a curve per condition; phase B solid
# with a min–max band over seeds, phase A dashed. Each run's var is first
# averaged over the steps of the phase. A log y axis when the values span
# more than two decades (a signal that explodes or vanishes with depth).
#   gnuplot -c scripts/plots/second_moment.gp db=results/quickstart.db out=second_moment.png
# Options (key=value): site (default pre), metric = var | var_within | mean_spread
# (default var), and common.gp's filters.
here(p) = strstrt(p, "/") == 0 ? "" : p[1:strstrt(p, "/")] . here(p[strstrt(p, "/") + 1:])
options = "site metric"
# load clears ARGV: common.gp reads the options from script_args.
array script_args[9]
do for [i = 1:ARGC] { script_args[i] = ARGV[i] }
script_argc = ARGC
# "./" keeps a directory named "<..." from being read as a command (load "<cmd").
load (ARG0[1:1] eq "<" ? "./" : "") . here(ARG0) . "common.gp"

if (!exists("site")) { site = "pre" }
if (!exists("metric")) { metric = "var" }
if (strstrt(metric, " ") > 0 || strstrt(" var var_within mean_spread ", " " . metric . " ") == 0) {
    exit error sprintf("metric must be var, var_within or mean_spread, got '%s'", metric)
}

ml = 1.6; mr = 0.3; mt = 1.45; mb = 1.75; gx = 1.5; gy = 1.3
W = fig_width(5.0 * nacts + ml + mr + gx * (nacts - 1))
mb = 0.95 + legend_h(nconds + 1)
mt = title_margin(W)
H = 3.6 + mt + mb
eval set_term(W, H)
set output out_file

set multiplot title figure_title(sprintf("%s at site %s by depth", metric, site), "phase B solid: mean over seeds, band min to max; phase A dashed")
# Layer 0 is the input, recorded at site post only (DESIGN §1).
eval int_tics(maxdepth)
set xrange [(site eq "post" ? 0 : 1):maxdepth]
set xlabel site eq "post" ? "layer (0 = input)" : "layer"
set ylabel sprintf("%s of the %s values", metric, site)
unset key

# Per (activation, condition, phase): layer, mean, min, max over seeds of
# the run's mean over steps.
q(a, c, ph) = sprintf("SELECT layer, avg(v), min(v), max(v) FROM (SELECT run_id, layer, avg(%s) AS v " . \
                      "FROM layer_stats_by_run WHERE %s AND activation = %s AND condition = %s AND site = %s " . \
                      "AND phase = '%s' GROUP BY run_id, layer) GROUP BY layer ORDER BY layer", \
                      metric, where, sqlq(a), cq(c), sqlq(site), ph)
span(a) = real(sql(sprintf("SELECT coalesce(max(%s) / min(%s), 1) FROM layer_stats_by_run WHERE %s " . \
                           "AND activation = %s AND site = %s AND %s > 0", \
                           metric, metric, where, sqlq(a), sqlq(site), metric)))

do for [ia = 1:nacts] {
    a = word(acts, ia)
    eval set_panel(1, ia, 1, nacts)
    set title a
    if (span(a) > 100) { set logscale y; set format y log_format } else { unset logscale y; set format y "%g" }
    plot for [c in conds] srcq(q(a, c, "B")) using 1:3:4 with filledcurves lc rgb cond_color(c) notitle, \
         for [c in conds] srcq(q(a, c, "B")) using 1:2 with linespoints lw 2 pt cond_pt(c) ps cond_ps(c) lc rgb cond_color(c) notitle, \
         for [c in conds] srcq(q(a, c, "A")) using 1:2 with lines lw 1.5 dt 2 lc rgb cond_color(c) notitle
}
eval legend_strip(nconds + 1)
plot for [c in conds] 2 with linespoints lw 2 pt cond_pt(c) ps cond_ps(c) lc rgb cond_color(c) title cond_label(c), \
     2 with lines lw 1.5 dt 2 lc rgb '#000000' title "phase A (dashed)"
unset multiplot
set output

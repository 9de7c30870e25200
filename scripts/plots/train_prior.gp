# Accuracy on B after training by batch-norm mode and prior (docs/training.md;
# tables train_prior, train_eval): left, accuracy on B (solid) and held-out
# A (dashed) under adapted statistics, N/(N+n) running + n/(N+n) batch
# (Schneider et al. 2020), against the prior strength N, a curve per
# batch-norm configuration (N = 0 is B's batch statistics, large N the
# frozen ones); right, accuracy on A and B at the last evaluation in every
# mode, a point per configuration. Line and points: mean over seeds; band
# and bars: min to max.
#   gnuplot -c scripts/plots/train_prior.gp db=results/train_shift.db out=train_prior.png
# Options (key=value): metric = accuracy | loss (default accuracy), and
# common.gp's filters.
here(p) = strstrt(p, "/") == 0 ? "" : p[1:strstrt(p, "/")] . here(p[strstrt(p, "/") + 1:])
options = "metric"
array script_args[9]
do for [i = 1:ARGC] { script_args[i] = ARGV[i] }
script_argc = ARGC
load (ARG0[1:1] eq "<" ? "./" : "") . here(ARG0) . "common.gp"
load (ARG0[1:1] eq "<" ? "./" : "") . here(ARG0) . "train_common.gp"

if (!exists("metric")) { metric = "accuracy" }
if (metric ne "accuracy" && metric ne "loss") {
    exit error sprintf("metric must be accuracy or loss, got '%s'", metric)
}
ml = 1.75; mr = 0.3; gx = 1.9; gy = 1.3
W = fig_width(6.5 * 2 + ml + mr + gx)
mb = 1.35 + legend_h(nseries + 2)
mt = train_mt(W)
H = 4.2 + mt + mb
eval set_term(W, H)
set output out_file
set multiplot title train_title(metric . " after training: B and held-out A by batch-norm mode", \
                                "mean over seeds, band and bars: min to max")
unset key
# The ladder: N = 0 drawn at 0.5 on the log axis.
qp(s, d) = sprintf("SELECT CASE WHEN prior_n = 0 THEN 0.5 ELSE prior_n END, avg(%s) AS m, min(%s), max(%s) " . \
                   "FROM train_prior_by_run WHERE %s%s AND dataset = '%s' GROUP BY prior_n ORDER BY prior_n", \
                   metric, metric, metric, where, in_series(s), d)
eval set_panel(1, 1, 1, 2)
set title "adapted statistics against the prior N"
set logscale x 2
set xrange [0.4:30000]
set xtics ("0" 0.5, "1" 1, "4" 4, "16" 16, "64" 64, "256" 256, "1024" 1024, "4096" 4096, "16384" 16384)
set xlabel "prior strength N (examples)"
set ylabel metric
if (metric eq "accuracy") { set yrange [0:1] } else { set yrange [0:*] }
cw = ""
do for [i = 1:nseries] { if (n_fin(qp(word(series, i), "B")) > 0) { cw = cw . sprintf(" %d", i) } }
if (words(cw) == 0) {
    set label 49 "no batch-norm runs" at graph 0.5, graph 0.5 center; plot 1/0 notitle; unset label 49
} else {
    plot for [i in cw] srcq(qp(word(series, int(i)), "B")) using 1:3:4 with filledcurves \
             lc rgb series_color(int(i)) fs transparent solid 0.15 noborder notitle, \
         for [i in cw] srcq(qp(word(series, int(i)), "B")) using 1:2 with linespoints lw 2 pt 7 ps 0.5 \
             lc rgb series_color(int(i)) notitle, \
         for [i in cw] srcq(qp(word(series, int(i)), "A")) using 1:2 with lines lw 1.5 dt 2 \
             lc rgb series_color(int(i)) notitle
}
unset logscale x
# Right: every mode at the last evaluation; x = the mode, a small offset per series.
eval set_panel(1, 2, 1, 2)
set title "every mode at the last evaluation"
modes = "none batch frozen ema adapted"
set xrange [0.5:5.5]
set xtics ("no norm" 1, "batch" 2, "frozen" 3, "ema" 4, "adapted" 5)
set xlabel "how batch norm treats the evaluation batches"
off(i) = nseries == 1 ? 0 : 0.5 * (i - 1) / (nseries - 1) - 0.25
qm(s, d, i) = sprintf("SELECT CASE mode WHEN 'none' THEN 1 WHEN 'batch' THEN 2 WHEN 'frozen' THEN 3 WHEN 'ema' THEN 4 " . \
                      "ELSE 5 END + %g, avg(%s) AS m, min(%s), max(%s) FROM train_curves WHERE %s%s AND dataset = '%s' " . \
                      "AND step = train_steps GROUP BY mode ORDER BY 1", off(i), metric, metric, metric, where, in_series(s), d)
cw = ""
do for [i = 1:nseries] { if (n_fin(qm(word(series, i), "B", i)) > 0) { cw = cw . sprintf(" %d", i) } }
plot for [i in cw] srcq(qm(word(series, int(i)), "B", int(i))) using 1:2:3:4 with yerrorbars pt 7 ps 1.0 \
         lc rgb series_color(int(i)) notitle, \
     for [i in cw] srcq(qm(word(series, int(i)), "A", int(i))) using 1:2 with points pt 6 ps 1.2 \
         lc rgb series_color(int(i)) notitle
eval legend_strip(nseries + 2)
plot for [i = 1:nseries] 2 with linespoints lw 2 pt 7 lc rgb series_color(i) title series_label(word(series, i)), \
     2 with linespoints lw 2 pt 7 lc rgb '#000000' title "B (A corrupted)", \
     2 with linespoints lw 1.5 dt 2 pt 6 lc rgb '#000000' title "held-out A"
unset multiplot
set output

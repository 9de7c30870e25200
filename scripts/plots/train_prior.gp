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
# "./" keeps a directory named "<..." from being read as a command (load "<cmd").
load (ARG0[1:1] eq "<" ? "./" : "") . here(ARG0) . "train_keys.gp"
load (ARG0[1:1] eq "<" ? "./" : "") . here(ARG0) . "common.gp"
load (ARG0[1:1] eq "<" ? "./" : "") . here(ARG0) . "train_common.gp"

if (!exists("metric")) { metric = "accuracy" }
if (metric ne "accuracy" && metric ne "loss") {
    exit error sprintf("metric must be accuracy or loss, got '%s'", metric)
}
lg_pt = 7
eval leg_series
lg_c = '#666666'; lg_dt = 1; lg_pt = 7; lg_t = "B (A corrupted)"
eval leg_line
lg_dt = 2; lg_pt = 6; lg_t = "held-out A"
eval leg_line
tt = train_title(metric . " after training: B and held-out A by batch-norm mode", \
                 "adapted statistics: N/(N+n) running + n/(N+n) batch (Schneider et al. 2020); " . \
                 "mean over seeds, band and bars: min to max")
ml = 0.72; mr = 0.15; gx = 0.45; gy = 0.5
mt = train_title_h(tt)
mb = 0.52 + legend_h(leg_n)
H = mt + 2.3 + mb
legend_top = H - legend_h(leg_n)
eval set_term(W, H)
set output out_file
set multiplot title tt @title_font
unset key
# The range of the metric: accuracy from 0 to 1, a loss from 0 with round tics.
yaxis = metric eq "accuracy" ? "unset logscale y; set format y '%g'; set yrange [0:1]; set ytics 0.2" : \
    y_axis0(0, real(sql(sprintf("SELECT coalesce(max(loss), 0) FROM train_curves WHERE %s AND %s", where, fin("loss")))), ph(1))
# The ladder: N = 0 drawn at 0.5 on the log axis.
qp(s, d) = sprintf("SELECT CASE WHEN prior_n = 0 THEN 0.5 ELSE prior_n END, avg(%s) AS m, min(%s), max(%s) " . \
                   "FROM train_prior_by_run WHERE %s%s AND dataset = '%s' GROUP BY prior_n ORDER BY prior_n", \
                   metric, metric, metric, where, in_series(s), d)
eval set_panel(1, 1, 1, 2)
set title "adapted statistics against the prior N"
set logscale x 2
set xrange [0.4:30000]
# Labels every fourth power of 4 fit the panel; the others are unlabelled tics.
set xtics ("0" 0.5, "1" 1, "16" 16, "256" 256, "4096" 4096)
set xtics add ("" 4 1, "" 64 1, "" 1024 1, "" 16384 1)
set mxtics 1
set xlabel "prior strength N (examples)"
set ylabel metric
eval yaxis
cw = ""
do for [i = 1:nseries] { if (n_fin(qp(word(series, i), "B")) > 0) { cw = cw . sprintf(" %d", i) } }
if (words(cw) == 0) {
    set label 49 "no batch-norm runs" at graph 0.5, graph 0.5 center; plot 1/0 notitle; unset label 49
} else {
    plot for [i in cw] srcq(qp(word(series, int(i)), "B")) using 1:3:4 with filledcurves \
             lc rgb series_color(int(i)) fs transparent solid 0.15 noborder notitle, \
         for [i in cw] srcq(qp(word(series, int(i)), "B")) using 1:2 with linespoints lw 1.6 pt 7 ps 0.4 \
             dt series_dt(int(i)) lc rgb series_color(int(i)) notitle, \
         for [i in cw] srcq(qp(word(series, int(i)), "A")) using 1:2 with linespoints lw 1.2 dt 2 pt 6 ps 0.4 \
             lc rgb series_color(int(i)) notitle
}
unset logscale x
# Right: every mode at the last evaluation; x = the mode, a small offset per series.
eval set_panel(1, 2, 1, 2)
set title "every mode at the last evaluation"
set xrange [0.5:5.5]
set xtics ("none" 1, "batch" 2, "frozen" 3, "ema" 4, "adapted" 5)
set xlabel "batch-norm mode in evaluation"
# The left panel's axis: its label there.
unset ylabel
eval yaxis
off(i) = nseries == 1 ? 0 : 0.5 * (i - 1) / (nseries - 1) - 0.25
qm(s, d, i) = sprintf("SELECT CASE mode WHEN 'none' THEN 1 WHEN 'batch' THEN 2 WHEN 'frozen' THEN 3 WHEN 'ema' THEN 4 " . \
                      "ELSE 5 END + %g, avg(%s) AS m, min(%s), max(%s) FROM train_curves WHERE %s%s AND dataset = '%s' " . \
                      "AND step = train_steps GROUP BY mode ORDER BY 1", off(i), metric, metric, metric, where, in_series(s), d)
cw = ""
do for [i = 1:nseries] { if (n_fin(qm(word(series, i), "B", i)) > 0) { cw = cw . sprintf(" %d", i) } }
if (words(cw) == 0) {
    set label 49 "no finite values" at graph 0.5, graph 0.5 center; plot 1/0 notitle; unset label 49
} else {
    plot for [i in cw] srcq(qm(word(series, int(i)), "B", int(i))) using 1:2:3:4 with yerrorbars pt 7 ps 0.7 \
             lc rgb series_color(int(i)) notitle, \
         for [i in cw] srcq(qm(word(series, int(i)), "A", int(i))) using 1:2 with points pt 6 ps 0.9 \
             lc rgb series_color(int(i)) notitle
}
eval legend_draw(leg_n)
unset multiplot
set output

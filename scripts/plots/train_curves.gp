# Training curves (docs/training.md; tables train_loss, train_eval): the
# training loss step by step, averaged over windows of about 1/100 of the
# run, and the accuracy on held-out A and on B in inference mode (the
# frozen running statistics; no norm without batch norm), a curve per
# configuration (train_common.gp). Line: the mean over seeds; band: min
# to max.
#   gnuplot -c scripts/plots/train_curves.gp db=results/train_ioffe_fig1.db out=train_curves.png
# Options (key=value): common.gp's filters; metric = accuracy | loss (the
# held-out panels' measure, default accuracy).
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
steps = int(sql("SELECT max(train_steps) FROM run_params WHERE " . wheret))
win = steps >= 200 ? int(steps / 100) : 1

ml = 1.75; mr = 0.3; mb = 1.75; gx = 1.9; gy = 1.3
W = fig_width(5.0 * 3 + ml + mr + 2 * gx)
mb = 0.95 + legend_h(nseries + 1)
mt = train_mt(W)
H = 4.0 + mt + mb
eval set_term(W, H)
set output out_file
set multiplot title train_title("training loss and held-out accuracy", "line: mean over seeds, band: min to max")
set xlabel "SGD step"
set xrange [0:steps]
unset key

# Windowed loss: each seed's mean over the window, then mean, min, max over seeds.
qloss(s) = sprintf("SELECT w, avg(m) AS m, min(m), max(m) FROM (SELECT seed, (step / %d) * %d + %g AS w, " . \
                   "avg(loss) AS m FROM train_loss_by_run WHERE %s%s GROUP BY seed, step / %d) GROUP BY w ORDER BY w", \
                   win, win, (win - 1) / 2.0, where, in_series(s), win)
qeval(s, d) = sprintf("SELECT step, avg(%s) AS m, min(%s), max(%s) FROM train_curves WHERE %s%s AND dataset = '%s' " . \
                      "AND mode IN ('none', 'frozen') GROUP BY step ORDER BY step", metric, metric, metric, where, in_series(s), d)

do for [panel = 1:3] {
    eval set_panel(1, panel, 1, 3)
    if (panel == 1) {
        set title sprintf("training loss (batches, windows of %d steps)", win)
        set ylabel "loss"
        lo = real(sql("SELECT coalesce(min(loss), 0) FROM train_loss_by_run WHERE " . where . " AND loss > 0 AND " . fin("loss")))
        if (lo > 0) { set logscale y; set format y "%g" } else { unset logscale y }
        set yrange [*:*]
        cw = ""
        do for [i = 1:nseries] { if (n_fin(qloss(word(series, i))) > 0) { cw = cw . sprintf(" %d", i) } }
        if (words(cw) == 0) { set label 49 "no finite values" at graph 0.5, graph 0.5 center; plot 1/0 notitle; unset label 49; continue }
        plot for [i in cw] srcq(qloss(word(series, int(i)))) using 1:3:4 with filledcurves \
                 lc rgb series_color(int(i)) fs transparent solid 0.15 noborder notitle, \
             for [i in cw] srcq(qloss(word(series, int(i)))) using 1:2 with lines lw 2 \
                 dt series_dt(int(i)) lc rgb series_color(int(i)) notitle
    } else {
        d = panel == 2 ? "A" : "B"
        set title (panel == 2 ? "held-out A" : "B (A corrupted)") . ", inference mode"
        set ylabel metric eq "accuracy" ? "accuracy" : "loss"
        unset logscale y
        if (metric eq "accuracy") { set yrange [0:1] } else { set yrange [0:*] }
        cw = ""
        do for [i = 1:nseries] { if (n_fin(qeval(word(series, i), d)) > 0) { cw = cw . sprintf(" %d", i) } }
        if (words(cw) == 0) { set label 49 "no finite values" at graph 0.5, graph 0.5 center; plot 1/0 notitle; unset label 49; continue }
        plot for [i in cw] srcq(qeval(word(series, int(i)), d)) using 1:3:4 with filledcurves \
                 lc rgb series_color(int(i)) fs transparent solid 0.15 noborder notitle, \
             for [i in cw] srcq(qeval(word(series, int(i)), d)) using 1:2 with linespoints lw 2 pt 7 ps 0.5 \
                 dt series_dt(int(i)) lc rgb series_color(int(i)) notitle
    }
}
eval legend_strip(nseries)
plot for [i = 1:nseries] 2 with lines lw 2 dt series_dt(i) lc rgb series_color(i) title series_label(word(series, i))
unset multiplot
set output

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
# "./" keeps a directory named "<..." from being read as a command (load "<cmd").
load (ARG0[1:1] eq "<" ? "./" : "") . here(ARG0) . "train_keys.gp"
load (ARG0[1:1] eq "<" ? "./" : "") . here(ARG0) . "common.gp"
load (ARG0[1:1] eq "<" ? "./" : "") . here(ARG0) . "train_common.gp"

if (!exists("metric")) { metric = "accuracy" }
if (metric ne "accuracy" && metric ne "loss") {
    exit error sprintf("metric must be accuracy or loss, got '%s'", metric)
}
steps = int(sql("SELECT max(train_steps) FROM run_params WHERE " . wheret))
win = steps >= 200 ? int(steps / 100) : 1

lg_pt = 7
eval leg_series
tt = train_title("training loss and held-out " . metric, \
                 (win > 1 ? sprintf("loss in windows of %d steps", win) : "loss per step") . \
                 "; A and B in inference mode (frozen running statistics, or no norm); " . \
                 "line: mean over seeds, band: min to max")
ml = 0.72; mr = 0.2; gx = 0.68; gy = 0.5
mt = train_title_h(tt)
mb = 0.52 + legend_h(leg_n)
H = mt + 2.1 + mb
legend_top = H - legend_h(leg_n)
eval set_term(W, H)
set output out_file
set multiplot title tt @title_font
set xlabel "SGD step"
set xrange [0:steps]
eval int_tics(steps, pw(3))
unset key

# Windowed loss: each seed's mean over the window, then mean, min, max over seeds.
qloss(s) = sprintf("SELECT w, avg(m) AS m, min(m), max(m) FROM (SELECT seed, (step / %d) * %d + %g AS w, " . \
                   "avg(loss) AS m FROM train_loss_by_run WHERE %s%s GROUP BY seed, step / %d) GROUP BY w ORDER BY w", \
                   win, win, (win - 1) / 2.0, where, in_series(s), win)
qeval(s, d) = sprintf("SELECT step, avg(%s) AS m, min(%s), max(%s) FROM train_curves WHERE %s%s AND dataset = '%s' " . \
                      "AND mode IN ('none', 'frozen') GROUP BY step ORDER BY step", metric, metric, metric, where, in_series(s), d)
# The range of a panel: every run's windowed losses, or its evaluations.
qrange_loss = sprintf("SELECT coalesce(min(CASE WHEN m > 0 THEN m END), 0), coalesce(max(m), 0) FROM " . \
                      "(SELECT run_id, step / %d, avg(loss) AS m FROM train_loss_by_run WHERE %s GROUP BY run_id, step / %d) " . \
                      "WHERE %s", win, where, win, fin("m"))
qrange_eval = sprintf("SELECT coalesce(min(CASE WHEN %s > 0 THEN %s END), 0), coalesce(max(%s), 0) FROM train_curves " . \
                      "WHERE %s AND mode IN ('none', 'frozen') AND %s", metric, metric, metric, where, fin(metric))

do for [panel = 1:3] {
    eval set_panel(1, panel, 1, 3)
    if (panel == 1) {
        set title "training loss (batches)"
        set ylabel "loss"
        r = sql(qrange_loss)
        eval y_axis0(real(word(r, 1)), real(word(r, 2)), ph(1))
        cw = ""
        do for [i = 1:nseries] { if (n_fin(qloss(word(series, i))) > 0) { cw = cw . sprintf(" %d", i) } }
        if (words(cw) == 0) { eval empty_panel; set label 49 "no finite values" at graph 0.5, graph 0.5 center; plot 1/0 notitle; unset label 49; continue }
        plot for [i in cw] srcq(qloss(word(series, int(i)))) using 1:3:4 with filledcurves \
                 lc rgb series_color(int(i)) fs transparent solid 0.15 noborder notitle, \
             for [i in cw] srcq(qloss(word(series, int(i)))) using 1:2 with lines lw 1.6 \
                 dt series_dt(int(i)) lc rgb series_color(int(i)) notitle
    } else {
        d = panel == 2 ? "A" : "B"
        set title panel == 2 ? "held-out A" : "B (A corrupted)"
        # B's panel shares A's axis: its label once, on A's.
        if (panel == 2) { set ylabel metric } else { unset ylabel }
        if (metric eq "accuracy") {
            unset logscale y; set format y "%g"; set yrange [0:1]; set ytics 0.2
        } else {
            r = sql(qrange_eval)
            eval y_axis0(real(word(r, 1)), real(word(r, 2)), ph(1))
        }
        cw = ""
        do for [i = 1:nseries] { if (n_fin(qeval(word(series, i), d)) > 0) { cw = cw . sprintf(" %d", i) } }
        if (words(cw) == 0) { eval empty_panel; set label 49 "no finite values" at graph 0.5, graph 0.5 center; plot 1/0 notitle; unset label 49; continue }
        plot for [i in cw] srcq(qeval(word(series, int(i)), d)) using 1:3:4 with filledcurves \
                 lc rgb series_color(int(i)) fs transparent solid 0.15 noborder notitle, \
             for [i in cw] srcq(qeval(word(series, int(i)), d)) using 1:2 with linespoints lw 1.6 pt 7 ps 0.4 \
                 dt series_dt(int(i)) lc rgb series_color(int(i)) notitle
    }
}
eval legend_draw(leg_n)
unset multiplot
set output

# Internal covariate shift by depth (docs/training.md; table train_layers):
# Santurkar et al. 2018's measure over training, for each layer: cos(G,
# G') and ||G - G'||, G the layer's weight gradient on a step's batch and
# G' the same after the layers below took that step's update, and ||G||;
# a row per configuration, a colour per layer (the readout is depth + 1).
# Line: the mean over seeds.
#   gnuplot -c scripts/plots/train_ics.gp db=results/train_ics.db out=train_ics.png
# Options (key=value): common.gp's filters.
here(p) = strstrt(p, "/") == 0 ? "" : p[1:strstrt(p, "/")] . here(p[strstrt(p, "/") + 1:])
options = ""
array script_args[9]
do for [i = 1:ARGC] { script_args[i] = ARGV[i] }
script_argc = ARGC
load (ARG0[1:1] eq "<" ? "./" : "") . here(ARG0) . "common.gp"
load (ARG0[1:1] eq "<" ? "./" : "") . here(ARG0) . "train_common.gp"

nl = maxdepth + 1
steps = int(sql("SELECT max(train_steps) FROM run_params WHERE " . wheret))
ml = 1.75; mr = 0.3; gx = 1.9; gy = 1.15
nr = nseries
W = fig_width(4.8 * 3 + ml + mr + 2 * gx)
mb = 0.95 + legend_h(nl)
mt = train_mt(W)
H = 3.2 * nr + mt + mb + gy * (nr - 1)
eval set_term(W, H)
set output out_file
set multiplot title train_title("internal covariate shift by layer (Santurkar et al. 2018)", "line: mean over seeds")
set xlabel "SGD step"
set xrange [0:steps]
unset key
layer_color(l) = word("#440154 #3B528B #21908C #5DC863 #C99A00 #D55E00 #CC79A7 #0072B2 #999999 #000000", (l - 1) % 10 + 1)
q(s, l, col) = sprintf("SELECT step, avg(%s) AS m FROM train_layers_by_run WHERE %s%s AND layer = %d AND %s " . \
                       "GROUP BY step ORDER BY step", col, where, in_series(s), l, fin(col))
cols = "ics_cos ics_l2 grad_w_norm"
titles = "cos(G,~G')~(1:~no~shift) ||G~-~G'||_2 ||G||_F"
do for [i = 1:nseries] {
    s = word(series, i)
    do for [c = 1:3] {
        col = word(cols, c)
        eval set_panel(i, c, nr, 3)
        set title series_label(s) . ": " . rep(word(titles, c), "~", " ")
        set ylabel ""
        if (i == nr) { set xlabel "SGD step" } else { unset xlabel }
        if (c == 1) { unset logscale y; set format y "%g"; set yrange [*:1.02] } else { set logscale y; set format y log_format; set yrange [*:*] }
        lw = ""
        do for [l = 1:nl] { if (n_fin(q(s, l, col)) > 0) { lw = lw . sprintf(" %d", l) } }
        if (words(lw) == 0) { eval empty_panel; set label 49 "no finite values" at graph 0.5, graph 0.5 center; plot 1/0 notitle; unset label 49; continue }
        plot for [l in lw] srcq(q(s, int(l), col)) using 1:2 with linespoints lw 1.6 pt 7 ps 0.35 lc rgb layer_color(int(l)) notitle
    }
}
key_len = 12
eval legend_strip(nl)
plot for [l = 1:nl] 2 with linespoints lw 2 pt 7 ps 0.5 lc rgb layer_color(l) title (l == nl ? "readout" : sprintf("layer %d", l))
unset multiplot
set output

# Internal covariate shift by depth (docs/training.md; table train_layers):
# Santurkar et al. 2018's measure over training, for each layer: cos(G,
# G') and ||G - G'||, G the layer's weight gradient on a step's batch and
# G' the same after the layers below took that step's update, and ||G||;
# a row per configuration, a colour per layer (the readout is depth + 1).
# Line: the mean over seeds.
#   gnuplot -c scripts/plots/train_ics.gp db=results/train_ics.db out=train_ics.png
# Options (key=value): part = K (4 configurations to a page: the K-th
# four), and common.gp's filters.
here(p) = strstrt(p, "/") == 0 ? "" : p[1:strstrt(p, "/")] . here(p[strstrt(p, "/") + 1:])
options = "part"
array script_args[9]
do for [i = 1:ARGC] { script_args[i] = ARGV[i] }
script_argc = ARGC
# "./" keeps a directory named "<..." from being read as a command (load "<cmd").
load (ARG0[1:1] eq "<" ? "./" : "") . here(ARG0) . "train_keys.gp"
load (ARG0[1:1] eq "<" ? "./" : "") . here(ARG0) . "common.gp"
load (ARG0[1:1] eq "<" ? "./" : "") . here(ARG0) . "train_common.gp"

nl = maxdepth + 1
steps = int(sql("SELECT max(train_steps) FROM run_params WHERE " . wheret))
# A row per configuration, at most four to a page.
per_page = 4
s_first = part_first(nseries, per_page)
s_last = part_last(nseries, per_page)
if (s_first > nseries) { exit error sprintf("part %d: experiment '%s' has %d configurations, %d to a part", part, experiment, nseries, per_page) }
nr = s_last - s_first + 1
layer_color(l) = word("#440154 #3B528B #21908C #5DC863 #C99A00 #D55E00 #CC79A7 #0072B2 #999999 #000000", (l - 1) % 10 + 1)
layer_dt(l) = (l - 1) / 10 + 1
do for [l = 1:nl] {
    lg_c = layer_color(l); lg_dt = layer_dt(l); lg_pt = 7; lg_t = l == nl ? "readout" : sprintf("layer %d", l)
    eval leg_line
}
tt = train_title("internal covariate shift by layer (Santurkar et al. 2018)" . part_words(nseries, per_page), \
                 "G: a layer's weight gradient on a step's batch, G': the same after the layers below took the step; " . \
                 "line: mean over seeds")
ml = 0.72; mr = 0.2; gx = 0.68; gy = 0.86
mt = train_title_h(tt) + 0.3
mb = 0.52 + legend_h(leg_n)
# Rows 1.5 in tall, lower when four would pass a 9 in page.
H = mt + nr * imin(1.5, (8.9 - mt - mb - (nr - 1) * gy) / nr) + (nr - 1) * gy + mb
legend_top = H - legend_h(leg_n)
eval set_term(W, H)
set output out_file
set multiplot title tt @title_font
set xrange [0:steps]
eval int_tics(steps, pw(3))
unset key
q(s, l, col) = sprintf("SELECT step, avg(%s) AS m FROM train_layers_by_run WHERE %s%s AND layer = %d AND %s " . \
                       "GROUP BY step ORDER BY step", col, where, in_series(s), l, fin(col))
cols = "ics_cos ics_l2 grad_w_norm"
titles = "cos(G,~G')~(1:~no~shift) ‖G~−~G'‖_2 ‖G‖_F"
do for [i = s_first:s_last] {
    s = word(series, i)
    r = i - s_first + 1
    do for [c = 1:3] {
        col = word(cols, c)
        eval set_panel(r, c, nr, 3)
        unset label
        # The configuration of the row, bold, over its three panels.
        if (c == 1) {
            row_text = "{/:Bold " . series_text(s) . "}"
            eval sprintf("set label 61 (row_text) at screen %.5f, screen %.5f left front", 0.1 / W, 1 - (panel_t(r, nr) - 0.45) / H)
        }
        set title rep(word(titles, c), "~", " ")
        unset ylabel
        if (r == nr) { set xlabel "SGD step" } else { unset xlabel }
        set autoscale y
        if (c == 1) {
            # cos up to 1, with round tics as many as fit (its values
            # can all lie within 1e-4 of 1).
            lo = real(sql(sprintf("SELECT coalesce(min(ics_cos), 1) FROM train_layers_by_run WHERE %s%s AND %s", \
                                  where, in_series(s), fin("ics_cos"))))
            lo = lo < 1 ? lo : 0.9
            unset logscale y; set format y "%g"
            set ytics nice_near(1 - lo, floor(ph(nr) / 0.34))
            set yrange [lo - 0.04 * (1 - lo) : 1 + 0.04 * (1 - lo)]
        } else {
            lo = real(sql(sprintf("SELECT coalesce(min(%s), 0) FROM train_layers_by_run WHERE %s%s AND %s > 0 AND %s", \
                                  col, where, in_series(s), col, fin(col))))
            hi = real(sql(sprintf("SELECT coalesce(max(%s), 0) FROM train_layers_by_run WHERE %s%s AND %s", \
                                  col, where, in_series(s), fin(col))))
            eval y_axis0(lo, hi, ph(nr))
        }
        lw = ""
        do for [l = 1:nl] { if (n_fin(q(s, l, col)) > 0) { lw = lw . sprintf(" %d", l) } }
        if (words(lw) == 0) { eval empty_panel; set label 49 "no finite values" at graph 0.5, graph 0.5 center; plot 1/0 notitle; unset label 49; continue }
        plot for [l in lw] srcq(q(s, int(l), col)) using 1:2 with linespoints lw 1.3 pt 7 ps 0.3 \
                 dt layer_dt(int(l)) lc rgb layer_color(int(l)) notitle
    }
}
unset label
eval legend_draw(leg_n)
unset multiplot
set output

# A layer's input over training (docs/training.md; table train_probe):
# Ioffe and Szegedy 2015, Fig. 1 b, c: the 15th, 50th and 85th percentiles
# of what the activation function of one layer receives (site norm: after
# batch norm, or the pre-activation without it) on a fixed probe batch
# (held-out A's first), over training, a panel per configuration. Line and
# dark band: unit 0 alone (the mean of each percentile over seeds); light
# band: p15 to p85 over every unit of the layer.
#   gnuplot -c scripts/plots/train_probe.gp db=results/train_ioffe_fig1.db out=train_probe.png
# Options (key=value): layers = the layer (default: the last hidden one),
# part = K (9 configurations to a page: the K-th nine), and common.gp's
# filters.
here(p) = strstrt(p, "/") == 0 ? "" : p[1:strstrt(p, "/")] . here(p[strstrt(p, "/") + 1:])
options = "layers part"
array script_args[9]
do for [i = 1:ARGC] { script_args[i] = ARGV[i] }
script_argc = ARGC
# "./" keeps a directory named "<..." from being read as a command (load "<cmd").
load (ARG0[1:1] eq "<" ? "./" : "") . here(ARG0) . "train_keys.gp"
load (ARG0[1:1] eq "<" ? "./" : "") . here(ARG0) . "common.gp"
load (ARG0[1:1] eq "<" ? "./" : "") . here(ARG0) . "train_common.gp"

probe_l = layers_given ? int(word(layers, 1)) : maxdepth
if (int(sql(sprintf("SELECT count(*) FROM train_probe_by_run WHERE %s AND layer = %d AND site = 'norm'", where, probe_l))) == 0) {
    exit error sprintf("experiment '%s' has no probe rows at layer %d (train_probe; probe_layer = 0 or %d)", experiment, probe_l, probe_l)
}
steps = int(sql("SELECT max(train_steps) FROM run_params WHERE " . wheret))
# A panel per configuration, three to a row (four as two by two), at most
# three rows to a page.
per_page = 9
s_first = part_first(nseries, per_page)
s_last = part_last(nseries, per_page)
if (s_first > nseries) { exit error sprintf("part %d: experiment '%s' has %d configurations, %d to a part", part, experiment, nseries, per_page) }
np = s_last - s_first + 1
nc = np == 4 ? 2 : imin(np, 3)
nr = (np + nc - 1) / nc

lg_c = '#555555'; lg_dt = 1; lg_pt = 0; lg_t = "unit 0: p50 (line), p15 to p85 (dark)"
eval leg_box
lg_t = "every unit: p15 to p85 (light)"
eval leg_box
leg_color[2] = tint(0x555555, 0.65)
tt = train_title(sprintf("layer %d's input to its activation over training (probe batch)", probe_l) . part_words(nseries, per_page), \
                 "after batch norm, or the pre-activation without it; unit 0's p15, p50, p85 (mean over seeds); " . \
                 "light band: p15 to p85 of every unit")
ml = 0.8; mr = 0.2; gx = 0.6; gy = 0.72
# A panel's title, the configuration, in lines that fit the panel: the
# room above each row grows by the extra lines of the longest.
tcols = floor(pw(nc) / 0.058)
tl = 1
do for [i = s_first:s_last] { tl = imax(tl, nlines(wrap(series_label(word(series, i)), tcols))) }
gy = gy + 0.16 * (tl - 1)
mt = train_title_h(tt) + 0.06 + 0.16 * (tl - 1)
mb = 0.52 + legend_h(leg_n)
# Rows 1.75 in tall, lower when three would pass a 9 in page.
H = mt + nr * imin(1.75, (8.9 - mt - mb - (nr - 1) * gy) / nr) + (nr - 1) * gy + mb
legend_top = H - legend_h(leg_n)
eval set_term(W, H)
set output out_file
set multiplot title tt @title_font
set xrange [0:steps]
eval int_tics(steps, pw(nc))
unset key
q(s) = sprintf("SELECT step, avg(unit_p50) AS m, avg(unit_p15) AS u15, avg(unit_p85) AS u85, avg(p15) AS a15, " . \
               "avg(p85) AS a85 FROM train_probe_by_run " . \
               "WHERE %s%s AND layer = %d AND site = 'norm' GROUP BY step ORDER BY step", where, in_series(s), probe_l)
do for [i = s_first:s_last] {
    s = word(series, i)
    k = i - s_first
    eval set_panel(k / nc + 1, k % nc + 1, nr, nc)
    set title (enh(wrap(series_label(s), tcols)))
    if (k % nc == 0) { set ylabel "input to the activation" } else { unset ylabel }
    if (k / nc == nr - 1 || k + nc > np - 1) { set xlabel "SGD step" } else { unset xlabel }
    # Round tics, as many as fit the panel's height.
    r = sql("SELECT min(min(u15, a15)), max(max(u85, a85)) FROM (" . q(s) . ") WHERE " . fin("m"))
    lo = real(word(r, 1)); hi = real(word(r, 2))
    unset logscale y; set format y "%g"; set autoscale y
    if (hi > lo) { set ytics nice_near(hi - lo, floor(ph(nr) / 0.3)) } else { set ytics autofreq }
    if (n_fin(q(s)) == 0) { eval empty_panel; set label 49 "no finite values" at graph 0.5, graph 0.5 center; plot 1/0 notitle; unset label 49; continue }
    plot srcq(q(s)) using 1:5:6 with filledcurves lc rgb series_color(i) fs transparent solid 0.12 noborder notitle, \
         srcq(q(s)) using 1:3:4 with filledcurves lc rgb series_color(i) fs transparent solid 0.35 noborder notitle, \
         srcq(q(s)) using 1:2 with lines lw 1.6 lc rgb series_color(i) notitle
}
eval legend_draw(leg_n)
unset multiplot
set output

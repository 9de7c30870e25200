# A layer's input over training (docs/training.md; table train_probe):
# Ioffe and Szegedy 2015, Fig. 1 b, c: the 15th, 50th and 85th percentiles
# of what the activation function of one layer receives (site norm: after
# batch norm, or the pre-activation without it) on a fixed probe batch
# (held-out A's first), over training, a panel per configuration. Line and
# dark band: unit 0 alone (the mean of each percentile over seeds); light
# band: p15 to p85 over every unit of the layer.
#   gnuplot -c scripts/plots/train_probe.gp db=results/train_ioffe_fig1.db out=train_probe.png
# Options (key=value): layers = the layer (default: the last hidden one),
# and common.gp's filters.
here(p) = strstrt(p, "/") == 0 ? "" : p[1:strstrt(p, "/")] . here(p[strstrt(p, "/") + 1:])
options = "layers"
array script_args[9]
do for [i = 1:ARGC] { script_args[i] = ARGV[i] }
script_argc = ARGC
load (ARG0[1:1] eq "<" ? "./" : "") . here(ARG0) . "common.gp"
load (ARG0[1:1] eq "<" ? "./" : "") . here(ARG0) . "train_common.gp"

probe_l = layers_given ? int(word(layers, 1)) : maxdepth
if (int(sql(sprintf("SELECT count(*) FROM train_probe_by_run WHERE %s AND layer = %d AND site = 'norm'", where, probe_l))) == 0) {
    exit error sprintf("experiment '%s' has no probe rows at layer %d (train_probe; probe_layer = 0 or %d)", experiment, probe_l, probe_l)
}
steps = int(sql("SELECT max(train_steps) FROM run_params WHERE " . wheret))
nc = nseries < 4 ? nseries : 4
nr = int(ceil(nseries / 4.0))
ml = 1.75; mr = 0.3; gx = 1.6; gy = 1.3
W = fig_width(4.6 * nc + ml + mr + gx * (nc - 1))
mb = 0.95 + legend_h(2)
mt = train_mt(W)
H = 3.6 * nr + mt + mb + gy * (nr - 1)
eval set_term(W, H)
set output out_file
set multiplot title train_title(sprintf("layer %d's input to its activation over training (probe batch)", probe_l), \
                                "line and dark band: unit 0's p50, p15-p85; light: every unit")
set xlabel "SGD step"
set xrange [0:steps]
unset key
q(s) = sprintf("SELECT step, avg(unit_p50) AS m, avg(unit_p15), avg(unit_p85), avg(p15), avg(p85) FROM train_probe_by_run " . \
               "WHERE %s%s AND layer = %d AND site = 'norm' GROUP BY step ORDER BY step", where, in_series(s), probe_l)
do for [i = 1:nseries] {
    s = word(series, i)
    eval set_panel(int((i - 1) / nc) + 1, (i - 1) % nc + 1, nr, nc)
    set title series_label(s)
    set ylabel "input to the activation"
    if (n_fin(q(s)) == 0) { eval empty_panel; set label 49 "no finite values" at graph 0.5, graph 0.5 center; plot 1/0 notitle; unset label 49; continue }
    plot srcq(q(s)) using 1:5:6 with filledcurves lc rgb series_color(i) fs transparent solid 0.12 noborder notitle, \
         srcq(q(s)) using 1:3:4 with filledcurves lc rgb series_color(i) fs transparent solid 0.35 noborder notitle, \
         srcq(q(s)) using 1:2 with lines lw 2 lc rgb series_color(i) notitle
}
key_len = 30
eval legend_strip(2)
plot 2 with filledcurves y1=0 lc rgb '#555555' fs transparent solid 0.35 noborder title "unit 0: p15 to p85 (line p50)", \
     2 with filledcurves y1=0 lc rgb '#555555' fs transparent solid 0.12 noborder title "every unit: p15 to p85"
unset multiplot
set output

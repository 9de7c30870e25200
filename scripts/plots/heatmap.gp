# A statistic over depth and steps as a heat map (DESIGN §2 layer_stats):
# a panel per condition, one colour scale shared by the panels with its
# colour bar, the A → B switch marked. One run per condition: one
# activation and seed. The colour scale is logarithmic when the values are
# positive and span more than two decades.
#   gnuplot -c scripts/plots/heatmap.gp db=results/quickstart.db out=heatmap.png
# Options (key=value): metric = any layer_stats column, e.g. mean (default), var,
# mean_spread, p50, frac_zero; site (default post); activation, seed, and
# common.gp's filters.
here(p) = strstrt(p, "/") == 0 ? "" : p[1:strstrt(p, "/")] . here(p[strstrt(p, "/") + 1:])
options = "metric site activation seed"
# load clears ARGV: common.gp reads the options from script_args.
array script_args[9]
do for [i = 1:ARGC] { script_args[i] = ARGV[i] }
script_argc = ARGC
# "./" keeps a directory named "<..." from being read as a command (load "<cmd").
load (ARG0[1:1] eq "<" ? "./" : "") . here(ARG0) . "common.gp"

if (!exists("site")) { site = "post" }
if (!exists("metric")) { metric = "mean" }
if (strstrt(metric, " ") > 0 || strstrt(" mean var mean_spread var_within min max p01 p15 p50 p85 p99 frac_zero frac_saturated ", \
            " " . metric . " ") == 0) {
    exit error sprintf("metric must be a layer_stats column (mean, var, mean_spread, var_within, min, max, " . \
                       "p01, p15, p50, p85, p99, frac_zero, frac_saturated), got '%s'", metric)
}

ncols = nconds > 1 ? 2 : 1
nrows = (nconds + 1) / 2
ml = 1.2; mr = 1.5; mt = 1.45; mb = 1.0; gx = 2.2; gy = 1.2
W = fig_width(5.2 * ncols + ml + mr + gx * (ncols - 1))
mt = title_margin(W)
H = 3.4 * nrows + mt + mb + gy * (nrows - 1)
eval set_term(W, H)
set output out_file

set multiplot title figure_title(sprintf("%s of the %s values by layer and step (colour)", metric, site), \
                                         sprintf("%s, seed %d; dashed: switch from A to B", activation, seed))
steps_total = int(sql("SELECT max(step) FROM layer_stats_by_run WHERE " . where1))
# Hidden layers only: the input (layer 0, site post) is the same for every
# condition and its injected shift would set the colour scale alone,
# leaving the layers flat (seen on the quickstart).
first_layer = 1
set xrange [-0.5:steps_total + 0.5]
eval int_tics(steps_total)
set yrange [first_layer - 0.5:maxdepth + 0.5]
if (maxdepth <= 12) { set ytics 1 }
set grid noxtics noytics
set tics front
eval mark_switch
unset key

# One colour scale for every panel, so that colours compare across conditions.
# Finite values only: a diverged run's Inf would leave no scale at all.
lo = sql(sprintf("SELECT min(%s) FROM layer_stats_by_run WHERE %s AND site = %s AND layer >= 1 AND %s", \
                 metric, where1, sqlq(site), fin(metric)))
hi = sql(sprintf("SELECT max(%s) FROM layer_stats_by_run WHERE %s AND site = %s AND layer >= 1 AND %s", \
                 metric, where1, sqlq(site), fin(metric)))
if (lo eq "NaN" || hi eq "NaN") { lo = 0; hi = 1 }
lo = real(lo)
hi = real(hi)
# One value everywhere (a layer that is constant, or all a diverged run
# left): a range around it, which gnuplot cannot make of [v:v].
if (hi <= lo) { lo = lo - 1; hi = hi + 1 }
if (lo > 0 && hi / lo > 100) {
    set logscale cb
    set format cb log_format
} else {
    set format cb "%g"
}
set cbrange [lo:hi]
# viridis: perceptually uniform, readable in grey and with colour-vision deficiencies.
set palette defined (0 '#440154', 1 '#3b528b', 2 '#21918c', 3 '#5ec962', 4 '#fde725')
# Opaque pixels and colour bar (common.gp's fill is transparent, for bands).
set style fill solid 1.0 noborder
# The quantity is in the figure title: a cblabel beside a user-placed colour
# bar lands on the tic labels or the next panel in gnuplot 5.4.
unset cblabel

q(c) = sprintf("SELECT step, layer, %s AS m FROM layer_stats_by_run WHERE %s AND condition = %s AND site = %s " . \
               "AND layer >= 1 ORDER BY layer, step", metric, where1, cq(c), sqlq(site))

do for [ic = 1:nconds] {
    c = word(conds, ic)
    r = (ic - 1) / ncols + 1
    k = (ic - 1) % ncols + 1
    eval set_panel(r, k, nrows, ncols)
    # Each panel's colour bar just right of it, the same scale everywhere.
    set colorbox vertical user origin (ml + (k - 1) * (pw(ncols) + gx) + pw(ncols) + 0.15) / W, \
        1 - (mt + (r - 1) * (ph(nrows) + gy) + ph(nrows)) / H size 0.18 / W, ph(nrows) / H
    # A diverged run says so in the title (a note inside would hide cells
    # or the A and B marks); its cells without a finite value stay white.
    L = any_diverged ? div_from(where1 . " AND condition = " . cq(c)) : 0
    set title cond_title(c) . (L > 0 ? sprintf(", diverged from layer %d", L) : "") textcolor rgb cond_color(c)
    if (k == 1) { set ylabel "layer" } else { unset ylabel }
    if (r == nrows || ic + ncols > nconds) { set xlabel "step" } else { unset xlabel }
    if (n_fin(q(c)) == 0) {
        set label 49 "no finite values" at graph 0.5, graph 0.5 center front
        plot 1/0 notitle
        unset label 49
        continue
    }
    plot srcq(q(c)) using 1:2:3 with image
}
unset multiplot
set output

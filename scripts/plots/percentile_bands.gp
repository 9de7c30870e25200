# Percentile bands over steps at chosen layers, as Ioffe & Szegedy (2015)
# Figure 1: p15, p50 and p85 of a layer's values at each step (DESIGN §2
# exact quantiles), p01–p99 lighter, the A → B switch marked. One run: a
# row per condition, a column per layer, for one activation and seed.
#   gnuplot -c scripts/plots/percentile_bands.gp db=results/quickstart.db out=percentile_bands.png
# Options (key=value): layers (default first, middle and last, e.g. '1 15 30'), site
# (default norm: what the activation function receives, BN's output or h
# without norm, as Ioffe & Szegedy's "input to a sigmoid"), activation, seed, and common.gp's filters.
here(p) = strstrt(p, "/") == 0 ? "" : p[1:strstrt(p, "/")] . here(p[strstrt(p, "/") + 1:])
options = "layers site activation seed"
# load clears ARGV: common.gp reads the options from script_args.
array script_args[9]
do for [i = 1:ARGC] { script_args[i] = ARGV[i] }
script_argc = ARGC
# "./" keeps a directory named "<..." from being read as a command (load "<cmd").
load (ARG0[1:1] eq "<" ? "./" : "") . here(ARG0) . "common.gp"

if (!exists("site")) { site = "norm" }

ml = 1.35; mr = 0.3; mt = 1.45; mb = 1.35; gx = 1.4; gy = 1.15
W = fig_width(4.8 * nlayers + ml + mr + gx * (nlayers - 1))
mt = title_margin(W)
H = 2.3 * nconds + mt + mb + gy * (nconds - 1)
eval set_term(W, H)
set output out_file

set multiplot title figure_title(sprintf("percentiles of the %s values over steps, %s, seed %d", site, activation, seed), \
    "line p50, dark band p15 to p85, light band p01 to p99")
steps_total = int(sql("SELECT max(step) FROM layer_stats_by_run WHERE " . where1))
set xrange [-0.5:steps_total + 0.5]
eval int_tics(steps_total)
eval mark_switch
unset key

q(c, l) = sprintf("SELECT step, p01, p15, p50 AS m, p85, p99 FROM layer_stats_by_run WHERE %s " . \
                  "AND condition = %s AND layer = %d AND site = %s ORDER BY step", where1, cq(c), l, sqlq(site))
# A diverged run's note sits low, clear of the A and B marks.
div_y = 0.08

do for [ic = 1:nconds] {
    c = word(conds, ic)
    L = any_diverged ? div_from(where1 . " AND condition = " . cq(c)) : 0
    do for [il = 1:nlayers] {
        l = int(word(layers, il))
        eval set_panel(ic, il, nconds, nlayers)
        set title sprintf("%s, layer %d", cond_title(c), l)
        if (il == 1) { set ylabel site . " value" } else { unset ylabel }
        if (ic == nconds) { set xlabel "step" } else { unset xlabel }
        set autoscale y
        eval div_clear
        if (L > 0) {
            div_text = sprintf("run diverged from layer %d", L)
            div_color = cond_color(c)
            eval div_label(1)
        }
        if (n_fin(q(c, l)) == 0) {
            eval empty_panel
            set label 49 "no finite values" at graph 0.5, graph 0.5 center front
            plot 1/0 notitle
            unset label 49
            continue
        }
        # A constant layer (every value the same, e.g. 0): a range around it,
        # which gnuplot would otherwise make itself, with a warning.
        v = sql("SELECT min(p01) || ' ' || max(p99) FROM (" . q(c, l) . ") WHERE " . fin("p01") . " AND " . fin("p99"))
        if (words(v) == 2 && real(word(v, 1)) == real(word(v, 2))) {
            set yrange [real(word(v, 1)) - 1:real(word(v, 1)) + 1]
        }
        plot srcq(q(c, l)) using 1:2:6 with filledcurves fs transparent solid 0.15 noborder lc rgb cond_color(c), \
             '' using 1:3:5 with filledcurves fs transparent solid 0.4 noborder lc rgb cond_color(c), \
             '' using 1:4 with linespoints lw 2 pt 7 ps 0.4 lc rgb cond_color(c)
    }
}
unset multiplot
set output

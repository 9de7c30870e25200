# Histograms of phase A against phase B at chosen layers (DESIGN §2: counts
# pooled over each phase's batches on bins fixed by phase A's first batch,
# shared by A and B). A row per condition, a column per layer; one run per
# condition (one activation and seed). Densities (count / all of the
# phase's values / bin width), so that phases of different lengths
# compare; the share of each phase outside the bins is printed.
#   gnuplot -c scripts/plots/histograms.gp db=results/quickstart.db out=histograms.png
# Options (key=value): layers (default first, middle and last), site (default norm:
# what the activation function receives, BN's output or h without norm),
# activation, seed, and common.gp's filters.
here(p) = strstrt(p, "/") == 0 ? "" : p[1:strstrt(p, "/")] . here(p[strstrt(p, "/") + 1:])
options = "layers site activation seed"
# load clears ARGV: common.gp reads the options from script_args.
array script_args[9]
do for [i = 1:ARGC] { script_args[i] = ARGV[i] }
script_argc = ARGC
# "./" keeps a directory named "<..." from being read as a command (load "<cmd").
load (ARG0[1:1] eq "<" ? "./" : "") . here(ARG0) . "common.gp"

if (!exists("site")) { site = "norm" }

ml = 1.55; mr = 0.3; mt = 1.45; mb = 1.6; gx = 1.3; gy = 1.35
W = fig_width(4.8 * nlayers + ml + mr + gx * (nlayers - 1))
mb = 1.15 + legend_h(2)  # slanted tic labels take more room
mt = title_margin(W)
H = 2.3 * nconds + mt + mb + gy * (nconds - 1)
eval set_term(W, H)
set output out_file

set multiplot title figure_title(sprintf("histograms of the %s values, phase A against phase B", site), \
                                         sprintf("%s, seed %d; densities on the bins A and B share", activation, seed))
unset key
set style fill transparent solid 0.45 noborder
# Narrow ranges deep in a stack without norm need short, slanted tick labels.
set format x "%.2g"
set xtics rotate by 30 right

# Bins 0 .. bins-1 only; bin -1 and bin = bins are under- and overflow.
# The run is selected by where1 over run_params' columns, as a subquery.
hist_from = "FROM histograms h JOIN run_params p ON p.run_id = h.run_id"
hist_runs = "p.run_id IN (SELECT run_id FROM run_params WHERE " . where1 . ")"
q(c, l, ph) = sprintf("SELECT (h.lo + h.hi) / 2, h.count * 1.0 / (SELECT sum(count) FROM histograms t " . \
                      "WHERE t.run_id = h.run_id AND t.phase = h.phase AND t.layer = h.layer AND t.site = h.site) " . \
                      "/ (h.hi - h.lo) AS m %s WHERE %s AND p.condition = %s AND h.layer = %d AND h.site = %s " . \
                      "AND h.phase = '%s' AND h.bin >= 0 AND h.bin < p.bins ORDER BY h.bin", \
                      hist_from, hist_runs, cq(c), l, sqlq(site), ph)
outside(c, l, ph) = real(sql(sprintf("SELECT 100.0 * total(CASE WHEN h.bin < 0 OR h.bin >= p.bins " . \
                      "THEN h.count END) / total(h.count) %s WHERE %s AND p.condition = %s AND h.layer = %d " . \
                      "AND h.site = %s AND h.phase = '%s'", \
                      hist_from, hist_runs, cq(c), l, sqlq(site), ph)))
# The largest finite density of a panel, 0 when none is above 0.
top(c, l) = real(sql("SELECT coalesce(max(m), 0) FROM (SELECT m FROM (" . q(c, l, "A") . ") UNION ALL " . \
                     "SELECT m FROM (" . q(c, l, "B") . ")) WHERE " . fin("m")))
# A diverged run's note sits under the share outside the bins.
div_y = 0.6
# A share of no values at all (a diverged layer) is n/a.
pct(x) = x == x ? sprintf("%.0f%%", x) : "n/a"

do for [ic = 1:nconds] {
    c = word(conds, ic)
    L = any_diverged ? div_from(where1 . " AND condition = " . cq(c)) : 0
    do for [il = 1:nlayers] {
        l = int(word(layers, il))
        eval set_panel(ic, il, nconds, nlayers)
        set title sprintf("%s, layer %d", cond_title(c), l)
        if (il == 1) { set ylabel "density" } else { unset ylabel }
        if (ic == nconds) { set xlabel site . " value" } else { unset xlabel }
        set label 3 sprintf("outside bins:\nA %s, B %s", pct(outside(c, l, "A")), pct(outside(c, l, "B"))) \
            at graph 0.02, graph 0.9 left front
        eval div_clear
        if (L > 0) {
            div_text = sprintf("run diverged from layer %d", L)
            div_color = cond_color(c)
            eval div_label(1)
        }
        # Each phase when it has a finite density; a fixed range when all
        # are 0 (every value outside the bins), which gnuplot cannot scale.
        na = n_fin(q(c, l, "A")) > 0
        nb = n_fin(q(c, l, "B")) > 0
        if (na + nb == 0) {
            eval empty_panel
            set label 49 "no finite values" at graph 0.5, graph 0.35 center front
            plot 1/0 notitle
            unset label 49
            continue
        }
        if (top(c, l) > 0) { set autoscale y } else { set yrange [0:1] }
        plot for [k = 1:na] srcq(q(c, l, "A")) using 1:2 with boxes lc rgb phase_a_color, \
             for [k = 1:nb] srcq(q(c, l, "B")) using 1:2 with histeps lw 2 lc rgb cond_color(c)
    }
}
unset label 3
eval legend_strip(2)
plot 2 with boxes lc rgb phase_a_color title "phase A", \
     2 with histeps lw 2 lc rgb '#000000' title "phase B (line in the colour of the row's condition)"
unset multiplot
set output

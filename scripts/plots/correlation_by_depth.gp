# The correlation of two inputs by depth (docs/design.md §9): the mean-field
# map c^l (table meanfield, site pre, or post with site=post), phase B solid
# and phase A dashed, a panel per activation, a curve per condition; where
# layer_stats has a measured column corr_mean (the mean cosine similarity of
# the batch's rows), its mean over steps and seeds is drawn as points in
# the condition's colour. Without it the figure is the theory alone.
#   gnuplot -c scripts/plots/correlation_by_depth.gp db=results/x.db out=correlation_by_depth.png
# Options (key=value): site (default pre), and common.gp's filters.
here(p) = strstrt(p, "/") == 0 ? "" : p[1:strstrt(p, "/")] . here(p[strstrt(p, "/") + 1:])
options = "site"
array script_args[9]
do for [i = 1:ARGC] { script_args[i] = ARGV[i] }
script_argc = ARGC
load (ARG0[1:1] eq "<" ? "./" : "") . here(ARG0) . "common.gp"

if (!exists("site")) { site = "pre" }
if (site ne "pre" && site ne "post") { exit error sprintf("site must be pre or post, got '%s'", site) }
if (sql("SELECT count(*) FROM sqlite_master WHERE name = 'meanfield_by_run'") ne "1") {
    exit error sprintf("database '%s' has no mean-field predictions (table meanfield): written by covshift run from this version on", db)
}
col = site eq "post" ? "c_post" : "c"
measured = sql("SELECT count(*) FROM pragma_table_info('layer_stats') WHERE name = 'corr_mean'") eq "1"

ml = 1.6; mr = 0.3; mt = 1.45; mb = 1.75; gx = 1.5; gy = 1.3
W = fig_width(5.0 * nacts + ml + mr + gx * (nacts - 1))
mb = 0.95 + legend_h(nconds + 3)
mt = title_margin(W)
H = 3.6 + mt + mb
eval set_term(W, H)
set output out_file
set multiplot title figure_title(sprintf("correlation of two inputs at site %s by depth", site), \
    measured ? "mean-field map c^l: phase B solid, A dashed; points: measured mean cosine similarity of the batch's rows" \
             : "mean-field map c^l: phase B solid, phase A dashed (no measured correlation in this database)")
eval int_tics(maxdepth)
set xrange [0:maxdepth]
set yrange [*:1.02]
set xlabel "layer (0 = input)"
set ylabel sprintf("c at site %s", site)
unset key

tq(a, c, ph) = sprintf("SELECT layer, avg(%s) AS m FROM meanfield_by_run WHERE %s AND activation = %s " . \
                       "AND condition = %s AND phase = '%s' AND %s IS NOT NULL GROUP BY layer ORDER BY layer", \
                       col, wherer, sqlq(a), cq(c), ph, col)
# From layer_stats itself, not its view: the column may be newer than the view.
mq(a, c, ph) = sprintf("SELECT layer, avg(v) AS m FROM (SELECT run_id, layer, avg(corr_mean) AS v FROM layer_stats " . \
                       "WHERE run_id IN (SELECT run_id FROM run_params WHERE %s AND activation = %s AND condition = %s) " . \
                       "AND site = %s AND phase = '%s' GROUP BY run_id, layer) GROUP BY layer ORDER BY layer", \
                       wherer, sqlq(a), cq(c), sqlq(site), ph)

do for [ia = 1:nacts] {
    a = word(acts, ia)
    eval set_panel(1, ia, 1, nacts)
    set title a
    ct = ""
    do for [c in conds] { if (n_fin(tq(a, c, "B")) > 0) { ct = ct . " " . c } }
    if (words(ct) == 0) {
        eval empty_panel
        set label 49 "no mean-field rows (normalised or diverged runs)" at graph 0.5, graph 0.5 center front
        plot 1/0 notitle
        unset label 49
        continue
    }
    if (measured) {
        plot for [c in ct] srcq(tq(a, c, "B")) using 1:2 with lines lw 2 lc rgb cond_color(c) notitle, \
             for [c in ct] srcq(tq(a, c, "A")) using 1:2 with lines lw 1.5 dt 2 lc rgb cond_color(c) notitle, \
             for [c in ct] srcq(mq(a, c, "B")) using 1:2 with points pt 7 ps 0.8 lc rgb cond_color(c) notitle, \
             for [c in ct] srcq(mq(a, c, "A")) using 1:2 with points pt 6 ps 0.8 lc rgb cond_color(c) notitle
    } else {
        plot for [c in ct] srcq(tq(a, c, "B")) using 1:2 with lines lw 2 lc rgb cond_color(c) notitle, \
             for [c in ct] srcq(tq(a, c, "A")) using 1:2 with lines lw 1.5 dt 2 lc rgb cond_color(c) notitle
    }
}

eval legend_strip(nconds + 3)
if (measured) {
    plot for [c in conds] 2 with lines lw 2 lc rgb cond_color(c) title cond_label(c), \
         2 with lines lw 1.5 dt 2 lc rgb '#000000' title "theory, phase A (dashed)", \
         2 with points pt 7 ps 0.8 lc rgb '#000000' title "measured, B", \
         2 with points pt 6 ps 0.8 lc rgb '#000000' title "measured, A"
} else {
    plot for [c in conds] 2 with lines lw 2 lc rgb cond_color(c) title cond_label(c), \
         2 with lines lw 1.5 dt 2 lc rgb '#000000' title "theory, phase A (dashed)"
}
unset multiplot
set output

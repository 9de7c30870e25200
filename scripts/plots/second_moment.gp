# The second moment of the pre-activations by depth (DESIGN §1 site pre,
# §2 var): a panel per activation, a curve per condition; phase B solid
# with a min–max band over seeds, phase A dashed. Each run's var is first
# averaged over the steps of the phase. A log y axis when the values span
# more than two decades (a signal that explodes or vanishes with depth).
#   gnuplot -c scripts/plots/second_moment.gp db=results/quickstart.db out=second_moment.png
# Options (key=value): site (default pre), metric = var | var_within | mean_spread
# (default var), and common.gp's filters.
here(p) = strstrt(p, "/") == 0 ? "" : p[1:strstrt(p, "/")] . here(p[strstrt(p, "/") + 1:])
options = "site metric"
# load clears ARGV: common.gp reads the options from script_args.
array script_args[9]
do for [i = 1:ARGC] { script_args[i] = ARGV[i] }
script_argc = ARGC
# "./" keeps a directory named "<..." from being read as a command (load "<cmd").
load (ARG0[1:1] eq "<" ? "./" : "") . here(ARG0) . "common.gp"

if (!exists("site")) { site = "pre" }
if (!exists("metric")) { metric = "var" }
if (strstrt(metric, " ") > 0 || strstrt(" var var_within mean_spread ", " " . metric . " ") == 0) {
    exit error sprintf("metric must be var, var_within or mean_spread, got '%s'", metric)
}

ml = 1.6; mr = 0.3; mt = 1.45; mb = 1.75; gx = 1.5; gy = 1.3
W = fig_width(5.0 * nacts + ml + mr + gx * (nacts - 1))
mb = 0.95 + legend_h(nconds + 3)
mt = title_margin(W)
H = 3.6 + mt + mb
eval set_term(W, H)
set output out_file

set multiplot title figure_title(sprintf("%s at site %s by depth", metric, site), "phase B solid: mean over seeds, band min to max; phase A dashed")
# Layer 0 is the input, recorded at site post only (DESIGN §1).
eval int_tics(maxdepth)
set xrange [(site eq "post" ? 0 : 1):maxdepth]
set xlabel site eq "post" ? "layer (0 = input)" : "layer"
set ylabel sprintf("%s of the %s values", metric, site)
unset key

# Mean-field theory (docs/design.md §9, table meanfield): q at site pre,
# q_post at post, for runs without normalisation; drawn for metric var only
# (E h^2 of the theory against the variance of all entries, whose mean is
# ~0 at pre) and only where the database has the table.
has_mf = sql("SELECT count(*) FROM sqlite_master WHERE name = 'meanfield_by_run'") eq "1" && metric eq "var"
mf_col = site eq "post" ? "q_post" : "q"
tq(a, c, ph) = sprintf("SELECT layer, avg(%s) AS m FROM meanfield_by_run WHERE %s AND activation = %s " . \
                       "AND condition = %s AND phase = '%s' AND layer >= %d AND %s IS NOT NULL GROUP BY layer ORDER BY layer", \
                       mf_col, wherer, sqlq(a), cq(c), ph, site eq "post" ? 0 : 1, mf_col)
n_theory = 0
if (has_mf) { n_theory = int(sql(sprintf("SELECT count(*) FROM meanfield_by_run WHERE %s AND %s IS NOT NULL", wherer, mf_col))) }

# Per (activation, condition, phase): layer, mean (m), min, max over seeds
# of the run's mean over steps.
q(a, c, ph) = sprintf("SELECT layer, avg(v) AS m, min(v), max(v) FROM (SELECT run_id, layer, avg(%s) AS v " . \
                      "FROM layer_stats_by_run WHERE %s AND activation = %s AND condition = %s AND site = %s " . \
                      "AND phase = '%s' GROUP BY run_id, layer) GROUP BY layer ORDER BY layer", \
                      metric, where, sqlq(a), cq(c), sqlq(site), ph)
span(a) = real(sql(sprintf("SELECT coalesce(max(%s) / min(%s), 1) FROM layer_stats_by_run WHERE %s " . \
                           "AND activation = %s AND site = %s AND %s > 0 AND %s", \
                           metric, metric, where, sqlq(a), sqlq(site), metric, fin(metric))))

do for [ia = 1:nacts] {
    a = word(acts, ia)
    eval set_panel(1, ia, 1, nacts)
    set title a
    if (span(a) > 100) { set logscale y; set format y log_format } else { unset logscale y; set format y "%g" }
    set autoscale y
    # The curves with a finite point, and a note per condition that diverged.
    cb = ""
    ca = ""
    do for [c in conds] {
        if (n_fin(q(a, c, "B")) > 0) { cb = cb . " " . c }
        if (n_fin(q(a, c, "A")) > 0) { ca = ca . " " . c }
    }
    # The conditions whose runs diverged, as words "index in conds:layer".
    da = ""
    if (any_diverged) {
        do for [ic = 1:nconds] {
            L = div_from(where . " AND activation = " . sqlq(a) . " AND condition = " . cq(word(conds, ic)))
            if (L > 0) { da = da . sprintf(" %d:%d", ic, L) }
        }
    }
    eval div_clear
    if (div_every(da)) { div_text = "runs diverged at layer " . div_L(word(da, 1)); eval div_label(1) }
    if (!div_every(da)) { do for [k = 1:imin(words(da), 8)] {
        div_text = div_note(word(da, k)); div_color = cond_color(div_c(word(da, k))); eval div_label(k)
    } }
    div_color = '#000000'
    if (words(cb) + words(ca) == 0) {
        eval empty_panel
        set label 49 "no finite values" at graph 0.5, graph 0.4 center front
        plot 1/0 notitle
        unset label 49
        continue
    }
    # gnuplot reads the source of a loop over an empty list (and scales
    # the axes to it): a phase without curves is left out of the command.
    # The conditions with theory rows in this panel.
    ct = ""
    if (n_theory > 0) { do for [c in conds] { if (n_fin(tq(a, c, "B")) > 0) { ct = ct . " " . c } } }
    if (words(cb) > 0 && words(ca) > 0 && words(ct) > 0) {
        plot for [c in cb] srcq(q(a, c, "B")) using 1:3:4 with filledcurves lc rgb cond_color(c) notitle, \
             for [c in cb] srcq(q(a, c, "B")) using 1:2 with linespoints lw 2 pt cond_pt(c) ps cond_ps(c) lc rgb cond_color(c) notitle, \
             for [c in ca] srcq(q(a, c, "A")) using 1:2 with lines lw 1.5 dt 2 lc rgb cond_color(c) notitle, \
             for [c in ct] srcq(tq(a, c, "B")) using 1:2 with lines lw 1.2 dt (10,5) lc rgb '#000000' notitle, \
             for [c in ct] srcq(tq(a, c, "A")) using 1:2 with lines lw 1.2 dt (10,5) lc rgb '#7f7f7f' notitle
    }
    if (words(cb) > 0 && words(ca) > 0 && words(ct) == 0) {
        plot for [c in cb] srcq(q(a, c, "B")) using 1:3:4 with filledcurves lc rgb cond_color(c) notitle, \
             for [c in cb] srcq(q(a, c, "B")) using 1:2 with linespoints lw 2 pt cond_pt(c) ps cond_ps(c) lc rgb cond_color(c) notitle, \
             for [c in ca] srcq(q(a, c, "A")) using 1:2 with lines lw 1.5 dt 2 lc rgb cond_color(c) notitle
    }
    if (words(cb) > 0 && words(ca) == 0) {
        plot for [c in cb] srcq(q(a, c, "B")) using 1:3:4 with filledcurves lc rgb cond_color(c) notitle, \
             for [c in cb] srcq(q(a, c, "B")) using 1:2 with linespoints lw 2 pt cond_pt(c) ps cond_ps(c) lc rgb cond_color(c) notitle
    }
    if (words(cb) == 0) {
        plot for [c in ca] srcq(q(a, c, "A")) using 1:2 with lines lw 1.5 dt 2 lc rgb cond_color(c) notitle
    }
}
if (n_theory > 0) {
    eval legend_strip(nconds + 3)
    plot for [c in conds] 2 with linespoints lw 2 pt cond_pt(c) ps cond_ps(c) lc rgb cond_color(c) title cond_label(c), \
         2 with lines lw 1.5 dt 2 lc rgb '#000000' title "phase A (dashed)", \
         2 with lines lw 1.2 dt (10,5) lc rgb '#000000' title "mean-field theory, B", \
         2 with lines lw 1.2 dt (10,5) lc rgb '#7f7f7f' title "theory, A"
} else {
    eval legend_strip(nconds + 1)
    plot for [c in conds] 2 with linespoints lw 2 pt cond_pt(c) ps cond_ps(c) lc rgb cond_color(c) title cond_label(c), \
         2 with lines lw 1.5 dt 2 lc rgb '#000000' title "phase A (dashed)"
}
unset multiplot
set output

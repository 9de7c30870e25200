# The correlation of two inputs by depth (docs/design.md §9): the mean-field
# map c^l (table meanfield, site pre, or post with site=post), phase B solid
# and phase A dashed, a panel per activation, a curve per condition (the
# mean over the runs' rows); where layer_stats has a measured column
# corr_mean (the mean cosine similarity of the batch's rows), each run's
# mean over a phase's steps, averaged over seeds, is drawn as points in the
# curve's colour, filled for B and open for A. Without it the figure is the
# theory alone. A key that varies is shaded in each condition's colour or
# held at one value the title names (common.gp, roles "layer"; dashes here
# mean phase A).
#   gnuplot -c scripts/plots/correlation_by_depth.gp db=results/x.db out=correlation_by_depth.png
# Options (key=value): site (default pre), activation (one or several,
# default all), and common.gp's filters.
here(p) = strstrt(p, "/") == 0 ? "" : p[1:strstrt(p, "/")] . here(p[strstrt(p, "/") + 1:])
options = "site activation"
fig_kind = "layer"
no_dash = 1
# load clears ARGV: common.gp reads the options from script_args.
array script_args[9]
do for [i = 1:ARGC] { script_args[i] = ARGV[i] }
script_argc = ARGC
# "./" keeps a directory named "<..." from being read as a command (load "<cmd").
load (ARG0[1:1] eq "<" ? "./" : "") . here(ARG0) . "common.gp"

if (!exists("site")) { site = "pre" }
if (site ne "pre" && site ne "post") { exit error sprintf("site must be pre or post, got '%s'", site) }
if (sql("SELECT count(*) FROM sqlite_master WHERE name = 'meanfield'") ne "1") {
    exit error sprintf("database '%s' has no mean-field predictions (table meanfield): written by covshift run from this version on", db)
}
tcol = site eq "post" ? "c_post" : "c"
measured = sql("SELECT count(*) FROM pragma_table_info('layer_stats') WHERE name = 'corr_mean'") eq "1"

# ---- the data: one block per (activation, condition, shade) ----
# Per run, layer and phase the theory t (one row of meanfield) and the
# measured v (the mean of corr_mean over the phase's steps, from layer_stats
# itself: the column may be newer than its view; NULL at site pre's layer 0,
# the input, which is recorded at post only).
gsh = shade_i ? ", " . sk_name(shade_i) : ""
g = "activation, condition" . gsh
gt = "activation, " . cond_tok . (shade_i ? ", " . tok_expr(sk_name(shade_i)) : "")
go = "activation, " . cond_rank . gsh
mv = measured ? "(SELECT avg(s.corr_mean) FROM layer_stats s WHERE s.run_id = m.run_id AND s.phase = m.phase " . \
                "AND s.layer = m.layer AND s.site = " . sqlq(site) . ")" : "NULL"
src = "(SELECT run_id, " . g . ", m.layer AS layer, m.phase AS phase, m." . tcol . " AS t, " . mv . " AS v " . \
      "FROM meanfield m JOIN run_params USING (run_id) WHERE " . where . ")"
ys = "avg(CASE WHEN phase = 'B' THEN t END) AS y1, avg(CASE WHEN phase = 'A' THEN t END) AS y2, " . \
     "avg(CASE WHEN phase = 'B' THEN v END) AS y3, avg(CASE WHEN phase = 'A' THEN v END) AS y4"
ex = sprintf("total(phase = 'B' AND %s), total(phase = 'A' AND %s), total(phase = 'B' AND %s), " . \
             "total(phase = 'A' AND %s), coalesce(min(CASE WHEN %s THEN min(t, coalesce(v, t)) END), 0)", \
             fin("t"), fin("t"), fin("v"), fin("v"), fin("t"))
glist = sql(groups_q(src, "1", g, gt, go, ex))
nf = 2 + (shade_i ? 1 : 0) + 5
ngroups = words(glist) / nf
gw(k, f) = word(glist, (k - 1) * nf + f)
g_act(k) = gw(k, 1)
g_cond(k) = gw(k, 2)
g_shade(k) = shade_i ? val_rank(shade_i, gw(k, 3)) : 1
g_tb(k) = int(gw(k, nf - 4))
g_ta(k) = int(gw(k, nf - 3))
g_mb(k) = int(gw(k, nf - 2))
g_ma(k) = int(gw(k, nf - 1))
g_lo(k) = real(gw(k, nf))
g_color(k) = shade_color(cond_rgb(g_cond(k)), g_shade(k), n_shade)
g_words(k) = sprintf("activation=%s condition=%s", g_act(k), g_cond(k)) . \
             (shade_i ? sprintf(" %s=%s", sk_name(shade_i), gw(k, 3)) : "")
dq = curves_q(src, "1", g, go, "layer", ys)
eval fetch_d
eval index_d
any_measured = 0
do for [k = 1:ngroups] { if (g_mb(k) + g_ma(k) > 0) { any_measured = 1 } }

# ---- layout: a panel per activation, 3 to a row ----
ncols = imin(nacts, 3)
nrows = (nacts + ncols - 1) / ncols
# The conditions with mean-field rows (runs without normalisation), then
# the shades, the phases and the measured points.
do for [c in conds] {
    has_c = 0
    do for [k = 1:ngroups] { if (g_cond(k) eq c) { has_c = 1 } }
    if (has_c) { lg_c = cond_color(c); lg_dt = 1; lg_pt = 0; lg_t = cond_label(c); eval leg_line }
}
eval leg_keys
# The lines are the theory (the title says so): a legend entry for phase
# A's dashes, then the measured points.
lg_c = '#000000'; lg_dt = 2; lg_pt = 0; lg_t = "theory, phase A"
eval leg_line
# A point without a line: the legend's 'point' kind (common.gp's leg_cmd).
leg_point = "leg_n = leg_n + 1; leg_kind[leg_n] = 'point'; leg_color[leg_n] = lg_c; leg_dt[leg_n] = 1; " . \
            "leg_pt[leg_n] = lg_pt; leg_text[leg_n] = enh(lg_t); leg_maxlen = imax(leg_maxlen, strlen(lg_t))"
if (any_measured) {
    lg_pt = 7; lg_t = "measured, B"
    eval leg_point
    lg_pt = 6; lg_t = "measured, A"
    eval leg_point
}
tt = figure_title(sprintf("correlation of two inputs at site %s by depth", site), \
    any_measured ? "lines: mean-field map c^{l} (B solid, A dashed); points: measured mean cosine similarity of the batch's rows" . \
                   (nseeds >= 2 ? sprintf(", mean over %d seeds", nseeds) : "") \
                 : "mean-field map c^{l}: phase B solid, phase A dashed (no measured correlation in this database)")
ml = 0.7; mr = 0.2; gx = 0.6; gy = 0.55
mt = title_h(tt) + 0.36
mb = 0.52 + legend_h(leg_n)
H = mt + nrows * 1.9 + (nrows - 1) * gy + mb
legend_top = H - legend_h(leg_n)
eval set_term(W, H)
set output out_file
set multiplot title tt @title_font
eval int_tics(maxdepth, pw(ncols))
set xrange [0:maxdepth > 0 ? maxdepth : 1]
unset key

do for [ia = 1:nacts] {
    a = word(acts, ia)
    r = (ia - 1) / ncols + 1
    col = (ia - 1) % ncols + 1
    eval set_panel(r, col, nrows, ncols)
    set title (enh(a))
    if (col == 1) { set ylabel sprintf("c at site %s", site) } else { unset ylabel }
    if (r == nrows || ia + ncols > nacts) { set xlabel "layer (0 = input)" } else { unset xlabel }
    tb = ""; ta = ""; mb_k = ""; ma_k = ""
    lo = 0
    do for [k = 1:ngroups] {
        if (g_act(k) eq a) {
            if (g_tb(k) > 0) { tb = tb . " " . k }
            if (g_ta(k) > 0) { ta = ta . " " . k }
            if (g_mb(k) > 0) { mb_k = mb_k . " " . k }
            if (g_ma(k) > 0) { ma_k = ma_k . " " . k }
            lo = g_lo(k) < lo ? g_lo(k) : lo
        }
    }
    da = any_diverged ? div_words(a) : ""
    eval div_notes
    if (words(tb) + words(ta) == 0) {
        eval empty_panel
        set label 49 "no mean-field rows (normalised or diverged runs)" at graph 0.5, graph 0.4 center front
        plot 1/0 notitle
        unset label 49
        continue
    }
    # A correlation is at most 1; below, room down to the smallest value.
    y0 = lo < 0 ? -ceil(-lo * 10 + 0.5) / 10.0 : 0
    set yrange [y0:1.05]
    set ytics nice_near(1.05 - y0, floor(ph(nrows) / 0.3))
    set format y '%g'
    # gnuplot reads the source of a loop over an empty list (and scales
    # the axes to it): a loop without curves is left out of the command,
    # built from the script's own text (eval: a macro in a loop is expanded before the loop runs).
    pl = ""
    if (words(tb) > 0) { pl = pl . ", for [k in tb] $d index (int(k) - 1) using 1:2 with lines lw 1.6 lc rgb g_color(int(k)) notitle" }
    if (words(ta) > 0) { pl = pl . ", for [k in ta] $d index (int(k) - 1) using 1:3 with lines lw 1.2 dt 2 lc rgb g_color(int(k)) notitle" }
    if (words(mb_k) > 0) { pl = pl . ", for [k in mb_k] $d index (int(k) - 1) using 1:4 with points pt 7 ps 0.7 lc rgb g_color(int(k)) notitle" }
    if (words(ma_k) > 0) { pl = pl . ", for [k in ma_k] $d index (int(k) - 1) using 1:5 with points pt 6 ps 0.8 lc rgb g_color(int(k)) notitle" }
    pl = pl[3:]
    eval "plot " . pl
    if (data_on) {
        do for [dump_k = 1:ngroups] {
            if (g_act(dump_k) ne a || g_tb(dump_k) + g_ta(dump_k) == 0) { continue }
            dump_words = sprintf("# panel activation=%s; curve %s; columns layer theory_B theory_A measured_B measured_A", \
                                 a, g_words(dump_k))
            dump_cols = "1 2 3 4 5"
            eval dump_curve
        }
    }
}
eval legend_draw(leg_n)
unset multiplot
set output

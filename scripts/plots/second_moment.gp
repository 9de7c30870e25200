# The second moment of the pre-activations by depth (docs/design.md §1 site pre,
# §2 var): a panel per activation, a curve per condition; phase B solid
# with a min–max band over seeds (when there are two or more), phase A
# dashed. Each run's var is first averaged over the steps of the phase. A
# log y axis when the values span more than two decades (a signal that
# explodes or vanishes with depth). A key that varies is shaded in each
# condition's colour or held at one value the title names (common.gp,
# roles "layer"; dashes here mean phase A).
#   gnuplot -c scripts/plots/second_moment.gp db=results/quickstart.db out=second_moment.png
# Options (key=value): site (default pre), metric = var | var_within | mean_spread
# (default var), activation (one or several, default all), and common.gp's filters.
here(p) = strstrt(p, "/") == 0 ? "" : p[1:strstrt(p, "/")] . here(p[strstrt(p, "/") + 1:])
options = "site metric activation"
fig_kind = "layer"
no_dash = 1
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

# ---- the data: one block per (activation, condition, shade) ----
# Per run, layer and phase the mean over the phase's steps (v); per group
# and layer the mean, min and max over runs of phase B's, the mean of A's.
gsh = shade_i ? ", " . sk_name(shade_i) : ""
g = "activation, condition" . gsh
gt = "activation, " . cond_tok . (shade_i ? ", " . tok_expr(sk_name(shade_i)) : "")
go = "activation, " . cond_rank . gsh
src = "(SELECT run_id, " . g . ", layer, phase, avg(" . metric . ") AS v FROM layer_stats JOIN run_params USING (run_id) " . \
      "WHERE " . where . " AND site = " . sqlq(site) . " GROUP BY run_id, layer, phase)"
ys = "avg(CASE WHEN phase = 'B' THEN v END) AS y1, min(CASE WHEN phase = 'B' THEN v END) AS y2, " . \
     "max(CASE WHEN phase = 'B' THEN v END) AS y3, avg(CASE WHEN phase = 'A' THEN v END) AS y4"
ex = sprintf("total(phase = 'B' AND %s), total(phase = 'A' AND %s), coalesce(min(CASE WHEN v > 0 AND %s THEN v END), 0), " . \
             "coalesce(max(CASE WHEN %s THEN v END), 0)", fin("v"), fin("v"), fin("v"), fin("v"))
glist = sql(groups_q(src, "1", g, gt, go, ex))
nf = 2 + (shade_i ? 1 : 0) + 4
ngroups = words(glist) / nf
gw(k, f) = word(glist, (k - 1) * nf + f)
g_act(k) = gw(k, 1)
g_cond(k) = gw(k, 2)
g_shade(k) = shade_i ? val_rank(shade_i, gw(k, 3)) : 1
g_nb(k) = int(gw(k, nf - 3))
g_na(k) = int(gw(k, nf - 2))
g_lo(k) = real(gw(k, nf - 1))
g_hi(k) = real(gw(k, nf))
g_color(k) = shade_color(cond_rgb(g_cond(k)), g_shade(k), n_shade)
g_words(k) = sprintf("activation=%s condition=%s", g_act(k), g_cond(k)) . \
             (shade_i ? sprintf(" %s=%s", sk_name(shade_i), gw(k, 3)) : "")
dq = curves_q(src, "1", g, go, "layer", ys)
eval fetch_d
eval index_d

# ---- mean-field theory (docs/design.md §9, table meanfield) ----
# q at site pre, q_post at post, for the runs that have it (without
# normalisation), drawn for metric var only (E h^2 of the theory against
# the variance of all entries, whose mean is ~0 at pre) and only where the
# database has the table. The same groups as the measurements, in their
# own datablock $t: per group and layer the mean over runs of B's and A's.
has_mf = metric eq "var" && sql("SELECT count(*) FROM sqlite_master WHERE name = 'meanfield'") eq "1"
mf_col = site eq "post" ? "q_post" : "q"
x0 = site eq "post" ? 0 : 1
tsrc = "(SELECT run_id, " . g . ", m.layer AS layer, m.phase AS phase, m." . mf_col . " AS v " . \
       "FROM meanfield m JOIN run_params USING (run_id) WHERE " . where . sprintf(" AND m.layer >= %d)", x0)
tys = "avg(CASE WHEN phase = 'B' THEN v END) AS y1, avg(CASE WHEN phase = 'A' THEN v END) AS y2"
tex = sprintf("total(phase = 'B' AND %s), total(phase = 'A' AND %s), coalesce(min(CASE WHEN v > 0 AND %s THEN v END), 0), " . \
              "coalesce(max(CASE WHEN %s THEN v END), 0)", fin("v"), fin("v"), fin("v"), fin("v"))
tlist = has_mf ? sql(groups_q(tsrc, "1", g, gt, go, tex)) : ""
ntgroups = words(tlist) / nf
tw(k, f) = word(tlist, (k - 1) * nf + f)
t_act(k) = tw(k, 1)
t_words(k) = sprintf("activation=%s condition=%s", tw(k, 1), tw(k, 2)) . \
             (shade_i ? sprintf(" %s=%s", sk_name(shade_i), tw(k, 3)) : "")
t_nb(k) = int(tw(k, nf - 3))
t_na(k) = int(tw(k, nf - 2))
t_lo(k) = real(tw(k, nf - 1))
t_hi(k) = real(tw(k, nf))
n_theory = 0
do for [k = 1:ntgroups] { n_theory = n_theory + t_nb(k) + t_na(k) }
if (n_theory > 0) {
    tq = curves_q(tsrc, "1", g, go, "layer", tys)
    set print $t
    print sql(tq)
    unset print
    # blk_from of $t, for the data dump (index_d reads $d).
    array tblk_from[|$t| + 2]
    tblk_n = 0; tblk_blank = 2
    do for [i = 1:|$t|] {
        if ($t[i] eq '') { tblk_blank = tblk_blank + 1 } else {
            if (tblk_blank >= 2) { tblk_n = tblk_n + 1; tblk_from[tblk_n] = i }
            tblk_blank = 0
        }
    }
}

# ---- layout: a panel per activation, 3 to a row ----
ncols = imin(nacts, 3)
nrows = (nacts + ncols - 1) / ncols
eval leg_conditions
eval leg_keys
lg_c = '#000000'; lg_dt = 2; lg_pt = 0; lg_t = "phase A (dashed)"
eval leg_line
# Thin long dashes (dash type 11, the legend's too), black for B and grey for A, whatever the condition:
# the theory is the same for every shade of a condition without norm.
set dashtype 11 (24, 8)
if (n_theory > 0) {
    lg_c = '#000000'; lg_dt = 11; lg_pt = 0; lg_t = "mean-field theory, B"
    eval leg_line
    lg_c = '#7f7f7f'; lg_t = "theory, A"
    eval leg_line
}
tt = figure_title(sprintf("%s at site %s by layer (each run's mean over a phase's steps)", enh(metric), site), \
                  "phase B solid" . (nseeds >= 2 ? sprintf(": mean over %d seeds, band min to max", nseeds) : ", one seed") . \
                  "; phase A dashed" . (n_theory > 0 ? "; mean-field theory long-dashed (no norm)" : ""))
ml = 0.7; mr = 0.2; gx = 0.6; gy = 0.55
mt = title_h(tt) + 0.36
mb = 0.52 + legend_h(leg_n)
H = mt + nrows * 1.9 + (nrows - 1) * gy + mb
legend_top = H - legend_h(leg_n)
eval set_term(W, H)
set output out_file
set multiplot title tt @title_font
# Layer 0 is the input, recorded at site post only (docs/design.md §1): x0 above.
eval int_tics(maxdepth - x0, pw(ncols))
set xrange [x0:maxdepth > x0 ? maxdepth : x0 + 1]
# Past 40 layers, lines without points (a macro of the script's own text).
lstyle = maxdepth + 1 > 40 ? "lines" : "linespoints pt cond_pt(g_cond(int(k))) ps cond_ps(g_cond(int(k)))"
unset key

do for [ia = 1:nacts] {
    a = word(acts, ia)
    r = (ia - 1) / ncols + 1
    col = (ia - 1) % ncols + 1
    eval set_panel(r, col, nrows, ncols)
    set title (enh(a))
    if (col == 1) { set ylabel (enh(sprintf("%s of the %s values", metric, site))) } else { unset ylabel }
    if (r == nrows || ia + ncols > nacts) { set xlabel site eq "post" ? "layer (0 = input)" : "layer" } else { unset xlabel }
    cb = ""
    ca = ""
    lo = 0; hi = 0
    do for [k = 1:ngroups] {
        if (g_act(k) eq a) {
            if (g_nb(k) > 0) { cb = cb . " " . k }
            if (g_na(k) > 0) { ca = ca . " " . k }
            lo = (lo == 0 || (g_lo(k) > 0 && g_lo(k) < lo)) ? g_lo(k) : lo
            hi = g_hi(k) > hi ? g_hi(k) : hi
        }
    }
    tb = ""
    ta = ""
    do for [k = 1:ntgroups] {
        if (t_act(k) eq a) {
            if (t_nb(k) > 0) { tb = tb . " " . k }
            if (t_na(k) > 0) { ta = ta . " " . k }
            lo = (lo == 0 || (t_lo(k) > 0 && t_lo(k) < lo)) ? t_lo(k) : lo
            hi = t_hi(k) > hi ? t_hi(k) : hi
        }
    }
    eval y_axis0(lo, hi, ph(nrows))
    da = any_diverged ? div_words(a) : ""
    eval div_notes
    if (words(cb) + words(ca) == 0) {
        eval empty_panel
        set label 49 "no finite values" at graph 0.5, graph 0.4 center front
        plot 1/0 notitle
        unset label 49
        continue
    }
    # gnuplot reads the source of a loop over an empty list (and scales
    # the axes to it): a phase without curves is left out of the command.
    # One seed: the band's bounds are the line itself (nothing drawn).
    bl = nseeds >= 2 ? 3 : 2
    bh = nseeds >= 2 ? 4 : 2
    # The command is built from the script's own text (eval: a macro in a
    # loop is expanded before the loop runs).
    pl = ""
    if (words(cb) > 0) {
        pl = pl . ", for [k in cb] $d index (int(k) - 1) using 1:(column(bl)):(column(bh)) with filledcurves lc rgb g_color(int(k)) notitle" . \
                  ", for [k in cb] $d index (int(k) - 1) using 1:2 with @lstyle lw 1.6 lc rgb g_color(int(k)) notitle"
    }
    if (words(ca) > 0) { pl = pl . ", for [k in ca] $d index (int(k) - 1) using 1:5 with lines lw 1.2 dt 2 lc rgb g_color(int(k)) notitle" }
    if (words(tb) > 0) { pl = pl . ", for [k in tb] $t index (int(k) - 1) using 1:2 with lines lw 0.8 dt 11 lc rgb '#000000' notitle" }
    if (words(ta) > 0) { pl = pl . ", for [k in ta] $t index (int(k) - 1) using 1:3 with lines lw 0.8 dt 11 lc rgb '#7f7f7f' notitle" }
    eval "plot " . pl[3:]
    if (data_on) {
        do for [dump_k = 1:ngroups] {
            if (g_act(dump_k) ne a || g_nb(dump_k) + g_na(dump_k) == 0) { continue }
            dump_words = sprintf("# panel activation=%s; curve %s; columns layer B_mean B_min B_max A_mean", a, g_words(dump_k))
            dump_cols = "1 2 3 4 5"
            eval dump_curve
        }
        do for [k = 1:ntgroups] {
            if (t_act(k) ne a || t_nb(k) + t_na(k) == 0) { continue }
            set print data_file append
            print sprintf("# panel activation=%s; curve theory %s; columns layer B A", a, t_words(k))
            i = tblk_from[k]
            while (i <= |$t| && $t[i] ne '') { print word($t[i], 1) . " " . word($t[i], 2) . " " . word($t[i], 3); i = i + 1 }
            print ""
            unset print
        }
    }
}
eval legend_draw(leg_n)
unset multiplot
set output

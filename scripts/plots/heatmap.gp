# A statistic over depth and steps as a heat map (docs/design.md §2 layer_stats):
# a panel per condition, and per value of a swept key when there is room
# (common.gp, roles "run"; every other key held at one value, which the
# title names), each panel one run (one activation and seed) with its
# layer axis sized to that run's depth; one colour scale shared by the
# panels, its colour bar labelled under them, the A → B switch marked. The
# colour scale is logarithmic when the values are positive and span more
# than two decades.
#   gnuplot -c scripts/plots/heatmap.gp db=results/quickstart.db out=heatmap.png
# Options (key=value): part = K draws panels 9K-8 to 9K only (covshift
# plot splits more than 9 panels into pages), metric = any layer_stats column, e.g. mean (default), var,
# mean_spread, p50, frac_zero; site (default post); activation, seed, and
# common.gp's filters.
here(p) = strstrt(p, "/") == 0 ? "" : p[1:strstrt(p, "/")] . here(p[strstrt(p, "/") + 1:])
options = "metric site activation seed part"
fig_kind = "run"
multi_limit = 6
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
a = acts

# ---- the data: one block per (condition, panel key), rows by layer ----
# Hidden layers only: the input (layer 0, site post) is the same for every
# condition and its injected shift would set the colour scale alone,
# leaving the layers flat (seen on the quickstart).
pk = panel_i ? ", " . sk_name(panel_i) : ""
g = "condition" . pk
gt = cond_tok . (panel_i ? ", " . tok_expr(sk_name(panel_i)) : "")
go = cond_rank . pk
src = "layer_stats JOIN run_params USING (run_id)"
flt = where1 . " AND site = " . sqlq(site) . " AND layer >= 1"
ex = sprintf("total(%s), coalesce(min(CASE WHEN %s THEN %s END), 'NaN'), coalesce(max(CASE WHEN %s THEN %s END), 'NaN'), " . \
             "coalesce(min(CASE WHEN %s > 0 AND %s THEN %s END), 0), max(depth), max(step)", \
             fin(metric), fin(metric), metric, fin(metric), metric, metric, fin(metric), metric)
glist = sql(groups_q(src, flt, g, gt, go, ex))
nf = 1 + (panel_i ? 1 : 0) + 6
ngroups = words(glist) / nf
gw(k, f) = word(glist, (k - 1) * nf + f)
g_cond(k) = gw(k, 1)
g_pv(k) = panel_i ? gw(k, 2) : ""
g_n(k) = int(gw(k, nf - 5))
g_depth(k) = int(gw(k, nf - 1))
g_steps(k) = int(gw(k, nf))
# A block per group: step, layer, value, in rows of one layer (image).
dq = "SELECT step, layer, m, CASE WHEN row_number() OVER (PARTITION BY " . g . " ORDER BY layer DESC, step DESC) = 1 " . \
     "THEN char(10) || char(10) ELSE '' END FROM (SELECT " . g . ", step, layer, " . metric . " AS m FROM " . src . \
     " WHERE " . flt . ") ORDER BY " . go . ", layer, step"
eval fetch_d
eval index_d

# One colour scale for every panel, so that colours compare across panels.
# Finite values only: a diverged run's Inf would leave no scale at all.
have = 0; lo = 0; hi = 1
do for [k = 1:ngroups] {
    if (gw(k, nf - 4) ne "NaN" && gw(k, nf - 3) ne "NaN") {
        lo = have && lo < real(gw(k, nf - 4)) ? lo : real(gw(k, nf - 4))
        hi = have && hi > real(gw(k, nf - 3)) ? hi : real(gw(k, nf - 3))
        have = 1
    }
}
# One value everywhere (a layer that is constant, or all a diverged run
# left): a range around it, which gnuplot cannot make of [v:v].
if (hi <= lo) { lo = lo - 1; hi = hi + 1 }
cblog = lo > 0 && hi / lo > 100

# The panels this part draws (9 fit a page).
kfirst = part_first(ngroups, 9)
klast = part_last(ngroups, 9)
if (kfirst > klast) { exit error sprintf("part %d: the figure has %d panels, 9 to a part", part, ngroups) }
nshow = klast - kfirst + 1
ncols = nshow <= 3 ? imax(nshow, 1) : nshow == 4 ? 2 : 3
nrows = (nshow + ncols - 1) / ncols
steps_total = 0
do for [k = 1:ngroups] { steps_total = imax(steps_total, g_steps(k)) }
tt = figure_title(sprintf("%s of the %s values by layer and step (colour), %s, seed %d%s%s", enh(metric), site, enh(a), seed, \
                          nseeds > 1 ? sprintf(" (of %d)", nseeds) : "", part_words(ngroups, 9)), "dashed: the switch from A to B")
ml = 0.75; mr = 0.2; gx = 0.55; gy = 0.72
mt = title_h(tt) + 0.36
# Under the panels: the x label, then the colour bar and its label.
mb = 1.2
H = mt + nrows * (ncols == 1 ? 2.6 : 1.7) + (nrows - 1) * gy + mb
eval set_term(W, H)
set output out_file
set multiplot title tt @title_font
set xrange [-0.5:steps_total + 0.5]
eval int_tics(steps_total, pw(ncols))
set grid noxtics noytics
set tics front
eval mark_switch
unset key
set cbrange [lo:hi]
if (cblog) { set logscale cb; set format cb log_format } else { unset logscale cb; set format cb "%g" }
# viridis: perceptually uniform, readable in grey and with colour-vision deficiencies.
set palette defined (0 '#440154', 1 '#3b528b', 2 '#21918c', 3 '#5ec962', 4 '#fde725')
# Opaque pixels and colour bar (common.gp's fill is transparent, for bands).
set style fill solid 1.0 noborder
# The colour bar: horizontal under the panels, its label under it (a
# label, placed here: gnuplot's cblabel beside a user-placed bar lands on
# its tic labels).
cb_w = imin(4.0, W - 1.6)
set colorbox horizontal user origin screen (W - cb_w) / 2 / W, screen 0.42 / H size screen cb_w / W, screen 0.12 / H
set cbtics offset 0, 0.3 scale 0.6
cb_text = enh(sprintf("%s of the %s values", metric, site)) . (cblog ? " (log scale)" : "")
set label 61 (cb_text) at screen 0.5, screen 0.1 / H center front

do for [k = kfirst:klast] {
    c = g_cond(k)
    r = (k - kfirst) / ncols + 1
    col = (k - kfirst) % ncols + 1
    eval set_panel(r, col, nrows, ncols)
    # Only the first panel draws the colour bar (the scale is shared).
    if (k > kfirst) { unset colorbox; unset label 61 }
    # A diverged run says so in the title (a note inside would hide cells
    # or the A and B marks); its cells without a finite value stay white.
    L = div_at(a, c)
    ttl = cond_short(c) . (panel_i ? ", " . sk_name(panel_i) . " " . sk_disp(panel_i, g_pv(k)) : "") . \
          (L > 0 ? sprintf(", diverged from layer %d", L) : "")
    set title (enh(ttl)) textcolor rgb cond_color(c)
    # The layer axis of this run's own depth.
    d = imax(g_depth(k), 1)
    set yrange [0.5:d + 0.5]
    if (d <= 12) { set ytics 1 } else { set ytics nice_step(d, floor(ph(nrows) / 0.22)) }
    if (col == 1) { set ylabel "layer" } else { unset ylabel }
    # The x label as a label: with a horizontal colour bar gnuplot moves
    # its xlabel onto the bar.
    unset xlabel
    unset label 62
    if (r == nrows || k + ncols > klast) { set label 62 "step" at graph 0.5, graph 0 offset 0, -2.1 center front }
    if (g_n(k) == 0) {
        set label 49 "no finite values" at graph 0.5, graph 0.5 center front
        plot 1/0 notitle
        unset label 49
        continue
    }
    plot $d index (k - 1) using 1:2:3 with image
    if (data_on) {
        dump_k = k
        dump_words = sprintf("# panel condition=%s%s depth=%d; curve %s; columns step layer %s", c, \
                             panel_i ? sprintf(" %s=%s", sk_name(panel_i), g_pv(k)) : "", d, metric, metric)
        dump_cols = "1 2 3"
        eval dump_curve
    }
}
unset multiplot
set output

# Percentile bands over steps at chosen layers, as Ioffe & Szegedy (2015)
# Figure 1: p15, p50 and p85 of a layer's values at each step (docs/design.md §2
# exact quantiles), p01–p99 lighter, the A → B switch marked. One run per
# row (one activation and seed): a row per condition, and per value of a
# swept key when there is room (common.gp, roles "run"); every other key
# held at one value, which the title names. A column per layer: the
# first, middle and last of each row's own run.
#   gnuplot -c scripts/plots/percentile_bands.gp db=results/quickstart.db out=percentile_bands.png
# Options (key=value): part = K draws rows 4K-3 to 4K only (covshift plot
# splits more than 4 rows into pages), layers (default first, middle and last, e.g. '1 15 30'), site
# (default norm: what the activation function receives, BN's output or h
# without norm, as Ioffe & Szegedy's "input to a sigmoid"), activation, seed, and common.gp's filters.
here(p) = strstrt(p, "/") == 0 ? "" : p[1:strstrt(p, "/")] . here(p[strstrt(p, "/") + 1:])
options = "layers site activation seed part"
fig_kind = "run"
multi_limit = 4
# load clears ARGV: common.gp reads the options from script_args.
array script_args[9]
do for [i = 1:ARGC] { script_args[i] = ARGV[i] }
script_argc = ARGC
# "./" keeps a directory named "<..." from being read as a command (load "<cmd").
load (ARG0[1:1] eq "<" ? "./" : "") . here(ARG0) . "common.gp"

if (!exists("site")) { site = "norm" }
a = acts

# ---- the data: one block per (condition, panel key, layer) ----
pk = panel_i ? ", " . sk_name(panel_i) : ""
g = "condition" . pk . ", layer"
gt = cond_tok . (panel_i ? ", " . tok_expr(sk_name(panel_i)) : "") . ", layer"
go = cond_rank . pk . ", layer"
layer_csv = rep(layers, " ", ", ")
layer_pick = layers_given ? "layer IN (" . layer_csv . ")" : "(layer = 1 OR layer = (depth + 1) / 2 OR layer = depth)"
src = "layer_stats JOIN run_params USING (run_id)"
flt = where1 . " AND site = " . sqlq(site) . " AND " . layer_pick
ys = "min(p01) AS y1, min(p15) AS y2, min(p50) AS y3, min(p85) AS y4, min(p99) AS y5"
ex = sprintf("total(%s), coalesce(min(CASE WHEN %s THEN p01 END), 0), coalesce(max(CASE WHEN %s THEN p99 END), 0), max(step)", \
             fin("p50"), fin("p01"), fin("p99"))
glist = sql(groups_q(src, flt, g, gt, go, ex))
nf = 2 + (panel_i ? 1 : 0) + 4
ngroups = words(glist) / nf
gw(k, f) = word(glist, (k - 1) * nf + f)
g_cond(k) = gw(k, 1)
g_pv(k) = panel_i ? gw(k, 2) : ""
g_layer(k) = int(gw(k, 2 + (panel_i ? 1 : 0)))
g_n(k) = int(gw(k, nf - 3))
g_lo(k) = real(gw(k, nf - 2))
g_hi(k) = real(gw(k, nf - 1))
g_steps(k) = int(gw(k, nf))
dq = curves_q(src, flt, g, go, "step", ys)
eval fetch_d
eval index_d

# Rows: consecutive groups of one (condition, panel value); row_first[r]
# is the row's first group and row_len[r] its number of layers.
array row_first[ngroups + 1]
array row_len[ngroups + 1]
nrows = 0
do for [k = 1:ngroups] {
    if (k == 1 || g_cond(k) ne g_cond(k - 1) || g_pv(k) ne g_pv(k - 1)) {
        nrows = nrows + 1
        row_first[nrows] = k
        row_len[nrows] = 0
    }
    row_len[nrows] = row_len[nrows] + 1
}
# The rows this part draws (4 fit a page).
rfirst = part_first(nrows, 4)
rlast = part_last(nrows, 4)
if (rfirst > rlast) { exit error sprintf("part %d: the figure has %d rows, 4 to a part", part, nrows) }
pwords = part_words(nrows, 4)
ncols = 1
do for [r = 1:nrows] { ncols = imax(ncols, row_len[r]) }
steps_total = 0
do for [k = 1:ngroups] { steps_total = imax(steps_total, g_steps(k)) }

tt = figure_title(sprintf("percentiles of the %s values over steps, %s, seed %d%s%s", site, enh(a), seed, \
                          nseeds > 1 ? sprintf(" (of %d)", nseeds) : "", pwords), \
                  "line p50, bands p15 to p85 (dark) and p01 to p99 (light); dashed: the switch from A to B")
ml = 0.88; mr = 0.2; gx = 0.62; gy = 0.74
mt = title_h(tt) + 0.36
mb = 0.6
nshow = rlast - rfirst + 1
H = mt + nshow * 1.0 + (nshow - 1) * gy + mb
eval set_term(W, H)
set output out_file
set multiplot title tt @title_font
set xrange [-0.5:steps_total + 0.5]
eval int_tics(steps_total, pw(ncols))
eval mark_switch
unset key
unset ylabel
# A diverged run's note sits low, clear of the A and B marks.
div_y = 0.1

do for [rr = 1:nshow] {
    r = rfirst + rr - 1
    k0 = row_first[r]
    c = g_cond(k0)
    L = div_at(a, c)
    row_text = "{/:Bold " . enh(cond_short(c)) . "}" . (panel_i ? "\n" . enh(sk_name(panel_i) . " " . sk_disp(panel_i, g_pv(k0))) : "")
    do for [il = 1:row_len[r]] {
        k = k0 + il - 1
        l = g_layer(k)
        eval set_panel(rr, il, nshow, ncols)
        set title sprintf("layer %d", l) textcolor rgb cond_color(c)
        unset label 60
        if (il == 1) { eval row_label(rr, nshow) }
        if (rr == nshow) { set xlabel "step" } else { unset xlabel }
        set autoscale y
        set ytics autofreq
        eval div_clear
        if (L > 0 && l >= L) {
            div_text = sprintf("run diverged from layer %d", L)
            div_color = cond_color(c)
            eval div_label(1)
        }
        if (g_n(k) == 0) {
            eval empty_panel
            set label 49 "no finite values" at graph 0.5, graph 0.5 center front
            plot 1/0 notitle
            unset label 49
            continue
        }
        # Values of 1e-14 (relu's vanishing signal) are drawn in units of
        # a power of ten the panel's title names, so that the tick labels
        # stay short ("2", not "2x10^-14" across the next panel).
        sy = scale_of(abs(g_lo(k)) > abs(g_hi(k)) ? abs(g_lo(k)) : abs(g_hi(k)))
        if (sy != 1) { set title sprintf("layer %d (%s)", l, scale_words(sy)) textcolor rgb cond_color(c) }
        # A constant layer (every value the same, e.g. 0): a range around it,
        # which gnuplot would otherwise make itself, with a warning.
        if (g_lo(k) == g_hi(k)) { set yrange [g_lo(k) / sy - 1:g_lo(k) / sy + 1] }
        # Round tics that fit the panel's height.
        if (g_hi(k) > g_lo(k)) { set ytics nice_step((g_hi(k) - g_lo(k)) / sy, floor(ph(nshow) / 0.22)) }
        plot $d index (k - 1) using 1:($2 / sy):($6 / sy) with filledcurves fs transparent solid 0.15 noborder lc rgb cond_color(c), \
             '' index (k - 1) using 1:($3 / sy):($5 / sy) with filledcurves fs transparent solid 0.4 noborder lc rgb cond_color(c), \
             '' index (k - 1) using 1:($4 / sy) with linespoints lw 1.6 pt 7 ps 0.4 lc rgb cond_color(c)
        if (data_on) {
            dump_k = k
            dump_words = sprintf("# panel condition=%s%s layer=%d; curve percentiles; columns step p01 p15 p50 p85 p99", c, \
                                 panel_i ? sprintf(" %s=%s", sk_name(panel_i), g_pv(k)) : "", l)
            dump_cols = "1 2 3 4 5 6"
            eval dump_curve
        }
    }
}
unset multiplot
set output

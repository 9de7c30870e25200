# Histograms of phase A against phase B at chosen layers (docs/design.md §2: counts
# pooled over each phase's batches on bins fixed by phase A's first batch,
# shared by A and B). One run per row (one activation and seed): a row per
# condition, and per value of a swept key when there is room (common.gp,
# roles "run"); every other key held at one value, which the title names.
# A column per layer: the first, middle and last of each row's own run.
# Densities (count / all of the phase's values / bin width), so that
# phases of different lengths compare; the share of each phase outside
# the bins is printed.
#   gnuplot -c scripts/plots/histograms.gp db=results/quickstart.db out=histograms.png
# Options (key=value): part = K draws rows 4K-3 to 4K only (covshift plot
# splits more than 4 rows into pages), layers (default first, middle and last), site (default norm:
# what the activation function receives, BN's output or h without norm),
# activation, seed, and common.gp's filters.
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

# ---- the data: one block per (condition, panel key, layer, phase) ----
# Bins 0 .. bins-1 only; bin -1 and bin = bins are under- and overflow.
pk = panel_i ? ", " . sk_name(panel_i) : ""
g = "condition" . pk . ", layer, phase"
gt = cond_tok . (panel_i ? ", " . tok_expr(sk_name(panel_i)) : "") . ", layer, phase"
go = cond_rank . pk . ", layer, phase"
layer_csv = rep(layers, " ", ", ")
layer_pick = layers_given ? "layer IN (" . layer_csv . ")" : "(layer = 1 OR layer = (depth + 1) / 2 OR layer = depth)"
base = "(SELECT condition" . pk . ", layer, phase, bin, bins, lo, hi, count, " . \
       "count * 1.0 / sum(count) OVER (PARTITION BY run_id, phase, layer) / (hi - lo) AS dens " . \
       "FROM histograms JOIN run_params USING (run_id) WHERE " . where1 . " AND site = " . sqlq(site) . " AND " . layer_pick . ")"
glist = sql("SELECT " . gt . ", total(bin >= 0 AND bin < bins AND " . fin("dens") . "), " . \
            "coalesce(100.0 * total(CASE WHEN bin < 0 OR bin >= bins THEN count END) / nullif(total(count), 0), 'NaN'), " . \
            "coalesce(min(lo), 0), coalesce(max(hi), 0), coalesce(max(CASE WHEN " . fin("dens") . " THEN dens END), 0) " . \
            "FROM " . base . " GROUP BY " . g . " ORDER BY " . go)
nf = 3 + (panel_i ? 1 : 0) + 5
ngroups = words(glist) / nf
gw(k, f) = word(glist, (k - 1) * nf + f)
g_cond(k) = gw(k, 1)
g_pv(k) = panel_i ? gw(k, 2) : ""
g_layer(k) = int(gw(k, 2 + (panel_i ? 1 : 0)))
g_phase(k) = gw(k, 3 + (panel_i ? 1 : 0))
g_n(k) = int(gw(k, nf - 4))
g_out(k) = gw(k, nf - 3)
g_lo(k) = real(gw(k, nf - 2))
g_hi(k) = real(gw(k, nf - 1))
g_top(k) = real(gw(k, nf))
dq = "SELECT (lo + hi) / 2, dens, CASE WHEN row_number() OVER (PARTITION BY " . g . " ORDER BY bin DESC) = 1 " . \
     "THEN char(10) || char(10) ELSE '' END FROM " . base . " WHERE bin >= 0 AND bin < bins ORDER BY " . go . ", bin"
eval fetch_d
eval index_d

# Panels: a (condition, panel value, layer) with its A and B groups (0
# when missing); rows of one (condition, panel value).
array pan_a[ngroups + 1]
array pan_b[ngroups + 1]
array pan_row[ngroups + 1]
array pan_col[ngroups + 1]
npan = 0
nrows = 0
ncols = 1
do for [k = 1:ngroups] {
    k0 = npan > 0 ? (pan_a[npan] ? pan_a[npan] : pan_b[npan]) : 0
    if (npan == 0 || g_cond(k) ne g_cond(k0) || g_pv(k) ne g_pv(k0) || g_layer(k) != g_layer(k0)) {
        new_row = npan == 0 || g_cond(k) ne g_cond(k0) || g_pv(k) ne g_pv(k0)
        npan = npan + 1
        pan_a[npan] = 0
        pan_b[npan] = 0
        nrows = nrows + (new_row ? 1 : 0)
        pan_row[npan] = nrows
        pan_col[npan] = new_row ? 1 : pan_col[npan - 1] + 1
        ncols = imax(ncols, pan_col[npan])
    }
    if (g_phase(k) eq "A") { pan_a[npan] = k } else { pan_b[npan] = k }
}

# The rows this part draws (4 fit a page).
rfirst = part_first(nrows, 4)
rlast = part_last(nrows, 4)
if (rfirst > rlast) { exit error sprintf("part %d: the figure has %d rows, 4 to a part", part, nrows) }
nshow = rlast - rfirst + 1

lg_c = phase_a_color; lg_t = "phase A"
eval leg_box
lg_c = '#000000'; lg_dt = 1; lg_pt = 0; lg_t = "phase B (a line in the colour of the row's condition)"
eval leg_line
tt = figure_title(sprintf("histograms of the %s values, phase A against phase B, %s, seed %d%s%s", site, enh(a), seed, \
                          nseeds > 1 ? sprintf(" (of %d)", nseeds) : "", part_words(nrows, 4)), "densities on the bins A and B share; outside: the share beyond them")
ml = 0.88; mr = 0.2; gx = 0.55; gy = 0.74
mt = title_h(tt) + 0.36
mb = 0.52 + legend_h(leg_n)
H = mt + nshow * 0.95 + (nshow - 1) * gy + mb
legend_top = H - legend_h(leg_n)
eval set_term(W, H)
set output out_file
set multiplot title tt @title_font
unset key
unset ylabel
set style fill transparent solid 0.45 noborder
# A diverged run's note sits under the share outside the bins.
div_y = 0.66
# A share of no values at all (a diverged layer) is n/a.
pct(x) = x eq "NaN" ? "n/a" : sprintf("%.0f%%", real(x))

do for [p = 1:npan] {
    ka = pan_a[p]
    kb = pan_b[p]
    k0 = ka ? ka : kb
    c = g_cond(k0)
    l = g_layer(k0)
    if (pan_row[p] < rfirst || pan_row[p] > rlast) { continue }
    r = pan_row[p] - rfirst + 1
    eval set_panel(r, pan_col[p], nshow, ncols)
    set title sprintf("layer %d", l) textcolor rgb cond_color(c)
    unset label 60
    row_text = "{/:Bold " . enh(cond_short(c)) . "}" . (panel_i ? "\n" . enh(sk_name(panel_i) . " " . sk_disp(panel_i, g_pv(k0))) : "")
    if (pan_col[p] == 1) { eval row_label(r, nshow) }
    if (r == nshow) { set xlabel sprintf("%s value", site) } else { unset xlabel }
    unset ylabel
    set label 3 sprintf("outside: A %s, B %s", ka ? pct(g_out(ka)) : "n/a", kb ? pct(g_out(kb)) : "n/a") \
        at graph 0.05, graph 0.94 left front
    eval div_clear
    L = div_at(a, c)
    if (L > 0 && l >= L) {
        div_text = sprintf("run diverged from layer %d", L)
        div_color = cond_color(c)
        eval div_label(1)
    }
    na = ka && g_n(ka) > 0
    nb = kb && g_n(kb) > 0
    if (na + nb == 0) {
        eval empty_panel
        unset xtics
        set xtics autofreq
        set label 49 "no finite values" at graph 0.5, graph 0.35 center front
        plot 1/0 notitle
        unset label 49
        continue
    }
    # The bins' range, with as many round tics as fit; the density from 0
    # with room for the note at the top.
    xlo = imin(na ? g_lo(ka) : g_lo(kb), nb ? g_lo(kb) : g_lo(ka))
    xhi = imax(na ? g_hi(ka) : g_hi(kb), nb ? g_hi(kb) : g_hi(ka))
    if (xhi <= xlo) { xhi = xlo + 1 }
    top = imax(na ? g_top(ka) : 0, nb ? g_top(kb) : 0)
    top = top > 0 ? top : 1
    # Tiny or huge values (a stack without norm, deep) in units of a power of ten.
    sx = scale_of(imax(abs(xlo), abs(xhi)))
    sy = scale_of(top)
    if (sx != 1) { set title sprintf("layer %d (%s)", l, scale_words(sx)) textcolor rgb cond_color(c) }
    if (sy != 1) { set ylabel (scale_words(sy)) } else { unset ylabel }
    set xrange [xlo / sx:xhi / sx]
    # Labels as wide as the round values at the ends of the range.
    xstep = nice_step((xhi - xlo) / sx, tic_room(pw(ncols), 6))
    xchars = imax(imax(strlen(sprintf("%g", floor(xlo / sx / xstep) * xstep)), strlen(sprintf("%g", ceil(xhi / sx / xstep) * xstep))), \
                  strlen(sprintf("%g", xstep)))
    xstep = nice_step((xhi - xlo) / sx, tic_room(pw(ncols), xchars))
    # At least two intervals inside the range, even if the labels are close.
    if ((xhi - xlo) / sx / xstep < 2) { xstep = nice_near((xhi - xlo) / sx, 3) }
    set xtics xstep
    set format x "%g"
    set yrange [0:top / sy * 1.35]
    set ytics nice_step(top / sy * 1.35, floor(ph(nshow) / 0.22))
    set format y "%g"
    plot for [i = 1:na] $d index (ka - 1) using ($1 / sx):($2 / sy) with boxes lc rgb phase_a_color notitle, \
         for [i = 1:nb] $d index (kb - 1) using ($1 / sx):($2 / sy) with histeps lw 1.6 lc rgb cond_color(c) notitle
    if (data_on) {
        do for [k in (na ? sprintf("%d", ka) : "") . (nb ? sprintf(" %d", kb) : "")] {
            dump_k = int(k)
            dump_words = sprintf("# panel condition=%s%s layer=%d; curve phase %s; columns value density", c, \
                                 panel_i ? sprintf(" %s=%s", sk_name(panel_i), g_pv(k0)) : "", l, g_phase(dump_k))
            dump_cols = "1 2"
            eval dump_curve
        }
    }
}
unset label 3
legend_top = H - legend_h(leg_n)
eval legend_draw(leg_n)
unset multiplot
set output

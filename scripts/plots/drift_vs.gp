# Drift at the last layer against a swept key (docs/design.md §2 drift metrics,
# §4 sweeps): what a sweep of depth, batch, shift_mean, shift_scale,
# sigma_w ... did to the drift that reaches the network's output. A
# panel per metric and activation, a curve per condition, the mean over
# seeds with a band from the smallest to the largest seed (when there are
# two or more). The other keys that vary are shaded in each condition's
# colour or dashed, and when more than 12 curves would share a panel the
# conditions get a column each (common.gp, roles "sweep"); a key left is
# held at one value, which the title names. The x axis is logarithmic
# when the key's values are positive and span a decade or more.
#   gnuplot -c scripts/plots/drift_vs.gp db=results/depth_sweep.db out=drift_vs_depth.png key=depth
# Options (key=value): key = the swept key (default: the first numeric
# one), metric = one drift column or all (default), site = pre | norm |
# post (default post), activation (one or several, default all), and
# common.gp's filters.
here(p) = strstrt(p, "/") == 0 ? "" : p[1:strstrt(p, "/")] . here(p[strstrt(p, "/") + 1:])
options = "key metric site activation"
fig_kind = "sweep"
# load clears ARGV: common.gp reads the options from script_args.
array script_args[9]
do for [i = 1:ARGC] { script_args[i] = ARGV[i] }
script_argc = ARGC
# "./" keeps a directory named "<..." from being read as a command (load "<cmd").
load (ARG0[1:1] eq "<" ? "./" : "") . here(ARG0) . "common.gp"

if (!exists("site")) { site = "post" }
if (!exists("metric")) { metric = "all" }
metrics = metric eq "all" ? drift_metrics : metric
if (strstrt(drift_metrics . " ", " " . metric . " ") == 0 && metric ne "all" || strstrt(metric, " ") > 0) {
    exit error sprintf("metric must be one of%s or all, got '%s'", drift_metrics, metric)
}
nmetrics = words(metrics)
xk = sk_name(x_i)
xvals = sk_vals[x_i]
nx = words(xvals)

# ---- the data: one block per (activation, condition, shade, dash) ----
gsh = shade_i ? ", " . sk_name(shade_i) : ""
gda = dash_i ? ", " . sk_name(dash_i) : ""
g = "activation, condition" . gsh . gda
gt = "activation, " . cond_tok . (shade_i ? ", " . tok_expr(sk_name(shade_i)) : "") . (dash_i ? ", " . tok_expr(sk_name(dash_i)) : "")
go = "activation, " . cond_rank . gsh . gda
src = "drift JOIN run_params USING (run_id)"
# The last layer of each run.
flt = where . " AND site = " . sqlq(site) . " AND layer = depth"
ys = ""
ex = ""
do for [im = 1:nmetrics] {
    m = word(metrics, im)
    ys = ys . (im > 1 ? ", " : "") . sprintf("avg(%s) AS y%d, min(%s) AS y%d, max(%s) AS y%d", m, 3 * im - 2, m, 3 * im - 1, m, 3 * im)
    ex = ex . (im > 1 ? ", " : "") . sprintf("total(%s), coalesce(min(CASE WHEN %s > 0 AND %s THEN %s END), 0), coalesce(max(CASE WHEN %s THEN %s END), 0)", \
         fin(m), m, fin(m), m, fin(m), m)
}
glist = sql(groups_q(src, flt, g, gt, go, ex))
nf = 2 + (shade_i ? 1 : 0) + (dash_i ? 1 : 0) + 3 * nmetrics
ngroups = words(glist) / nf
gw(k, f) = word(glist, (k - 1) * nf + f)
g_act(k) = gw(k, 1)
g_cond(k) = gw(k, 2)
g_shade(k) = shade_i ? val_rank(shade_i, gw(k, 3)) : 1
g_dash(k) = dash_i ? val_rank(dash_i, gw(k, 3 + (shade_i ? 1 : 0))) : 0
g_n(k, im) = int(gw(k, nf - 3 * nmetrics + 3 * im - 2))
g_lo(k, im) = real(gw(k, nf - 3 * nmetrics + 3 * im - 1))
g_hi(k, im) = real(gw(k, nf - 3 * nmetrics + 3 * im))
g_color(k) = shade_color(cond_rgb(g_cond(k)), g_shade(k), n_shade)
g_dt(k) = dash_i ? dash_of(g_dash(k)) : cond_dt(g_cond(k))
g_pt(k) = dash_i ? pt_of(g_dash(k)) : 7
g_words(k) = sprintf("activation=%s condition=%s", g_act(k), g_cond(k)) . \
             (shade_i ? sprintf(" %s=%s", sk_name(shade_i), gw(k, 3)) : "") . \
             (dash_i ? sprintf(" %s=%s", sk_name(dash_i), gw(k, 3 + (shade_i ? 1 : 0))) : "")
dq = curves_q(src, flt, g, go, xk, ys)
eval fetch_d
eval index_d

# ---- layout ----
# Without condition columns: a row of metric panels per activation (4 to
# a row). With them: a row per activation and metric, a column per
# condition.
if (cond_cols) {
    ncols = nconds
    nrows = nacts * nmetrics
} else {
    ncols = imin(nmetrics, 4)
    nrows = nacts * ((nmetrics + ncols - 1) / ncols)
}
row_of(ia, im, ic) = cond_cols ? (ia - 1) * nmetrics + im : (ia - 1) * ((nmetrics + ncols - 1) / ncols) + (im - 1) / ncols + 1
col_of(im, ic) = cond_cols ? ic : (im - 1) % ncols + 1
eval leg_conditions
eval leg_keys
leg_note = drift_note(metrics)
tt = figure_title(sprintf("drift at the last layer against %s, site %s", enh(xk), site), band_words)
row_labels = nacts > 1 || cond_cols
ml = row_labels ? 0.78 : 0.55; mr = 0.2; gx = 0.55; gy = !cond_cols && ncols < nmetrics ? 0.55 : 0.4
mt = title_h(tt) + 0.36
mb = 0.52 + legend_h(leg_n)
H = mt + nrows * (cond_cols ? 1.1 : 1.3) + (nrows - 1) * gy + mb
legend_top = H - legend_h(leg_n)
eval set_term(W, H)
set output out_file
set multiplot title tt @title_font
unset key
unset ylabel

# The x axis: logarithmic when the values are positive and span a decade;
# a tic at every value, labelled where the label has room.
xmin = real(word(xvals, 1))
xmax = real(word(xvals, nx))
xlog = xmin > 0 && xmax / xmin >= 10
if (xlog) {
    set logscale x
    set xrange [xmin / 1.25 : xmax * 1.25]
} else {
    unset logscale x
    xpad = (xmax > xmin ? xmax - xmin : 1) * 0.06
    set xrange [xmin - xpad : xmax + xpad]
}
xpos(v) = xlog ? log(v / (xmin / 1.25)) / log(xmax * 1.25 / (xmin / 1.25)) : \
          (v - (xmin - xpad)) / (xmax - xmin + 2 * xpad)
set xtics ()
set mxtics 1
unset mxtics
last_pos = -1
last_len = 0
do for [t in xvals] {
    lbl = sk_disp(x_i, t)
    pos = xpos(real(t)) * pw(ncols)
    if (last_pos < 0 || pos - last_pos >= 0.07 * (last_len + strlen(lbl)) / 2 + 0.1) {
        set xtics add (lbl real(t))
        last_pos = pos
        last_len = strlen(lbl)
    } else {
        set xtics add ("" real(t) 1)
    }
}
set xtics scale 0.6, 0.6

do for [ia = 1:nacts] {
    a = word(acts, ia)
    da = any_diverged ? div_words(a) : ""
    do for [im = 1:nmetrics] {
        m = word(metrics, im)
        do for [ic = 1:(cond_cols ? nconds : 1)] {
            c = word(conds, ic)
            r = row_of(ia, im, ic)
            col = col_of(im, ic)
            eval set_panel(r, col, nrows, ncols)
            if (cond_cols) {
                set title (enh(r == 1 ? cond_short(c) : "")) textcolor rgb cond_color(c)
                row_text = "{/:Bold " . enh(nacts > 1 ? a . ": " . m : m) . "}"
            } else {
                set title (r == 1 || (ncols < nmetrics) ? enh(m) : "") textcolor rgb '#000000'
                row_text = "{/:Bold " . enh(a) . "}"
            }
            unset label 60
            if (row_labels && col == 1) { eval row_label(r, nrows) }
            if (r == nrows || (!cond_cols && ia == nacts && im + ncols > nmetrics)) { set xlabel (enh(xk)) } else { unset xlabel }
            pc = ""
            lo = 0; hi = 0
            do for [k = 1:ngroups] {
                if (g_act(k) eq a && g_n(k, im) > 0 && (!cond_cols || g_cond(k) eq c)) {
                    pc = pc . " " . k
                    lo = (lo == 0 || (g_lo(k, im) > 0 && g_lo(k, im) < lo)) ? g_lo(k, im) : lo
                    hi = g_hi(k, im) > hi ? g_hi(k, im) : hi
                }
            }
            eval y_axis0(lo, hi, ph(nrows))
            eval div_notes
            if (words(pc) == 0) {
                eval empty_panel
                set label 49 "no finite values" at graph 0.5, graph 0.35 center front
                plot 1/0 notitle
                unset label 49
                continue
            }
            yc = 3 * im - 1
            if (nseeds >= 2) {
                plot for [k in pc] $d index (int(k) - 1) using 1:(column(yc + 1)):(column(yc + 2)) with filledcurves \
                         lc rgb g_color(int(k)) notitle, \
                     for [k in pc] $d index (int(k) - 1) using 1:(column(yc)) with linespoints lw 1.6 \
                         pt g_pt(int(k)) ps 0.5 lc rgb g_color(int(k)) dt g_dt(int(k)) notitle
            } else {
                plot for [k in pc] $d index (int(k) - 1) using 1:(column(yc)) with linespoints lw 1.6 \
                         pt g_pt(int(k)) ps 0.5 lc rgb g_color(int(k)) dt g_dt(int(k)) notitle
            }
            if (data_on) {
                do for [k in pc] {
                    dump_k = int(k)
                    dump_words = sprintf("# panel activation=%s metric=%s; curve %s; columns %s mean min max", a, m, g_words(dump_k), xk)
                    dump_cols = sprintf("1 %d %d %d", yc, yc + 1, yc + 2)
                    eval dump_curve
                }
            }
        }
    }
}
eval legend_draw(leg_n)
unset multiplot
set output

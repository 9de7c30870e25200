# Drift from phase A to phase B by layer (docs/design.md §2 drift metrics): a
# panel per metric and activation, a curve per condition, the mean over
# seeds with a band from the smallest to the largest seed (when there are
# two or more). The headline figure (docs/figures.md). A key that varies
# is shaded in each condition's colour, or dashed, or held at one value
# the title names (common.gp, roles "layer").
#   gnuplot -c scripts/plots/drift_by_depth.gp db=results/quickstart.db out=drift_by_depth.png
# Options (key=value): metric = one drift column or all (default), site =
# pre | norm | post (default post), activation (one or several, default
# all), and common.gp's filters. A panel whose values span more than two
# decades has a log y axis.
here(p) = strstrt(p, "/") == 0 ? "" : p[1:strstrt(p, "/")] . here(p[strstrt(p, "/") + 1:])
options = "metric site activation"
fig_kind = "layer"
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

# ---- the data: one block per (activation, condition, shade, dash) ----
gsh = shade_i ? ", " . sk_name(shade_i) : ""
gda = dash_i ? ", " . sk_name(dash_i) : ""
g = "activation, condition" . gsh . gda
gt = "activation, " . cond_tok . (shade_i ? ", " . tok_expr(sk_name(shade_i)) : "") . (dash_i ? ", " . tok_expr(sk_name(dash_i)) : "")
go = "activation, " . cond_rank . gsh . gda
src = "drift JOIN run_params USING (run_id)"
flt = where . " AND site = " . sqlq(site)
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
dq = curves_q(src, flt, g, go, "layer", ys)
eval fetch_d
eval index_d

# ---- layout: a row of metric panels per activation, 4 to a row ----
# Each panel is titled with its metric (defined under the legend), each
# row with its activation at the left.
ncols = imin(nmetrics, 4)
rows_per_act = (nmetrics + ncols - 1) / ncols
nrows = nacts * rows_per_act
eval leg_conditions
eval leg_keys
leg_note = drift_note(metrics)
tt = figure_title(sprintf("drift from phase A to phase B by layer, site %s", site), band_words)
ml = nacts > 1 ? 0.78 : 0.55; mr = 0.2; gx = 0.55; gy = rows_per_act > 1 ? 0.55 : 0.4
mt = title_h(tt) + 0.36
mb = 0.52 + legend_h(leg_n)
H = mt + nrows * 1.3 + (nrows - 1) * gy + mb
legend_top = H - legend_h(leg_n)
eval set_term(W, H)
set output out_file
set multiplot title tt @title_font
eval int_tics(maxdepth, pw(ncols))
set xrange [0:maxdepth > 0 ? maxdepth : 1]
# Past 40 layers, lines without points (a macro of the script's own text).
lstyle = maxdepth + 1 > 40 ? "lines" : "linespoints pt g_pt(int(k)) ps 0.45"
unset key
unset ylabel

do for [ia = 1:nacts] {
    a = word(acts, ia)
    da = any_diverged ? div_words(a) : ""
    do for [im = 1:nmetrics] {
        m = word(metrics, im)
        r = (ia - 1) * rows_per_act + (im - 1) / ncols + 1
        col = (im - 1) % ncols + 1
        eval set_panel(r, col, nrows, ncols)
        # The metrics head the columns: a title on the first row of panels
        # (on every row when they take more than one row per activation).
        set title (r == 1 || rows_per_act > 1 ? enh(m) : "")
        unset label 60
        if (nacts > 1 && col == 1) { row_text = "{/:Bold " . enh(a) . "}"; eval row_label(r, nrows) }
        if (r == nrows || (ia == nacts && im + ncols > nmetrics)) { set xlabel "layer" } else { unset xlabel }
        # The groups of this activation with a finite value, and the range
        # of the panel's positive values.
        pc = ""
        lo = 0; hi = 0
        do for [k = 1:ngroups] {
            if (g_act(k) eq a && g_n(k, im) > 0) {
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
                 for [k in pc] $d index (int(k) - 1) using 1:(column(yc)) with @lstyle lw 1.6 \
                     lc rgb g_color(int(k)) dt g_dt(int(k)) notitle
        } else {
            plot for [k in pc] $d index (int(k) - 1) using 1:(column(yc)) with @lstyle lw 1.6 \
                     lc rgb g_color(int(k)) dt g_dt(int(k)) notitle
        }
        if (data_on) {
            do for [k in pc] {
                dump_k = int(k)
                dump_words = sprintf("# panel activation=%s metric=%s; curve %s; columns layer mean min max", a, m, g_words(dump_k))
                dump_cols = sprintf("1 %d %d %d", yc, yc + 1, yc + 2)
                eval dump_curve
            }
        }
    }
}
eval legend_draw(leg_n)
unset multiplot
set output

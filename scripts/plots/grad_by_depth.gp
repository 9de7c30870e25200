# Gradient norms at initialisation by depth (table grad_stats, view
# grad_by_depth; docs/claims.md): a panel per activation and metric, a
# curve per condition on a log y axis, the mean over seeds of each run's
# mean over steps, with a band from the smallest to the largest seed (when
# there are two or more). Every other key that varies is held at one
# value, which the title names (common.gp, roles "claim"). Each panel lists the growth factor per layer towards the input,
# exp(-slope) of a least-squares line through ln(curve) over layers
# 1..depth, to compare with Yang et al. 2019 ("A Mean Field Theory of
# Batch Normalization": through batch statistics the gradient grows
# geometrically towards the input, sqrt(pi / (pi - 1)) = 1.21 per layer for
# a wide relu stack).
#   gnuplot -c scripts/plots/grad_by_depth.gp db=results/grad_by_depth.db out=grad_by_depth.png
# Options (key=value): metric = grad_x_norm | grad_h_norm | grad_w_norm | grad_b_norm
# | all (default grad_x_norm and grad_w_norm), phase = A | B (default: B
# for bn-frozen and bn-ema, whose phase B normalises with running
# statistics, when the run has phase B steps; A for the others), and
# common.gp's filters. The report's gradient table (cs_plot.c) uses the
# same curves and the same fit.
here(p) = strstrt(p, "/") == 0 ? "" : p[1:strstrt(p, "/")] . here(p[strstrt(p, "/") + 1:])
options = "metric phase activation"
fig_kind = "claim"
# load clears ARGV: common.gp reads the options from script_args.
array script_args[9]
do for [i = 1:ARGC] { script_args[i] = ARGV[i] }
script_argc = ARGC
# "./" keeps a directory named "<..." from being read as a command (load "<cmd").
load (ARG0[1:1] eq "<" ? "./" : "") . here(ARG0) . "common.gp"

if (!exists("metric")) { metric = "grad_x_norm grad_w_norm" }
if (metric eq "all") { metric = "grad_x_norm grad_h_norm grad_w_norm grad_b_norm" }
do for [m in metric] {
    if (strstrt(" grad_x_norm grad_h_norm grad_w_norm grad_b_norm ", " " . m . " ") == 0) {
        exit error sprintf("metric must be grad_x_norm, grad_h_norm, grad_w_norm, grad_b_norm or all, got '%s'", m)
    }
}
nmetrics = words(metric)
if (exists("phase") && phase ne "A" && phase ne "B") {
    exit error sprintf("phase must be A or B, got '%s'", phase)
}
# The phase a run's gradients are read from: with frozen or ema batch norm,
# phase A is training mode (the same as bn-batch) and phase B is what the
# condition is about.
phase_rule = exists("phase") ? sprintf("phase = '%s'", phase) : \
    "phase = CASE WHEN bn_phase_b IN ('frozen', 'ema') AND steps_b > 0 THEN 'B' ELSE 'A' END"
if (int(sql("SELECT count(*) FROM grad_by_depth WHERE " . where . " AND " . phase_rule)) == 0) {
    exit error sprintf("experiment '%s' has no gradient rows (grad_stats; run it with grad = true in [measure])", experiment)
}

metric_label(m) = m eq "grad_x_norm" ? "mean over examples of ‖dL/dx‖" : \
                  m eq "grad_h_norm" ? "mean over examples of ‖dL/dh‖" : \
                  m eq "grad_w_norm" ? "‖dL/dW‖ (Frobenius)" : "‖dL/db‖"
metric_title(m) = m eq "grad_x_norm" ? "gradient at the layer output x" : \
                  m eq "grad_h_norm" ? "gradient at the pre-activation h" : \
                  m eq "grad_w_norm" ? "gradient of the weights W" : "gradient of the biases b"

eval leg_conditions
tt = figure_title("gradient norms at initialisation by depth", band_words . "; BN frozen and ema from phase B")
ml = nacts > 1 ? 1.0 : 0.75; mr = 0.2; gx = 0.75; gy = 0.7
mt = title_h(tt) + 0.36
mb = 0.52 + legend_h(leg_n)
H = mt + nacts * 2.2 + (nacts - 1) * gy + mb
legend_top = H - legend_h(leg_n)
eval set_term(W, H)
set output out_file

set multiplot title tt @title_font
eval int_tics(maxdepth, pw(nmetrics))
set xrange [0:maxdepth]
set format y log_format
unset key
# One seed: the band's bounds are the line itself (nothing drawn).
bl = nseeds >= 2 ? 3 : 2
bh = nseeds >= 2 ? 4 : 2

# Per (activation, metric, condition): layer, mean, min, max over seeds of
# the run's mean over steps; NULL (layer 0 of dL/dW, a diverged run) is NaN.
# c = '%' (LIKE) takes every condition: the panel's range.
runs_q(a, m, c) = sprintf("SELECT run_id, layer, avg(%s) AS v FROM grad_by_depth WHERE %s AND %s " . \
                          "AND activation = %s AND condition LIKE %s GROUP BY run_id, layer", \
                          m, where, phase_rule, sqlq(a), cq(c))
q(a, m, c) = "SELECT layer, avg(v), min(v), max(v) FROM (" . runs_q(a, m, c) . ") GROUP BY layer ORDER BY layer"
# The growth fit: the mean curve over the hidden layers where it is positive.
qfit(a, m, c) = "SELECT layer, avg(v) FROM (" . runs_q(a, m, c) . ") WHERE layer >= 1 " . \
                "GROUP BY layer HAVING avg(v) > 0 AND " . fin("avg(v)") . " ORDER BY layer"
nfit(a, m, c) = int(sql("SELECT count(*) FROM (" . qfit(a, m, c) . ")"))
has(a, m, c) = int(sql("SELECT count(*) FROM (" . runs_q(a, m, c) . ") WHERE " . fin("v"))) > 0
# Yang et al. 2019 (Theorem/Corollary for ReLU): the gradient through
# batch norm's batch statistics grows by sqrt(pi / (pi - 1)) per layer.
yang_relu = sqrt(pi / (pi - 1))

div_y = 0.07
do for [ia = 1:nacts] {
    a = word(acts, ia)
    do for [im = 1:nmetrics] {
        m = word(metric, im)
        set title (enh(metric_title(m)))
        set ylabel metric_label(m)
        row_text = "{/:Bold " . enh(a) . "}"
        if (ia == nacts) { set xlabel "layer (0 = input)" } else { unset xlabel }
        eval set_panel(ia, im, nacts, nmetrics)
        # The conditions with values here, and the growth label of each.
        # stats filters by the current axis ranges: free them for the fit.
        set autoscale y
        unset logscale y
        pconds = ""
        unset label
        if (nacts > 1 && im == 1) { eval row_label(ia, nacts) }
        set label 1 "growth per layer towards the input" at graph 0.98, graph 0.95 right front boxed
        k = 1
        do for [c in conds] {
            if (has(a, m, c)) {
                pconds = pconds . " " . c
                if (nfit(a, m, c) >= 2) {
                    stats srcq(qfit(a, m, c)) using 1:(log($2)) nooutput name "F"
                    k = k + 1
                    note = (a eq "relu" && c eq "bn-batch") ? sprintf(" (Yang %.2f)", yang_relu) : ""
                    ltxt = enh(sprintf("%s ×%.3f%s", cond_short(c), exp(-F_slope), note))
                    set label k ltxt \
                        at graph 0.98, graph 0.95 - 0.1 * (k - 1) right front boxed tc rgb cond_color(c)
                }
            }
        }
        if (k == 1) { unset label 1 }
        set logscale y
        # Head room: the k label lines take the top 0.06 + 0.085 k of the
        # panel; the curves (from lo / 1.5 to hi on the log axis) the rest.
        lo = real(sql("SELECT coalesce(min(v), 0) FROM (" . runs_q(a, m, "%") . ") WHERE v > 0 AND " . fin("v")))
        hi = real(sql("SELECT coalesce(max(v), 0) FROM (" . runs_q(a, m, "%") . ") WHERE v > 0 AND " . fin("v")))
        lo = lo > 0 ? lo : 1e-3
        hi = hi > lo ? hi : lo * 10
        room = k > 1 ? 0.06 + 0.1 * k : 0.05
        set yrange [lo / 1.5 : (lo / 1.5) * (hi / (lo / 1.5)) ** (1 / (1 - room))]
        # Decades only up to the curves: the head room is the labels', whose
        # boxes would cut the tick labels there.
        dec0 = floor(log10(lo / 1.5)); dec1 = ceil(log10(hi))
        set ytics 10.0 ** dec0, (dec1 - dec0 > 8 ? 100 : 10), 10.0 ** dec1
        # An activation whose runs did not measure this quantity: an empty
        # panel that says so (an empty plot list would stop gnuplot).
        # A diverged run: one note, low, clear of the growth labels.
        L = any_diverged ? div_from(where . " AND activation = " . sqlq(a)) : 0
        if (L > 0) { div_text = sprintf("runs diverged at layer %d", L); eval div_label(1) }
        if (words(pconds) == 0) {
            set label 1 (L > 0 ? "no finite values" : "no gradient rows for this activation") \
                at graph 0.5, graph 0.5 center front
            plot 1/0 notitle
            continue
        }
        plot for [c in pconds] srcq(q(a, m, c)) using 1:(column(bl)):(column(bh)) with filledcurves lc rgb cond_color(c) notitle, \
             for [c in pconds] srcq(q(a, m, c)) using 1:2 with linespoints lw 1.6 pt 7 ps 0.45 \
                 lc rgb cond_color(c) dt cond_dt(c) notitle
        if (data_on) {
            do for [c in pconds] {
                set print data_file append
                print sprintf("# panel activation=%s metric=%s; curve condition=%s; columns layer mean min max", a, m, c)
                print sql(q(a, m, c))
                print ""
                unset print
            }
        }
    }
}
eval legend_draw(leg_n)
unset multiplot
set output

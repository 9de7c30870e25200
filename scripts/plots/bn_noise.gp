# Batch-norm noise against dropout noise by depth (issue 6, table
# bn_noise, view noise_by_depth; docs/claims.md, "Noise like dropout"): how much of
# a probe example's activation depends on its random batch-mates (batch
# norm) or its dropout masks. The first panel puts batch norm without
# dropout at each batch size (blue, darker for larger batches) beside
# dropout without batch norm at each rate (vermillion, a dash pattern per
# rate; the batch size changes nothing there, so its runs are pooled) and
# the noise-free reference (black, exactly 0). Each further panel is batch
# norm with dropout at one rate, against that rate alone. Lines: the mean
# over seeds (and pooled batch sizes), band: min to max. At site post an
# open diamond at layer 1 marks dropout's expected noise sqrt(p / (1 - p)).
# A panel row per activation.
#   gnuplot -c scripts/plots/bn_noise.gp db=results/bn_noise.db out=bn_noise.png
# Options (key=value): site = pre | norm | post (default post: what the next layer
# receives, after dropout), and common.gp's filters.
here(p) = strstrt(p, "/") == 0 ? "" : p[1:strstrt(p, "/")] . here(p[strstrt(p, "/") + 1:])
options = "site"
# load clears ARGV: common.gp reads the options from script_args.
array script_args[9]
do for [i = 1:ARGC] { script_args[i] = ARGV[i] }
script_argc = ARGC
# "./" keeps a directory named "<..." from being read as a command (load "<cmd").
load (ARG0[1:1] eq "<" ? "./" : "") . here(ARG0) . "common.gp"

if (!exists("site")) { site = "post" }
if (site ne "pre" && site ne "norm" && site ne "post") {
    exit error sprintf("site must be pre, norm or post, got '%s'", site)
}
wn = where . " AND site = " . sqlq(site)
if (int(sql("SELECT count(*) FROM noise_by_depth WHERE " . wn)) == 0) {
    exit error sprintf("experiment '%s' has no noise rows at site %s (bn_noise; run it with noise_probes > 0 in [measure])", \
                       experiment, site)
}
# Batch norm's batch sizes and the dropout rates that have noise rows.
bsizes = sql("SELECT coalesce(group_concat(batch, ' '), '') FROM (SELECT DISTINCT batch FROM noise_by_depth WHERE " . wn . \
             " AND norm = 'batch' ORDER BY batch)")
rates = sql("SELECT coalesce(group_concat(dropout, ' '), '') FROM (SELECT DISTINCT dropout FROM noise_by_depth WHERE " . wn . \
            " AND dropout > 0 ORDER BY dropout)")
# Panels: batch norm alone against dropout alone, then one per rate that
# batch norm was combined with.
bn_rates = sql("SELECT coalesce(group_concat(dropout, ' '), '') FROM (SELECT DISTINCT dropout FROM noise_by_depth WHERE " . wn . \
               " AND norm = 'batch' AND dropout > 0 ORDER BY dropout)")
npanels = 1 + words(bn_rates)
nb = words(bsizes)
nr = words(rates)

# Blue shades from light (the smallest batch) to dark, and a dash pattern
# per rate (common.gp's order).
mix(x, y, t) = int(x + (y - x) * t + 0.5)
shade(t) = sprintf("#%02x%02x%02x", mix(0x9e, 0x08, t), mix(0xca, 0x30, t), mix(0xe1, 0x6b, t))
bn_color(i) = nb <= 1 ? '#0072B2' : shade((i - 1) * 1.0 / (nb - 1))
drop_color = '#D55E00'
rate_dt(i) = int(word("2 4 5 3", (i - 1) % 4 + 1))

# The title's parameters: what the runs share, the batch size and dropout
# being the curves.
fixed_net = sql("SELECT " . pv("depth", "depth") . " || ', ' || " . pv("width", "width") . \
    " || ', ' || " . pv("init", "init") . " || ' (' || " . pg("sigma_w", "sigma_w") . " || ', ' || " . \
    pg("sigma_b", "sigma_b") . " || ')' FROM run_params WHERE " . wherer . " AND noise_probes > 0")
fixed_data = sql("SELECT " . pv("A", "input") . " || ', ' || " . pv("", "noise_probes") . \
    " || ' probes, each in ' || " . pv("", "noise_batches") . " || ' random batches, ' || " . \
    "count(DISTINCT seed) || CASE WHEN count(DISTINCT seed) = 1 THEN ' seed' ELSE ' seeds' END " . \
    "FROM run_params WHERE " . wherer . " AND noise_probes > 0")
fixed_data = rep(rep(fixed_data, "  ", " "), ",  ", ", ")

# The dropout theory marks need dropout rows at the post site.
theory = site eq "post" && nr > 0
nentries = 1 + nb + nr + theory
key_len = 34
ml = 1.6; mr = 0.3; mt = 1.45; mb = 1.75; gx = 1.5; gy = 1.3
W = fig_width(5.6 * npanels + ml + mr + gx * (npanels - 1))
mb = 0.95 + legend_h(nentries)
mt = title_margin(W)
H = 3.6 * nacts + mt + mb + gy * (nacts - 1)
eval set_term(W, H)
set output out_file

set multiplot title figure_title(sprintf("noise of a probe's activations at site %s by depth", site), \
    "sd across batch compositions and masks / rms value; line: mean, band: min to max over seeds")
eval int_tics(maxdepth)
# From 0.5, so that layer 1 and its marks stand clear of the axis.
set xrange [0.5:maxdepth + 0.5]
set mxtics
set xlabel "layer"
set ylabel "noise-to-signal ratio"
unset key

# Per activation: layer, mean, min, max of noise for batch norm at batch m
# with dropout rate r, and for no batch norm at rate r (batch sizes pooled).
qbn(a, m, r) = sprintf("SELECT layer, avg(noise) AS m, min(noise), max(noise) FROM noise_by_depth WHERE %s " . \
                       "AND activation = %s AND norm = 'batch' AND batch = %s AND dropout = %s " . \
                       "GROUP BY layer ORDER BY layer", wn, sqlq(a), m, r)
qdrop(a, r) = sprintf("SELECT layer, avg(noise) AS m, min(noise), max(noise) FROM noise_by_depth WHERE %s " . \
                      "AND activation = %s AND norm = 'none' AND dropout = %s " . \
                      "GROUP BY layer ORDER BY layer", wn, sqlq(a), r)
# A curve is drawn when it has a finite point (n_fin), so that no plot
# element reads an empty source or one a diverged run left undefined.
# idx(w): a word of bw or dw as a number; gnuplot evaluates a plot
# element once even when its loop over an empty list has no turn.
idx(w) = w eq "" ? 1 : int(w)
ymax(a) = real(sql("SELECT coalesce(max(noise), 1) FROM noise_by_depth WHERE " . wn . " AND activation = " . \
                   sqlq(a) . " AND " . fin("noise")))

do for [ia = 1:nacts] {
    a = word(acts, ia)
    top = ymax(a)
    set yrange [0:(top > 0 ? top : 1) * 1.08]
    L = any_diverged ? div_from(where . " AND activation = " . sqlq(a)) : 0
    do for [ip = 1:npanels] {
        r = ip == 1 ? "0" : word(bn_rates, ip - 1)
        eval set_panel(ia, ip, nacts, npanels)
        set title ip == 1 ? sprintf("%s: batch norm against dropout", a) : \
                            sprintf("%s: batch norm with dropout p=%s", a, r)
        if (ia == nacts) { set xlabel "layer" } else { unset xlabel }
        # Batch sizes of batch norm at this rate, and the dropout curves:
        # every rate in the first panel, this rate in the others.
        bw = ""
        do for [ib = 1:nb] { if (n_fin(qbn(a, word(bsizes, ib), r)) > 0) { bw = bw . " " . ib } }
        dw = ""
        do for [ir = 1:nr] {
            if ((ip == 1 || word(rates, ir) eq r) && n_fin(qdrop(a, word(rates, ir))) > 0) { dw = dw . " " . ir }
        }
        ref = ip == 1 && n_fin(qdrop(a, "0")) > 0
        unset label
        if (L > 0) {
            div_text = sprintf("runs diverged at layer %d", L)
            eval div_label(1)
        }
        if (words(bw) + words(dw) + ref == 0) {
            set label 9 (L > 0 ? "no finite values" : "no runs") at graph 0.5, graph 0.5 center
            plot 1/0 notitle
            unset label 9
            continue
        }
        # gnuplot reads the source of a loop over an empty list: such a
        # loop reads a curve the panel draws (src0; the y range is fixed).
        src0 = words(bw) > 0 ? qbn(a, word(bsizes, idx(word(bw, 1))), r) : \
               words(dw) > 0 ? qdrop(a, word(rates, idx(word(dw, 1)))) : qdrop(a, "0")
        # Dropout alone at rate p has noise sqrt(p / (1 - p)) at layer 1's
        # post site (docs/design.md §2): an open diamond there.
        if (theory) {
            do for [ir in dw] {
                p = real(word(rates, idx(ir)))
                set label 10 + idx(ir) "" at first 1, first sqrt(p / (1 - p)) point pt 12 ps 2.2 lw 1.5 lc rgb drop_color front
            }
        }
        plot for [ib in bw] srcq(words(bw) > 0 ? qbn(a, word(bsizes, idx(ib)), r) : src0) using 1:3:4 with filledcurves lc rgb bn_color(idx(ib)) notitle, \
             for [ib in bw] srcq(words(bw) > 0 ? qbn(a, word(bsizes, idx(ib)), r) : src0) using 1:2 with linespoints lw 2 pt 7 ps 0.45 \
                 lc rgb bn_color(idx(ib)) notitle, \
             for [ir in dw] srcq(words(dw) > 0 ? qdrop(a, word(rates, idx(ir))) : src0) using 1:3:4 with filledcurves lc rgb drop_color notitle, \
             for [ir in dw] srcq(words(dw) > 0 ? qdrop(a, word(rates, idx(ir))) : src0) using 1:2 with linespoints lw 2 pt 6 ps 0.6 \
                 lc rgb drop_color dt rate_dt(idx(ir)) notitle, \
             for [k = 1:ref] srcq(ref ? qdrop(a, "0") : src0) using 1:2 with linespoints lw 2 pt 7 ps 0.45 lc rgb '#000000' notitle
    }
}
unset label
eval legend_strip(nentries)
plot for [ib = 1:nb] 2 with linespoints lw 2 pt 7 ps 0.45 lc rgb bn_color(ib) title sprintf("BN, batch %s", word(bsizes, ib)), \
     for [ir = 1:nr] 2 with linespoints lw 2 pt 6 ps 0.6 lc rgb drop_color dt rate_dt(ir) \
         title sprintf("dropout p=%s", word(rates, ir)), \
     2 with linespoints lw 2 pt 7 ps 0.45 lc rgb '#000000' title "no norm, no dropout (noise 0)", \
     for [k = 1:theory] 2 with points pt 12 ps 2.2 lw 1.5 lc rgb drop_color title "√(p/(1−p)): dropout, layer 1"
unset multiplot
set output

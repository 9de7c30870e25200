# Batch-norm noise against dropout noise by depth (table bn_noise, view
# noise_by_depth; docs/claims.md, "Noise like dropout"): how much of
# a probe example's activation depends on its random batch-mates (batch
# norm) or its dropout masks. The first panel puts batch norm without
# dropout at each batch size (blue, darker for larger batches) beside
# dropout without batch norm at each rate (vermillion, a dash pattern per
# rate; the batch size changes nothing there, so its runs are pooled) and
# the noise-free reference (black, exactly 0). Each further panel is batch
# norm with dropout at one rate, against that rate alone. Lines: the mean
# over seeds (and pooled batch sizes), band: min to max. At site post an
# open diamond at layer 1 marks dropout's expected noise sqrt(p / (1 - p)).
# A panel row per activation. Every other key that varies is held at one
# value, which the title names (common.gp, roles "claim").
#   gnuplot -c scripts/plots/bn_noise.gp db=results/bn_noise.db out=bn_noise.png
# Options (key=value): site = pre | norm | post (default post: what the next layer
# receives, after dropout), and common.gp's filters.
here(p) = strstrt(p, "/") == 0 ? "" : p[1:strstrt(p, "/")] . here(p[strstrt(p, "/") + 1:])
options = "site activation"
fig_kind = "claim"
own_keys = "batch"
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

# What the title adds: the probes.
probes = sql("SELECT coalesce(min(noise_probes), 0) || ' ' || coalesce(min(noise_batches), 0) FROM run_params WHERE " . \
             wherer . " AND noise_probes > 0")
how_words = sprintf("sd across batch compositions and masks / rms value, %s probes, each in %s random batches; %s", \
                    word(probes, 1), word(probes, 2), nseeds >= 2 ? sprintf("line: mean over %d seeds, band: min to max", nseeds) : "one seed")

# The dropout theory marks need dropout rows at the post site.
theory = site eq "post" && nr > 0
nentries = 1 + nb + nr + theory
do for [ib = 1:nb] { lg_c = bn_color(ib); lg_dt = 1; lg_pt = 7; lg_t = sprintf("BN, batch %s", word(bsizes, ib)); eval leg_line }
do for [ir = 1:nr] { lg_c = drop_color; lg_dt = rate_dt(ir); lg_pt = 6; lg_t = sprintf("dropout p=%s", word(rates, ir)); eval leg_line }
lg_c = '#000000'; lg_dt = 1; lg_pt = 7; lg_t = "no norm, no dropout (noise 0)"
eval leg_line
if (theory) { lg_c = drop_color; lg_dt = 0; lg_pt = 12; lg_t = "√(p/(1−p)): dropout, layer 1"; eval leg_line; leg_kind[leg_n] = 'point' }
tt = figure_title(sprintf("noise of a probe's activations at site %s by depth", site), how_words)
ml = nacts > 1 ? 1.0 : 0.75; mr = 0.2; gx = 0.5; gy = 0.55
ncol = imin(npanels, 3)
prow = (npanels + ncol - 1) / ncol
mt = title_h(tt) + 0.36
mb = 0.52 + legend_h(leg_n)
H = mt + nacts * prow * 1.8 + (nacts * prow - 1) * gy + mb
legend_top = H - legend_h(leg_n)
eval set_term(W, H)
set output out_file

set multiplot title tt @title_font
eval int_tics(maxdepth, pw(ncol))
# From 0.5, so that layer 1 and its marks stand clear of the axis.
set xrange [0.5:maxdepth + 0.5]
set xlabel "layer"
unset key
# One seed: the band's bounds are the line itself (nothing drawn).
bl = nseeds >= 2 ? 3 : 2
bh = nseeds >= 2 ? 4 : 2

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
        pr = (ia - 1) * prow + (ip - 1) / ncol + 1
        eval set_panel(pr, (ip - 1) % ncol + 1, nacts * prow, ncol)
        set title (ip == 1 ? "batch norm against dropout" : sprintf("BN with dropout p=%s", r))
        if (pr == nacts * prow || ip + ncol > npanels) { set xlabel "layer" } else { unset xlabel }
        if ((ip - 1) % ncol == 0) { set ylabel "noise-to-signal ratio" } else { unset ylabel }
        row_text = "{/:Bold " . enh(a) . "}"
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
        if (nacts > 1 && ip == 1) { eval row_label(pr, nacts * prow) }
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
                set label 10 + idx(ir) "" at first 1, first sqrt(p / (1 - p)) point pt 12 ps 1.6 lw 1.2 lc rgb drop_color front
            }
        }
        plot for [ib in bw] srcq(words(bw) > 0 ? qbn(a, word(bsizes, idx(ib)), r) : src0) using 1:(column(bl)):(column(bh)) with filledcurves lc rgb bn_color(idx(ib)) notitle, \
             for [ib in bw] srcq(words(bw) > 0 ? qbn(a, word(bsizes, idx(ib)), r) : src0) using 1:2 with linespoints lw 1.6 pt 7 ps 0.45 \
                 lc rgb bn_color(idx(ib)) notitle, \
             for [ir in dw] srcq(words(dw) > 0 ? qdrop(a, word(rates, idx(ir))) : src0) using 1:(column(bl)):(column(bh)) with filledcurves lc rgb drop_color notitle, \
             for [ir in dw] srcq(words(dw) > 0 ? qdrop(a, word(rates, idx(ir))) : src0) using 1:2 with linespoints lw 1.6 pt 6 ps 0.6 \
                 lc rgb drop_color dt rate_dt(idx(ir)) notitle, \
             for [k = 1:ref] srcq(ref ? qdrop(a, "0") : src0) using 1:2 with linespoints lw 1.6 pt 7 ps 0.45 lc rgb '#000000' notitle
    }
}
unset label
eval legend_draw(leg_n)
unset multiplot
set output

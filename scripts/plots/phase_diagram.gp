# The mean-field order-to-chaos phase diagram of one activation
# (docs/design.md §9): sigma_w against sigma_b, the depth scale xi_c of the
# correlation map as colour (log10), the chi_1 = 1 line between the ordered
# (left) and the chaotic (right) phase, and the (sigma_w, sigma_b) of the
# selected runs with this activation and a gaussian init as points. The grid
# comes from covshift plot, which writes it beside the figure
# (phase_diagram_ACT.dat: "sigma_w sigma_b log10(xi_c)" blocks, then the
# line), since the quadrature is covshift's:
#   gnuplot -c scripts/plots/phase_diagram.gp db=results/x.db out=phase_diagram_tanh.png \
#       act=tanh data=results/x/phase_diagram_tanh.dat
# Options (key=value): data (required), act (default: activation), and common.gp's filters.
here(p) = strstrt(p, "/") == 0 ? "" : p[1:strstrt(p, "/")] . here(p[strstrt(p, "/") + 1:])
options = "act data"
array script_args[9]
do for [i = 1:ARGC] { script_args[i] = ARGV[i] }
script_argc = ARGC
load (ARG0[1:1] eq "<" ? "./" : "") . here(ARG0) . "common.gp"

if (!exists("data")) { exit error "phase_diagram.gp needs data=FILE (covshift plot writes it)" }
# act: the diagram's activation, which need not be one of the runs' (tanh
# is always drawn); its name only labels the figure and selects the points.
if (!exists("act")) { act = activation }
data_file = anchored(data)

W = 9.5
H = 6.5
set lmargin at screen 0.12
set rmargin at screen 0.76
set bmargin at screen 0.24
set tmargin at screen 0.85
eval set_term(W, H)
set output out_file
set title sprintf("%s: order to chaos in the mean field\nxi_c as colour; blank where the length grows without bound", act)
set xlabel "sigma_w"
set ylabel "sigma_b"
set xrange [0.5:4.1]
set yrange [-0.025:1.525]
set cblabel "log10 xi_c (layers)"
set cbrange [-1:3]
set palette defined (0 '#0d0887', 1 '#7e03a8', 2 '#cc4778', 3 '#f89540', 4 '#f0f921')
set key at screen 0.44, screen 0.055 center vertical maxrows 2 width -2
set style fill solid 1.0 noborder
set colorbox user origin screen 0.8, screen 0.24 size screen 0.025, screen 0.66
pts = sprintf("SELECT DISTINCT sigma_w, sigma_b FROM run_params WHERE %s AND activation = %s " . \
              "AND init = 'gaussian' AND norm = 'none' AND sigma_w BETWEEN 0.5 AND 4.1 AND sigma_b <= 1.525", \
              wherer, sqlq(act))
npts = int(sql("SELECT count(*) FROM (" . pts . ")"))
if (npts > 0) {
    plot data_file index 0 using 1:2:3 with image notitle, \
         data_file index 1 using 1:2 with lines lw 6 lc rgb '#000000' notitle, \
         data_file index 1 using 1:2 with lines lw 2.5 lc rgb '#ffffff' title "chi_1 = 1 (ordered left, chaotic right)", \
         srcq(pts) using 1:2 with points pt 9 ps 2 lc rgb '#00c000' title "the runs (no norm, gaussian init)"
} else {
    plot data_file index 0 using 1:2:3 with image notitle, \
         data_file index 1 using 1:2 with lines lw 6 lc rgb '#000000' notitle, \
         data_file index 1 using 1:2 with lines lw 2.5 lc rgb '#ffffff' title "chi_1 = 1 (ordered left, chaotic right)"
}
set output

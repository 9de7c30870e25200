# The mean-field order-to-chaos phase diagram of one activation
# (docs/design.md §9): σ_w against σ_b, the depth scale ξ_c of the
# correlation map as colour (log10), the χ_1 = 1 line between the ordered
# (left) and the chaotic (right) phase, and the (σ_w, σ_b) of the selected
# runs with this activation, no normalisation and a gaussian init as
# points. The grid comes from covshift plot, which writes it beside the
# figure (phase_diagram_ACT.dat: "sigma_w sigma_b log10(xi_c)" blocks, then
# the line), since the quadrature is covshift's:
#   gnuplot -c scripts/plots/phase_diagram.gp db=results/x.db out=phase_diagram_tanh.png \
#       act=tanh data=results/x/phase_diagram_tanh.dat
# Options (key=value): data (required: the grid, read, never written), act
# (default: the runs' first activation), and common.gp's filters. Every
# other key that varies is held at one value, which the title names,
# except sigma_w and sigma_b, whose runs are all marked.
here(p) = strstrt(p, "/") == 0 ? "" : p[1:strstrt(p, "/")] . here(p[strstrt(p, "/") + 1:])
options = "act"
fig_kind = "claim"
own_keys = "sigma_w sigma_b"
# load clears ARGV: common.gp reads the options from script_args. data= is
# this script's input, the grid, which common.gp would take for the file to
# write the plotted data to (and truncate): it is kept here, not passed on.
grid = ""
array script_args[9]
script_argc = 0
do for [i = 1:ARGC] {
    if (ARGV[i][1:5] eq "data=") { grid = ARGV[i][6:] } else {
        script_argc = script_argc + 1
        script_args[script_argc] = ARGV[i]
    }
}
# "./" keeps a directory named "<..." from being read as a command (load "<cmd").
load (ARG0[1:1] eq "<" ? "./" : "") . here(ARG0) . "common.gp"

if (grid eq "") { exit error "phase_diagram.gp needs data=FILE, the grid covshift plot writes" }
grid_file = anchored(grid)
if (system("test -f " . shq(grid_file) . " && test -s " . shq(grid_file) . " && echo yes") ne "yes") {
    exit error sprintf("data: the grid '%s' does not exist or is empty", grid)
}
# act: the diagram's activation, which need not be one of the runs' (tanh
# is always drawn); its name only labels the figure and selects the points.
if (!exists("act")) { act = word(acts, 1) }

pts = sprintf("SELECT DISTINCT sigma_w, sigma_b FROM run_params WHERE %s AND activation = %s " . \
              "AND init = 'gaussian' AND norm = 'none' AND sigma_w BETWEEN 0.5 AND 4.1 AND sigma_b BETWEEN 0 AND 1.525", \
              wherer, sqlq(act))
npts = int(sql("SELECT count(*) FROM (" . pts . ")"))

# ---- the legend and the layout: one panel, the colour bar at its right ----
lg_c = '#000000'; lg_dt = 1; lg_pt = 0; lg_t = "χ_1 = 1: ordered phase left, chaotic right"
eval leg_line
leg_text[leg_n] = "χ_{1} = 1: ordered phase left, chaotic right"
if (npts > 0) {
    leg_n = leg_n + 1; leg_kind[leg_n] = 'point'; leg_color[leg_n] = '#009E73'; leg_dt[leg_n] = 1
    leg_pt[leg_n] = 9; leg_text[leg_n] = enh(sprintf("the runs of %s (no norm, gaussian init)", act))
    leg_maxlen = imax(leg_maxlen, strlen(leg_text[leg_n]))
}
tt = figure_title(enh(act) . ": order to chaos in the mean field", \
                  "colour: the depth scale ξ_{c} of the correlation map; blank where the length q grows without bound")
ml = 0.7; mr = 1.25; gx = 0; gy = 0
mt = title_h(tt) + 0.36
mb = 0.52 + legend_h(leg_n)
H = mt + 3.0 + mb
legend_top = H - legend_h(leg_n)
eval set_term(W, H)
set output out_file
set multiplot title tt @title_font
eval set_panel(1, 1, 1, 1)
unset title
set xlabel "σ_w"
set ylabel "σ_b"
set xrange [0.5:4.1]
set yrange [-0.025:1.525]
set xtics 0.5, 0.5, 4
set ytics 0, 0.25, 1.5
set format x '%g'
set format y '%g'
unset grid
set border 15 lw 0.8
set tics front
# log10 ξ_c from -1 to 3 (covshift writes 3 for 1000 layers or more).
set cbrange [-1:3]
set cbtics ("0.1" -1, "1" 0, "10" 1, "100" 2, "≥ 1000" 3) scale 0.6
# The bar's label above it: beside it, rotated, it would need more room
# than the page leaves at the right.
unset cblabel
set label 70 "ξ_c (layers)" at screen (W - mr + 0.27) / W, screen 1 - (mt - 0.2) / H center front
set palette defined (0 '#0d0887', 1 '#7e03a8', 2 '#cc4778', 3 '#f89540', 4 '#f0f921')
set colorbox user origin screen (W - mr + 0.2) / W, screen 1 - (mt + 3.0) / H \
    size screen 0.14 / W, screen 3.0 / H front border
set style fill solid 1.0 noborder
unset key
if (npts > 0) {
    plot grid_file index 0 using 1:2:3 with image notitle, \
         grid_file index 1 using 1:2 with lines lw 4 lc rgb '#ffffff' notitle, \
         grid_file index 1 using 1:2 with lines lw 1.6 lc rgb '#000000' notitle, \
         srcq(pts) using 1:2 with points pt 9 ps 1.2 lc rgb '#009E73' notitle, \
         srcq(pts) using 1:2 with points pt 8 ps 1.2 lc rgb '#ffffff' notitle
} else {
    plot grid_file index 0 using 1:2:3 with image notitle, \
         grid_file index 1 using 1:2 with lines lw 4 lc rgb '#ffffff' notitle, \
         grid_file index 1 using 1:2 with lines lw 1.6 lc rgb '#000000' notitle
}
unset colorbox
unset label 70
set border 3 lw 0.8
eval legend_draw(leg_n)
unset multiplot
set output

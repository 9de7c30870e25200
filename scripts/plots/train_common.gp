# Shared by the training figures (train_*.gp; docs/training.md), loaded
# after common.gp: which configurations a figure tells apart, their words,
# colours and run filters, and the figure's title. A configuration
# ("series") is the run parameters among `series_keys` that vary in the
# selected runs (norm, depth, lr, ...); seeds are pooled into a band. The
# SQL built here holds only column names written in this file and numbers;
# values from the database are compared through sqlq() literals.
# train_keys.gp names them (own_keys), so that common.gp does not hold them.
series_keys = "norm " . own_keys
if (int(sql("SELECT count(*) FROM run_params WHERE " . wherer . " AND train = 1")) == 0) {
    exit error sprintf("experiment '%s' has no training runs (train = true in [train])", experiment)
}
wheret = wherer . " AND train = 1"
# One SQL term per key: its word in a series name ('~' for a space).
# 'lr 0.1' rather than 'lr=0.1': the words of a series are shown at 8 pt in
# a legend column and a panel title, where '=' is as wide as two letters;
# ', ' between keys, where a title may break.
key_term(k) = k eq "norm" ? "CASE norm WHEN 'batch' THEN 'BN' ELSE 'no~BN' END" : \
              k eq "activation" || k eq "batch_order" ? k : \
              "'" . k . "~' || printf('%g', " . k . ")"
series_sql = ""
do for [k in series_keys] {
    if (int(sql("SELECT count(DISTINCT coalesce(" . k . ", '')) FROM run_params WHERE " . wheret)) > 1) {
        series_sql = series_sql . (series_sql eq "" ? "" : " || ',~' || ") . key_term(k)
    }
}
if (series_sql eq "") { series_sql = "CASE norm WHEN 'batch' THEN 'BN' ELSE 'no~BN' END" }
series = sql("SELECT coalesce(group_concat(s, ' '), '') FROM (SELECT DISTINCT " . series_sql . \
             " AS s FROM run_params WHERE " . wheret . " ORDER BY norm DESC, depth, lr, s)")
nseries = words(series)
series_label(s) = rep(s, "~", " ")
# The runs of series s, for any view with run_id.
in_series(s) = " AND run_id IN (SELECT run_id FROM run_params WHERE " . wheret . " AND " . \
               series_sql . " = " . sqlq(s) . ")"
series_color(i) = word("#000000 #0072B2 #D55E00 #009E73 #CC79A7 #E69F00 #56B4E9 #F0E442 #999999 #882255 #44AA99 #117733", (i - 1) % 12 + 1)
series_dt(i) = int((i - 1) / 12) + 1
key_len = 0
do for [s in series] { key_len = imax(key_len, strlen(s)) }

# What every run shares, from the database (shown through enh).
tv(label, col) = "'" . label . "' || CASE WHEN count(DISTINCT " . col . ") = 1 THEN printf(CASE typeof(min(" . col . \
                 ")) WHEN 'real' THEN '%g' ELSE '%s' END, min(" . col . ")) ELSE 'varies' END"
train_fixed = sql("SELECT " . tv("", "task") . " || ', ' || " . tv("depth ", "depth") . " || ' x ' || " . \
    tv("", "width") . " || ' ' || " . tv("", "activation") . " || ', batch ' || " . tv("", "batch") . \
    " || ', lr ' || " . tv("", "lr") . " || ', momentum ' || " . tv("", "sgd_momentum") . \
    " || ', ' || " . tv("", "train_steps") . " || ' steps, B = ' || " . tv("", "shift_scale") . \
    " || ' x + ' || " . tv("", "shift_mean") . " || ', ' || count(DISTINCT seed) || " . \
    "CASE WHEN count(DISTINCT seed) = 1 THEN ' seed' ELSE ' seeds' END FROM run_params WHERE " . wheret)
# The title (common.gp's print layout: lines of at most title_cols bytes):
# what the figure shows, how to read it (the script's own enhanced text),
# what every run shares, and any key outside the series held at a value.
# train_title_h(t) is the room it needs above the panels (in).
train_title(what, how) = wrap(enh(experiment) . ": " . what, title_cols) . "\n" . wrap(how, title_cols) . \
    "\n" . wrap(enh(train_fixed), title_cols) . \
    (held_text ne "" ? "\n" . wrap(enh("shown at " . held_text), title_cols) : "")
train_title_h(t) = title_h(t) + 0.36
# A series' words as shown in a title or label (enhanced text: 'batch_order'
# and 'sgd_momentum' keep their underscores); the legend (leg_line) escapes
# its words itself and takes series_label.
series_text(s) = enh(series_label(s))
# The series of the legend, in their colours and dashes, lg_pt the point.
# Their words are mostly digits, '_' and '.', at 8 pt about a fifth wider
# than the average character common.gp's legend columns assume: counted so.
leg_series = "do for [i = 1:nseries] { lg_c = series_color(i); lg_dt = series_dt(i); " . \
             "lg_t = series_label(word(series, i)); eval leg_line; " . \
             "leg_maxlen = imax(leg_maxlen, ceil(1.2 * strlen(lg_t))) }"

# Shared by the training figures (train_*.gp; docs/training.md), loaded
# after common.gp: which configurations a figure tells apart, their words,
# colours and run filters, and the figure's title. A configuration
# ("series") is the run parameters among `series_keys` that vary in the
# selected runs (norm, depth, lr, ...); seeds are pooled into a band. The
# SQL built here holds only column names written in this file and numbers;
# values from the database are compared through sqlq() literals.
series_keys = "norm depth width activation batch lr sgd_momentum weight_decay batch_order shift_scale shift_mean corrupt_noise occlusion train_steps"
if (int(sql("SELECT count(*) FROM run_params WHERE " . wherer . " AND train = 1")) == 0) {
    exit error sprintf("experiment '%s' has no training runs (train = true in [train])", experiment)
}
wheret = wherer . " AND train = 1"
# One SQL term per key: its word in a series name ('~' for a space).
key_term(k) = k eq "norm" ? "CASE norm WHEN 'batch' THEN 'BN' ELSE 'no~BN' END" : \
              k eq "activation" || k eq "batch_order" ? k : \
              "'" . k . "=' || printf('%g', " . k . ")"
series_sql = ""
do for [k in series_keys] {
    if (int(sql("SELECT count(DISTINCT coalesce(" . k . ", '')) FROM run_params WHERE " . wheret)) > 1) {
        series_sql = series_sql . (series_sql eq "" ? "" : " || '~' || ") . key_term(k)
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

# The title's second line: what every run shares.
tv(label, col) = "'" . label . "' || CASE WHEN count(DISTINCT " . col . ") = 1 THEN printf('%s', min(" . col . \
                 ")) ELSE ' varies' END"
train_fixed = sql("SELECT " . tv("", "task") . " || ', ' || " . tv("depth ", "depth") . " || ' x ' || " . \
    tv("", "width") . " || ' ' || " . tv("", "activation") . " || ', batch ' || " . tv("", "batch") . \
    " || ', lr ' || " . tv("", "lr") . " || ', momentum ' || " . tv("", "sgd_momentum") . \
    " || ', ' || " . tv("", "train_steps") . " || ' steps, B = ' || " . tv("", "shift_scale") . \
    " || ' x + ' || " . tv("", "shift_mean") . " || ', ' || count(DISTINCT seed) || " . \
    "CASE WHEN count(DISTINCT seed) = 1 THEN ' seed' ELSE ' seeds' END FROM run_params WHERE " . wheret)
train_title(what, how) = W < 19 ? experiment . ": " . what . "\n(" . how . ")\n" . train_fixed : \
                         experiment . ": " . what . " (" . how . ")\n" . train_fixed
# The room the title needs above the panels, in inches.
train_mt(w) = w < 19 ? 2.1 : 1.65

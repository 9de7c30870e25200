-- Drift between phases A and B by layer (docs/design.md §2 drift, §3
-- drift_by_depth): w1, mean_shift, var_log_ratio and kl_sym, the mean over
-- seeds, one row per configuration (every parameter but the seed; the
-- commonly swept ones are shown) and layer. Layer 0 is the input: the
-- shift that was injected. Numbers print with 4 significant digits; an
-- empty cell is NULL (a NaN, e.g. a diverged stack).
-- Parameters (.parameter set; unset: as said):
--   @experiment  one experiment's runs (unset: every experiment)
--   @site        'pre', 'norm' or 'post' (unset: 'post')
--   sqlite3 results/quickstart.db < scripts/queries/drift_by_depth.sql
--   sqlite3 -cmd ".parameter set @site 'norm'" results/quickstart.db < scripts/queries/drift_by_depth.sql
.headers on
.mode column
SELECT experiment, activation, condition, depth, batch,
       printf('%g', shift_mean) AS shift_mean, printf('%g', shift_scale) AS shift_scale, steps_a,
       layer,
       iif(avg(w1) IS NULL, NULL, printf('%.4g', avg(w1)))                       AS w1,
       iif(avg(mean_shift) IS NULL, NULL, printf('%.4g', avg(mean_shift)))       AS mean_shift,
       iif(avg(var_log_ratio) IS NULL, NULL, printf('%.4g', avg(var_log_ratio))) AS var_log_ratio,
       iif(avg(kl_sym) IS NULL, NULL, printf('%.4g', avg(kl_sym)))               AS kl_sym,
       count(*)                                                                  AS seeds
FROM drift_by_depth
WHERE site = coalesce(@site, 'post') AND (@experiment IS NULL OR experiment = @experiment)
GROUP BY experiment, depth, width, input_dim, batch, activation, init, sigma_w, sigma_b,
         condition, momentum, eps, input, shift_mean, shift_scale, steps_a, steps_b, bins, layer
ORDER BY experiment, activation, condition, depth, batch, shift_mean, shift_scale, steps_a,
         layer;

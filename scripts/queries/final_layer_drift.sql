-- Drift at the last layer of each run, the mean and the sample standard
-- deviation over seeds, one row per configuration (every parameter but
-- the seed; the commonly swept ones are shown): how much of the input
-- shift reaches the output. docs/design.md §2, §3. Numbers print with 4
-- significant digits (the sd with 2); an empty cell is NULL.
-- Parameters (.parameter set; unset: as said):
--   @experiment  one experiment's runs (unset: every experiment)
--   @site        'pre', 'norm' or 'post' (unset: 'post')
--   sqlite3 -cmd ".parameter set @experiment 'depth_sweep'" results/depth_sweep.db < scripts/queries/final_layer_drift.sql
.headers on
.mode column
WITH last AS (
    SELECT experiment, activation, condition, depth, batch, init, sigma_w, shift_mean,
           shift_scale, steps_a,
           avg(w1) AS w1, count(w1) AS n, sum(w1 * w1) AS w1_ss, sum(w1) AS w1_s,
           avg(mean_shift) AS mean_shift, avg(var_log_ratio) AS var_log_ratio,
           avg(kl_sym) AS kl_sym, count(*) AS seeds
    FROM drift_by_depth
    WHERE site = coalesce(@site, 'post') AND layer = depth
      AND (@experiment IS NULL OR experiment = @experiment)
    GROUP BY experiment, depth, width, input_dim, batch, activation, init, sigma_w, sigma_b,
             condition, momentum, eps, input, shift_mean, shift_scale, steps_a, steps_b, bins
)
SELECT experiment, activation, condition, depth, batch, init, printf('%g', sigma_w) AS sigma_w,
       printf('%g', shift_mean) AS shift_mean, printf('%g', shift_scale) AS shift_scale, steps_a,
       iif(w1 IS NULL, NULL, printf('%.4g', w1))                                AS w1,
       iif(n < 2, NULL, printf('%.2g', sqrt(max(w1_ss - w1_s * w1_s / n, 0) / (n - 1)))) AS w1_sd,
       iif(mean_shift IS NULL, NULL, printf('%.4g', mean_shift))                AS mean_shift,
       iif(var_log_ratio IS NULL, NULL, printf('%.4g', var_log_ratio))          AS var_log_ratio,
       iif(kl_sym IS NULL, NULL, printf('%.4g', kl_sym))                        AS kl_sym,
       seeds
FROM last
ORDER BY experiment, activation, condition, depth, batch, init, sigma_w, shift_mean, shift_scale,
         steps_a;

-- Drift at the last layer (site post) of each run, mean and sd over seeds,
-- one row per (experiment, depth, activation, init, sigma_w, condition):
-- how much of the input shift reaches the output. DESIGN §2, §3. Values
-- print with 4 significant digits; an empty cell is NULL.
.headers on
.mode column
WITH last AS (
    SELECT experiment, depth, activation, init, sigma_w, condition,
           avg(w1) AS w1, avg(w1 * w1) - avg(w1) * avg(w1) AS w1_var,
           avg(mean_shift) AS mean_shift, avg(var_log_ratio) AS var_log_ratio,
           avg(kl_sym) AS kl_sym, count(*) AS seeds
    FROM drift_by_depth
    WHERE site = 'post' AND layer = depth
    GROUP BY experiment, depth, activation, init, sigma_w, condition
)
SELECT experiment, depth, activation, init, sigma_w, condition,
       iif(w1 IS NULL, NULL, printf('%.4g', w1))                       AS w1,
       iif(w1_var IS NULL, NULL, printf('%.2g', sqrt(max(w1_var, 0)))) AS w1_sd,
       iif(mean_shift IS NULL, NULL, printf('%.4g', mean_shift))       AS mean_shift,
       iif(var_log_ratio IS NULL, NULL, printf('%.4g', var_log_ratio)) AS var_log_ratio,
       iif(kl_sym IS NULL, NULL, printf('%.4g', kl_sym))               AS kl_sym,
       seeds
FROM last
ORDER BY experiment, depth, activation, init, sigma_w, condition;

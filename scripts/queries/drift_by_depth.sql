-- Drift between phases A and B by layer at site post: w1 and mean_shift
-- (and the other two metrics), mean over seeds, one row per (experiment,
-- depth, activation, condition, layer). DESIGN §2 drift, §3 drift_by_depth.
-- Layer 0 is the input: the shift that was injected. Values print with 4
-- significant digits; an empty cell is NULL (a NaN, e.g. a diverged stack).
.headers on
.mode column
SELECT experiment, depth, activation, condition, layer,
       iif(avg(w1) IS NULL, NULL, printf('%.4g', avg(w1)))                 AS w1,
       iif(avg(mean_shift) IS NULL, NULL, printf('%.4g', avg(mean_shift))) AS mean_shift,
       iif(avg(var_log_ratio) IS NULL, NULL,
           printf('%.4g', avg(var_log_ratio)))                             AS var_log_ratio,
       iif(avg(kl_sym) IS NULL, NULL, printf('%.4g', avg(kl_sym)))         AS kl_sym,
       count(*)                                                            AS seeds
FROM drift_by_depth
WHERE site = 'post'
GROUP BY experiment, depth, activation, condition, layer
ORDER BY experiment, depth, activation, condition, layer;

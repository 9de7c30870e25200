-- Drift between phases A and B by depth at site post, mean over seeds, one
-- row per (activation, condition, layer). DESIGN §2 drift, §3 drift_by_depth.
.headers on
.mode column
SELECT activation, condition, layer,
       printf('%.4f', avg(mean_shift))    AS mean_shift,
       printf('%.4f', avg(var_log_ratio)) AS var_log_ratio,
       printf('%.4f', avg(kl_sym))        AS kl_sym,
       printf('%.4f', avg(w1))            AS w1,
       count(*)                           AS seeds
FROM drift_by_depth
WHERE site = 'post'
GROUP BY activation, condition, layer
ORDER BY activation, condition, layer;

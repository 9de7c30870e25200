-- Running averages (docs/claims.md): the gap between batch norm's running
-- mean and variance after phase A and the population's, against batch
-- size, a curve per shuffle setting, at the input (layer 0), layer 1 and
-- the last layer, the mean over seeds (the conditions pooled: their phase
-- A is the same). Numbers print with 4 significant digits.
-- Parameters (.parameter set; unset: as said):
--   @experiment  one experiment's runs (unset: every experiment)
--   sqlite3 results/running_averages.db < scripts/queries/running_gap_by_batch.sql
.headers on
.mode column
SELECT experiment,
       CASE coalesce(shuffle, 1) WHEN 1 THEN 'shuffled' ELSE 'one component per batch' END
           AS batches,
       batch, printf('%g', dropout) AS dropout, layer,
       printf('%.4g', avg(mean_gap))  AS mean_gap,
       printf('%.4g', avg(var_gap))   AS var_gap,
       printf('%.4g', avg(var_ratio)) AS var_ratio,
       count(DISTINCT seed)           AS seeds
FROM running_gap_by_run
WHERE layer IN (0, 1, depth) AND (@experiment IS NULL OR experiment = @experiment)
GROUP BY experiment, depth, width, input_dim, batch, activation, init, sigma_w, sigma_b,
         momentum, eps, input, mixture_k, mixture_sep, shuffle, dropout, steps_a, population,
         layer
ORDER BY experiment, coalesce(shuffle, 1) DESC, layer, batch, dropout;

-- Running averages, the consequence (docs/claims.md): phase B of
-- experiments/running_averages.ini is more of A normalised with the
-- running statistics frozen after phase A (inference on held-out A), so
-- its drift from phase A (training mode) at site norm is what
-- unrepresentative running statistics do to the activations, by depth:
-- the mean over seeds. Numbers print with 4 significant digits.
-- Parameters (.parameter set; unset: as said):
--   @experiment  one experiment's runs (unset: every experiment)
--   sqlite3 results/running_averages.db < scripts/queries/running_averages_drift.sql
.headers on
.mode column
SELECT p.experiment,
       CASE coalesce(p.shuffle, 1) WHEN 1 THEN 'shuffled' ELSE 'one component per batch' END
           AS batches,
       p.batch, d.layer,
       printf('%.4g', avg(d.mean_shift))    AS mean_shift,
       printf('%.4g', avg(d.var_log_ratio)) AS var_log_ratio,
       printf('%.4g', avg(d.w1))            AS w1,
       count(*)                             AS seeds
FROM drift d JOIN run_params p ON p.run_id = d.run_id
WHERE d.site = 'norm' AND p.status = 'done' AND p.norm = 'batch' AND p.bn_phase_b = 'frozen'
  AND (@experiment IS NULL OR p.experiment = @experiment)
GROUP BY p.experiment, p.depth, p.width, p.input_dim, p.batch, p.activation, p.init, p.sigma_w,
         p.sigma_b, p.momentum, p.eps, p.input, p.mixture_k, p.mixture_sep, p.shuffle,
         p.dropout, p.steps_a, p.population, d.layer
ORDER BY p.experiment, coalesce(p.shuffle, 1) DESC, p.batch, d.layer;

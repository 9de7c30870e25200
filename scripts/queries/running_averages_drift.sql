-- Issue 6, running averages, the consequence: phase B of
-- experiments/running_averages.ini is more of A normalised with the
-- running statistics frozen after phase A (inference on held-out A), so
-- its drift from phase A (training mode) is what unrepresentative running
-- statistics do to the activations, by depth.
--   sqlite3 -header -column results/running_averages.db < scripts/queries/running_averages_drift.sql
SELECT CASE p.shuffle WHEN 1 THEN 'shuffled' ELSE 'one component per batch' END AS batches,
       d.batch, d.layer, d.mean_shift, d.var_log_ratio, d.w1
FROM drift_by_depth d JOIN run_params p ON p.run_id = d.run_id
WHERE d.site = 'norm' AND d.experiment = 'running_averages'
ORDER BY p.shuffle DESC, d.batch, d.layer;

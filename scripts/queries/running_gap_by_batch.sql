-- Issue 6, running averages: the gap between batch norm's running mean and
-- variance after phase A and the population's, against batch size, a
-- curve per shuffle setting, at the input (layer 0), layer 1 and the last
-- layer.
--   sqlite3 -header -column results/running_averages.db < scripts/queries/running_gap_by_batch.sql
SELECT CASE shuffle WHEN 1 THEN 'shuffled' ELSE 'one component per batch' END AS batches,
       batch, layer, mean_gap, var_gap, var_ratio
FROM running_gap_by_run
WHERE layer IN (0, 1, depth)
ORDER BY shuffle DESC, layer, batch;

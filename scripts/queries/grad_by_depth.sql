-- Issue 6, gradients by depth: the mean over phase A's steps of the
-- per-example gradient norm at each layer's output (layer 0 = the input),
-- a curve per condition and activation, for a log-scale plot against layer.
-- Batch norm at init: grows geometrically towards the input (Yang et al.
-- 2019); none with He init: roughly flat.
--   sqlite3 -header -column results/grad_by_depth.db < scripts/queries/grad_by_depth.sql
SELECT activation, condition, layer,
       avg(grad_x_norm) AS grad_x_norm,
       avg(grad_w_norm) AS grad_w_norm
FROM grad_by_depth
WHERE phase = 'A'
GROUP BY activation, condition, layer
ORDER BY activation, condition, layer;

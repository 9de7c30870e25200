-- Issue 6, batch-norm noise vs dropout noise: the noise-to-signal ratio of
-- a probe's post-activation across batch compositions (and dropout masks)
-- by depth, a curve per condition and batch size.
--   sqlite3 -header -column results/bn_noise.db < scripts/queries/bn_noise_by_depth.sql
SELECT condition, batch, layer, avg(noise) AS noise
FROM noise_by_depth
WHERE site = 'post'
GROUP BY condition, batch, layer
ORDER BY condition, batch, layer;

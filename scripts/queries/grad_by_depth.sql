-- Issue 6, gradients by depth: the per-example gradient norm at each
-- layer's output (layer 0 = the input), mean over steps and seeds, a
-- curve per activation and condition, for a log-scale plot against layer.
-- bn-frozen is taken from phase B, where it normalises with the running
-- statistics frozen after phase A (its phase A is bn-batch's); the others
-- from phase A. Through batch statistics the gradient grows geometrically
-- towards the input (Yang et al. 2019); without batch norm (He init) and
-- through frozen statistics it stays nearly flat.
--   sqlite3 -header -column results/grad_by_depth.db < scripts/queries/grad_by_depth.sql
SELECT activation,
       CASE WHEN bn_phase_b = 'frozen' THEN condition || ' (phase B)' ELSE condition END
           AS curve,
       layer,
       avg(grad_x_norm) AS grad_x_norm,
       avg(grad_w_norm) AS grad_w_norm
FROM grad_by_depth
WHERE phase = CASE WHEN bn_phase_b = 'frozen' THEN 'B' ELSE 'A' END
GROUP BY activation, curve, layer
ORDER BY activation, curve, layer;

-- Gradients by depth (docs/claims.md): the per-example gradient norm at
-- each layer's output (layer 0 = the input) and the weights' gradient,
-- the mean over steps and seeds, a curve per configuration (every
-- parameter but the seed), for a log-scale plot against layer. bn-frozen
-- and bn-ema are taken from phase B, where they normalise with running
-- statistics (their phase A is bn-batch's); the others from phase A.
-- Through batch statistics the gradient grows geometrically towards the
-- input (Yang et al. 2019); without batch norm (He init) and through frozen
-- statistics it stays nearly flat. Numbers print with 4 significant digits.
-- Parameters (.parameter set; unset: as said):
--   @experiment  one experiment's runs (unset: every experiment)
--   sqlite3 results/grad_by_depth.db < scripts/queries/grad_by_depth.sql
.headers on
.mode column
SELECT experiment, activation, condition, depth, batch, phase, layer,
       iif(avg(grad_x_norm) IS NULL, NULL, printf('%.4g', avg(grad_x_norm))) AS grad_x_norm,
       iif(avg(grad_w_norm) IS NULL, NULL, printf('%.4g', avg(grad_w_norm))) AS grad_w_norm,
       count(DISTINCT seed) AS seeds
FROM grad_by_depth
WHERE phase = CASE WHEN bn_phase_b IN ('frozen', 'ema') THEN 'B' ELSE 'A' END
  AND (@experiment IS NULL OR experiment = @experiment)
GROUP BY experiment, depth, width, input_dim, batch, activation, init, sigma_w, sigma_b,
         condition, momentum, eps, input, steps_a, steps_b, layer
ORDER BY experiment, activation, condition, depth, batch, layer;

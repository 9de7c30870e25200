-- Batch-norm noise against dropout noise (docs/claims.md): the
-- noise-to-signal ratio of a probe's activations across batch
-- compositions (and dropout masks) by depth, the mean ± the sample sd over
-- seeds, a curve per condition and batch size. Numbers print with 4
-- significant digits (the sd with 2).
-- Parameters (.parameter set; unset: as said):
--   @experiment  one experiment's runs (unset: every experiment)
--   @site        'pre', 'norm' or 'post' (unset: 'post')
--   sqlite3 results/bn_noise.db < scripts/queries/bn_noise_by_depth.sql
.headers on
.mode column
SELECT experiment, condition, batch, layer,
       iif(avg(noise) IS NULL, NULL, printf('%.4g', avg(noise))) AS noise,
       iif(count(noise) < 2, NULL,
           printf('%.2g', sqrt(max(sum(noise * noise) - sum(noise) * sum(noise) / count(noise), 0)
                               / (count(noise) - 1))))            AS noise_sd,
       count(*)                                                  AS seeds
FROM noise_by_depth
WHERE site = coalesce(@site, 'post') AND (@experiment IS NULL OR experiment = @experiment)
GROUP BY experiment, depth, width, input_dim, batch, activation, init, sigma_w, sigma_b,
         condition, input, noise_probes, noise_batches, layer
ORDER BY experiment, condition, batch, layer;

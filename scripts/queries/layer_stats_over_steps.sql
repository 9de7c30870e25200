-- Statistics of one layer over the steps of one run: mean, var and the
-- percentile band p01..p99, phase A then B (docs/design.md §2 layer_stats).
-- Numbers print with 4 significant digits; an empty cell is NULL (no
-- finite entry in that batch: see nonfinite).
-- Parameters (.parameter set; unset: as said):
--   @run    a run id, as covshift list shows it (unset: the latest done run)
--   @layer  0 .. depth (unset: the run's middle layer, depth / 2)
--   @site   'pre', 'norm' or 'post' (unset: 'post')
--   sqlite3 -cmd ".parameter set @run 3" -cmd ".parameter set @layer 1" results/quickstart.db < scripts/queries/layer_stats_over_steps.sql
.headers on
.mode column
WITH pick(run_id, layer, site) AS (
    SELECT id, coalesce(@layer, depth / 2), coalesce(@site, 'post') FROM runs
    WHERE status = 'done' AND (@run IS NULL OR id = @run)
    ORDER BY id DESC LIMIT 1
)
SELECT s.run_id, s.condition, s.layer, s.site, s.step, s.phase, s.step_in_phase,
       iif(s.mean IS NULL, NULL, printf('%.4g', s.mean))                     AS mean,
       iif(s.var IS NULL, NULL, printf('%.4g', s.var))                       AS var,
       iif(s.p01 IS NULL, NULL, printf('%.4g', s.p01))                       AS p01,
       iif(s.p15 IS NULL, NULL, printf('%.4g', s.p15))                       AS p15,
       iif(s.p50 IS NULL, NULL, printf('%.4g', s.p50))                       AS p50,
       iif(s.p85 IS NULL, NULL, printf('%.4g', s.p85))                       AS p85,
       iif(s.p99 IS NULL, NULL, printf('%.4g', s.p99))                       AS p99,
       iif(s.frac_zero IS NULL, NULL, printf('%.4g', s.frac_zero))           AS frac_zero,
       iif(s.frac_saturated IS NULL, NULL, printf('%.4g', s.frac_saturated)) AS frac_saturated,
       s.nonfinite
FROM layer_stats_by_run s
JOIN pick p ON p.run_id = s.run_id AND p.layer = s.layer AND p.site = s.site
ORDER BY s.step;

-- Statistics of one layer over the steps of a run: mean, var and the
-- percentile band p01..p99 at site post, phase A then B (DESIGN §2
-- layer_stats). Edit `pick` to choose the run and layer; by default the
-- latest done run and its middle layer. An empty cell is NULL: no finite
-- entry in that batch (see nonfinite).
.headers on
.mode column
WITH pick(run_id, layer) AS (
    SELECT id, depth / 2 FROM runs WHERE status = 'done' ORDER BY id DESC LIMIT 1
)
SELECT s.run_id, s.condition, s.layer, s.step, s.phase, s.step_in_phase,
       iif(s.mean IS NULL, NULL, printf('%.4g', s.mean)) AS mean,
       iif(s.var IS NULL, NULL, printf('%.4g', s.var))   AS var,
       iif(s.p01 IS NULL, NULL, printf('%.4g', s.p01))   AS p01,
       iif(s.p15 IS NULL, NULL, printf('%.4g', s.p15))   AS p15,
       iif(s.p50 IS NULL, NULL, printf('%.4g', s.p50))   AS p50,
       iif(s.p85 IS NULL, NULL, printf('%.4g', s.p85))   AS p85,
       iif(s.p99 IS NULL, NULL, printf('%.4g', s.p99))   AS p99,
       round(s.frac_zero, 3)                             AS frac_zero,
       round(s.frac_saturated, 3)                        AS frac_saturated,
       s.nonfinite
FROM layer_stats_by_run s JOIN pick p ON p.run_id = s.run_id AND p.layer = s.layer
WHERE s.site = 'post'
ORDER BY s.step;

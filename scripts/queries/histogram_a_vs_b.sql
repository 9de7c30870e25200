-- Phase A and phase B histograms of one (run, layer, site) side by side,
-- as fractions of each phase's entries, on the bins A's first batch fixed
-- (docs/design.md §2 histograms). Bin -1 is underflow (lo NULL, shown -inf), bin =
-- bins is overflow (hi NULL, shown +inf). Edges and fractions print with
-- 4 significant digits.
-- Parameters (.parameter set; unset: as said):
--   @run    a run id, as covshift list shows it (unset: the latest done run)
--   @layer  0 .. depth (unset: the run's last layer)
--   @site   'pre', 'norm' or 'post' (unset: 'post')
--   sqlite3 -cmd ".parameter set @run 3" -cmd ".parameter set @layer 1" results/quickstart.db < scripts/queries/histogram_a_vs_b.sql
.headers on
.mode column
WITH pick(run_id, layer, site) AS (
    SELECT id, coalesce(@layer, depth), coalesce(@site, 'post') FROM runs
    WHERE status = 'done' AND (@run IS NULL OR id = @run)
    ORDER BY id DESC LIMIT 1
),
tot AS (
    SELECT h.phase, sum(h.count) AS n
    FROM histograms h JOIN pick p USING (run_id, layer, site)
    GROUP BY h.phase
)
SELECT a.run_id, a.layer, a.site, a.bin,
       iif(a.lo IS NULL, '-inf', printf('%.4g', a.lo)) AS lo,
       iif(a.hi IS NULL, '+inf', printf('%.4g', a.hi)) AS hi,
       printf('%.4g', 1.0 * a.count / ta.n) AS frac_a,
       printf('%.4g', 1.0 * b.count / tb.n) AS frac_b
FROM histograms a
JOIN pick p ON p.run_id = a.run_id AND p.layer = a.layer AND p.site = a.site
JOIN histograms b ON b.run_id = a.run_id AND b.layer = a.layer AND b.site = a.site
                 AND b.bin = a.bin AND b.phase = 'B'
JOIN tot ta ON ta.phase = 'A'
JOIN tot tb ON tb.phase = 'B'
WHERE a.phase = 'A'
ORDER BY a.bin;

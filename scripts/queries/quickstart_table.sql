-- The quickstart's table on the front page (README.md, the quickstart's
-- result): drift at site post at the input (layer 0), the middle and the
-- last layer, the mean over seeds, for each of the 8 conditions
-- (activation x no norm and batch norm's three phase-B modes), with 4
-- significant digits, as a Markdown table: the README's table is this query's
-- output, and tests/test_quickstart.sh checks that it still is.
-- Parameters (.parameter set; unset: as said):
--   @experiment  (unset: 'quickstart')
--   sqlite3 results/quickstart.db < scripts/queries/quickstart_table.sql
.headers on
.mode markdown
SELECT activation,
       CASE condition WHEN 'none' THEN 'no norm' WHEN 'bn-batch' THEN 'BN batch'
                      WHEN 'bn-frozen' THEN 'BN frozen' WHEN 'bn-ema' THEN 'BN ema'
                      ELSE condition END AS condition,
       printf('%.4g / %.4g / %.4g',
              avg(CASE WHEN layer = 0 THEN mean_shift END),
              avg(CASE WHEN layer = (depth + 1) / 2 THEN mean_shift END),
              avg(CASE WHEN layer = depth THEN mean_shift END)) AS "mean_shift at layer 0 / middle / last",
       printf('%.4g / %.4g / %.4g',
              avg(CASE WHEN layer = 0 THEN w1 END),
              avg(CASE WHEN layer = (depth + 1) / 2 THEN w1 END),
              avg(CASE WHEN layer = depth THEN w1 END)) AS "w1 at layer 0 / middle / last"
FROM drift_by_depth
WHERE site = 'post' AND experiment = coalesce(@experiment, 'quickstart')
GROUP BY activation, condition
ORDER BY activation,
         CASE condition WHEN 'none' THEN 0 WHEN 'bn-batch' THEN 1 WHEN 'bn-frozen' THEN 2
                        ELSE 3 END;

-- Runs per experiment and status, with total wall time, then every run
-- that did not finish with its error (docs/design.md §3 runs). A 'running' run
-- whose process is gone is redone by the next `covshift run`; `covshift
-- list DB --status failed` shows the same with the keys that vary.
-- Parameters (.parameter set; unset: as said):
--   @experiment  one experiment's runs (unset: every experiment)
--   sqlite3 results/quickstart.db < scripts/queries/runs_status.sql
.headers on
.mode column
SELECT e.name AS experiment, r.status, count(*) AS runs,
       printf('%.4g', total(r.wall_s)) AS wall_s
FROM runs r JOIN experiments e ON e.id = r.experiment_id
WHERE @experiment IS NULL OR e.name = @experiment
GROUP BY e.name, r.status
ORDER BY e.name, r.status;

SELECT run_id, experiment, status, condition, depth, width, batch, activation, seed,
       started_at, coalesce(error, '') AS error
FROM run_params
WHERE status <> 'done' AND (@experiment IS NULL OR experiment = @experiment)
ORDER BY run_id;

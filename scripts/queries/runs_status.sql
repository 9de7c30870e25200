-- Runs per experiment and status, with total wall time, then every run
-- that did not finish with its error (DESIGN §3 runs). A 'running' run
-- whose process is gone is redone by the next `covshift run`.
.headers on
.mode column
SELECT e.name AS experiment, r.status, count(*) AS runs,
       printf('%.1f', sum(r.wall_s)) AS wall_s
FROM runs r JOIN experiments e ON e.id = r.experiment_id
GROUP BY e.name, r.status
ORDER BY e.name, r.status;

SELECT run_id, experiment, status, condition, depth, width, activation, seed,
       started_at, coalesce(error, '') AS error
FROM run_params
WHERE status <> 'done'
ORDER BY run_id;

-- Runs per experiment and status, with total wall time (DESIGN §3 runs).
.headers on
.mode column
SELECT e.name AS experiment, r.status, count(*) AS runs, printf('%.1f', sum(r.wall_s)) AS wall_s
FROM runs r JOIN experiments e ON e.id = r.experiment_id
GROUP BY e.name, r.status
ORDER BY e.name, r.status;

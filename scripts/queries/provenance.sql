-- Where each experiment's results came from: covshift version and git
-- revision, compiler, BLAS, RNG, host, the command line and when; then the
-- builds and hosts its runs actually ran on (a resumed sweep may mix them).
-- DESIGN §3 experiments.
.headers on
.mode line
SELECT id, name, created_at, covshift_version, git_revision, compiler, blas, rng, host,
       command_line
FROM experiments
ORDER BY id;
.mode column
SELECT e.name AS experiment, r.git_revision, r.host, count(*) AS runs,
       min(r.started_at) AS first_started, max(r.finished_at) AS last_finished
FROM runs r JOIN experiments e ON e.id = r.experiment_id
GROUP BY e.name, r.git_revision, r.host
ORDER BY e.name;

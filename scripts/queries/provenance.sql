-- Where each experiment's results came from: covshift version and git
-- revision (with -dirty when the tree had uncommitted changes), compiler,
-- BLAS and its kernel, RNG, host, the command line (shell-quoted: paste it
-- to run it again) and when; then the builds and hosts its runs actually
-- ran on (a resumed sweep may mix them). docs/design.md §3 experiments.
-- Parameters (.parameter set; unset: as said):
--   @experiment  one experiment (unset: every experiment)
--   sqlite3 results/quickstart.db < scripts/queries/provenance.sql
.headers on
.mode line
SELECT id, name, created_at, covshift_version, git_revision, compiler, blas, rng, host,
       command_line
FROM experiments
WHERE @experiment IS NULL OR name = @experiment
ORDER BY id;
.mode column
SELECT e.name AS experiment, r.git_revision, r.host, count(*) AS runs,
       min(r.started_at) AS first_started, max(r.finished_at) AS last_finished
FROM runs r JOIN experiments e ON e.id = r.experiment_id
WHERE @experiment IS NULL OR e.name = @experiment
GROUP BY e.name, r.git_revision, r.host
ORDER BY e.name;

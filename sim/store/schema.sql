-- covshift results schema: the public SQL contract of docs/design.md §3.
-- Embedded into the binary (cs_schema_sql) and applied by cs_store_open;
-- every statement is IF NOT EXISTS so applying it again changes nothing.
-- docs/database.md documents each column (tests/test_docs.sh checks that it
-- does), and the runs table's parameter columns are the parameter table's
-- (sim/model/cs_param.c; tests/test_param_table.c checks them).

-- One experiment file as run: its name and resolved text identify it, so a
-- re-run of the same file finds this row again and resumes (docs/design.md §3).
-- The other columns are provenance, recorded by the process that created it.
CREATE TABLE IF NOT EXISTS experiments (
    id               INTEGER PRIMARY KEY,
    name             TEXT NOT NULL,
    config_text      TEXT NOT NULL,
    created_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    covshift_version TEXT NOT NULL,
    command_line     TEXT,
    git_revision     TEXT,
    compiler         TEXT,
    blas             TEXT,
    host             TEXT,
    rng              TEXT,
    UNIQUE (name, config_text)
);

-- One run: the resolved parameters (docs/design.md §1) as typed columns, and its
-- state. Result rows exist only for status 'done' (one transaction).
-- AUTOINCREMENT: the id of a deleted stale attempt is never reused, so a
-- run id once seen always means the same run.
CREATE TABLE IF NOT EXISTS runs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    experiment_id INTEGER NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
    run_key       TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('done', 'failed', 'running')),
    seed          INTEGER NOT NULL,
    depth         INTEGER NOT NULL,
    width         INTEGER NOT NULL,
    input_dim     INTEGER NOT NULL,
    batch         INTEGER NOT NULL,
    activation    TEXT NOT NULL,
    init          TEXT NOT NULL,
    sigma_w       REAL NOT NULL,
    sigma_b       REAL NOT NULL,
    norm          TEXT NOT NULL CHECK (norm IN ('none', 'batch', 'layer', 'rms')),
    -- docs/design.md §1: no meaning without batch norm's running statistics,
    -- so NULL for none, layer and rms
    bn_phase_b    TEXT CONSTRAINT bn_phase_b_null_unless_batch_norm
                  CHECK ((norm IN ('none', 'layer', 'rms') AND bn_phase_b IS NULL) OR
                         (norm = 'batch' AND bn_phase_b IN ('batch', 'frozen', 'ema'))),
    momentum      REAL NOT NULL,
    eps           REAL NOT NULL,
    input         TEXT NOT NULL,
    shift_mean    REAL NOT NULL,
    shift_scale   REAL NOT NULL,
    steps_a       INTEGER NOT NULL,
    steps_b       INTEGER NOT NULL,
    bins          INTEGER NOT NULL,
    params        TEXT NOT NULL,   -- canonical text the run_key hashes
    started_at    TEXT NOT NULL,
    finished_at   TEXT,
    wall_s        REAL,
    error         TEXT,
    git_revision  TEXT,            -- build and machine of this run (resumes may differ)
    host          TEXT,
    -- The claims' parameters (schema version 2; version 1 databases get them
    -- with these defaults, which are what their runs did).
    dropout       REAL NOT NULL DEFAULT 0,
    grad          INTEGER NOT NULL DEFAULT 0,
    noise_probes  INTEGER NOT NULL DEFAULT 0,
    noise_batches INTEGER,         -- NULL when noise_probes = 0
    mixture_k     INTEGER,         -- NULL unless input = 'mixture'
    mixture_sep   REAL,            -- NULL unless input = 'mixture'
    shuffle       INTEGER,         -- NULL unless input = 'mixture'
    population    INTEGER NOT NULL DEFAULT 0,
    -- Later parameters: a database without one gets it with its default.
    affine        INTEGER NOT NULL DEFAULT 0,
    -- Training (docs/design.md §7): the defaults when train = 0.
    train         INTEGER NOT NULL DEFAULT 0,
    task          TEXT NOT NULL DEFAULT 'teacher',
    criterion     TEXT NOT NULL DEFAULT 'cross_entropy',
    train_steps   INTEGER NOT NULL DEFAULT 1000,
    lr            REAL NOT NULL DEFAULT 0.01,
    sgd_momentum  REAL NOT NULL DEFAULT 0.90000000000000002,
    weight_decay  REAL NOT NULL DEFAULT 0,
    eval_every    INTEGER NOT NULL DEFAULT 100,
    eval_size     INTEGER NOT NULL DEFAULT 10000,
    train_size    INTEGER NOT NULL DEFAULT 60000,
    batch_order   TEXT NOT NULL DEFAULT 'shuffled',
    outputs       INTEGER NOT NULL DEFAULT 10,
    teacher_depth INTEGER NOT NULL DEFAULT 2,
    teacher_width INTEGER NOT NULL DEFAULT 64,
    bn_prior      REAL NOT NULL DEFAULT 16,
    corrupt_noise REAL NOT NULL DEFAULT 0,
    occlusion     INTEGER NOT NULL DEFAULT 0,
    probe_layer   INTEGER NOT NULL DEFAULT 0,
    c0            REAL,            -- NULL unless input = 'correlated'
    -- Schema version 3: the process that claimed the run (docs/database.md,
    -- runs, transactions and resuming); NULL in runs written before. A
    -- 'running' run whose holder is gone is reclaimed by the next covshift
    -- run of its experiment.
    holder_host   TEXT,            -- uname nodename
    holder_pid    INTEGER,
    holder_start  TEXT,            -- 'BOOT_ID/TICKS': boot id and start time of that pid
    -- Schema version 4: the version of the run's drift rows (docs/design.md
    -- §2); 1 for every run stored before, 2 for runs of covshift since.
    metrics       INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS runs_by_key ON runs (run_key, status);
CREATE INDEX IF NOT EXISTS runs_by_experiment ON runs (experiment_id);
-- At most one claim in progress per run of an experiment (claims are taken
-- inside BEGIN IMMEDIATE; this makes a second one an error, never a row).
CREATE UNIQUE INDEX IF NOT EXISTS runs_one_claim ON runs (experiment_id, run_key)
    WHERE status = 'running';

-- docs/design.md §2 statistics per run, step (batch), layer and site. NaN is
-- stored as NULL (SQLite has no NaN): a diverged stack shows NULL moments
-- with nonfinite > 0.
CREATE TABLE IF NOT EXISTS layer_stats (
    run_id         INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step           INTEGER NOT NULL,
    phase          TEXT NOT NULL CHECK (phase IN ('A', 'B')),
    layer          INTEGER NOT NULL,
    site           TEXT NOT NULL CHECK (site IN ('pre', 'norm', 'post')),
    mean           REAL,
    var            REAL,
    mean_spread    REAL,
    var_within     REAL,
    min            REAL,
    max            REAL,
    p01            REAL,
    p15            REAL,
    p50            REAL,
    p85            REAL,
    p99            REAL,
    frac_zero      REAL,
    frac_saturated REAL,
    nonfinite      INTEGER NOT NULL,
    -- Added without a new schema version (NULL in rows written before):
    -- the mean cosine similarity between the batch's rows, over the pairs
    -- of rows with a nonzero norm; NULL with fewer than two such rows or a
    -- nonfinite entry.
    corr_mean      REAL,
    PRIMARY KEY (run_id, step, layer, site)
) WITHOUT ROWID;

-- Histograms pooled over each phase's batches, on bins fixed by phase A's
-- first batch (docs/design.md §2). bin -1 is underflow (lo NULL), bin = bins is
-- overflow (hi NULL); bins 0..bins-1 cover [lo, hi).
CREATE TABLE IF NOT EXISTS histograms (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    phase  TEXT NOT NULL CHECK (phase IN ('A', 'B')),
    layer  INTEGER NOT NULL,
    site   TEXT NOT NULL CHECK (site IN ('pre', 'norm', 'post')),
    bin    INTEGER NOT NULL,
    lo     REAL,
    hi     REAL,
    count  INTEGER NOT NULL,
    PRIMARY KEY (run_id, phase, layer, site, bin)
) WITHOUT ROWID;

-- Drift between phases A and B per run, layer and site (docs/design.md §2),
-- in the version runs.metrics names: 2 scale-free, with an exact w1; 1
-- (databases before schema version 4) as docs/database.md describes.
CREATE TABLE IF NOT EXISTS drift (
    run_id        INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    layer         INTEGER NOT NULL,
    site          TEXT NOT NULL CHECK (site IN ('pre', 'norm', 'post')),
    mean_shift    REAL,
    var_log_ratio REAL,
    kl_sym        REAL,
    w1            REAL,
    -- Schema version 4 (metrics 2; NULL for metrics 1): the bounded
    -- per-unit divergence and the units constant in A (left out) and in B.
    hellinger_sq  REAL,
    n_const_a     INTEGER,
    n_const_b     INTEGER,
    PRIMARY KEY (run_id, layer, site)
) WITHOUT ROWID;

-- Gradients at initialisation (docs/design.md §2): per run, step and layer, for the
-- loss L = (1/2m) sum_i ||x^(depth)_i R^T - t_i||^2 of a fixed random
-- readout R and random targets t. grad_x_norm is the mean over the batch's
-- examples of ||dL/dx^(layer)_i|| (site post; layer 0 is the input),
-- grad_h_norm the same for dL/dh (site pre), grad_w_norm = ||dL/dW||_F,
-- grad_b_norm = ||dL/db||; the last three are NULL at layer 0.
CREATE TABLE IF NOT EXISTS grad_stats (
    run_id      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step        INTEGER NOT NULL,
    phase       TEXT NOT NULL CHECK (phase IN ('A', 'B')),
    layer       INTEGER NOT NULL,
    loss        REAL,
    grad_x_norm REAL,
    grad_h_norm REAL,
    grad_w_norm REAL,
    grad_b_norm REAL,
    PRIMARY KEY (run_id, step, layer)
) WITHOUT ROWID;

-- Noise a probe example's activations carry from its random batch-mates
-- (batch norm) and dropout masks (docs/design.md §2): per run, layer >= 1 and site,
-- noise = sqrt(var_across / signal), var_across the mean over probes and
-- units of the variance across noise_batches batch compositions, signal
-- the mean of the squared mean across them (bias-corrected, docs/database.md).
CREATE TABLE IF NOT EXISTS bn_noise (
    run_id     INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    layer      INTEGER NOT NULL,
    site       TEXT NOT NULL CHECK (site IN ('pre', 'norm', 'post')),
    noise      REAL,
    var_across REAL,
    signal     REAL,
    PRIMARY KEY (run_id, layer, site)
) WITHOUT ROWID;

-- Batch norm's running statistics after phase A against the population
-- statistics of A at the same place (docs/design.md §2), per run and layer: layer 0
-- is the input (exact population), layer >= 1 the pre site h, whose
-- population comes from `population` held-out examples.
CREATE TABLE IF NOT EXISTS running_gap (
    run_id    INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    layer     INTEGER NOT NULL,
    mean_gap  REAL,
    var_gap   REAL,
    var_ratio REAL,
    PRIMARY KEY (run_id, layer)
) WITHOUT ROWID;

-- Training runs (train = 1, docs/design.md §7) store these instead of
-- layer_stats, histograms and drift. Added without a new schema version:
-- a database without them gets them (empty) from the next covshift that
-- writes to it, as it has no training run.

-- The loss of every SGD step on its own batch, before the step's update.
CREATE TABLE IF NOT EXISTS train_loss (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step   INTEGER NOT NULL,
    loss   REAL,
    PRIMARY KEY (run_id, step)
) WITHOUT ROWID;

-- Held-out A and B after `step` updates (0, eval_every, ..., train_steps),
-- for each way batch norm treats them: 'batch', 'frozen', 'ema', 'adapted'
-- (prior_n = bn_prior), or 'none' without batch norm.
CREATE TABLE IF NOT EXISTS train_eval (
    run_id   INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step     INTEGER NOT NULL,
    dataset  TEXT NOT NULL CHECK (dataset IN ('A', 'B')),
    mode     TEXT NOT NULL CHECK (mode IN ('none', 'batch', 'frozen', 'ema', 'adapted')),
    prior_n  REAL,              -- adapted: Schneider et al.'s N; NULL for the other modes
    loss     REAL,
    accuracy REAL,
    examples INTEGER NOT NULL,
    PRIMARY KEY (run_id, step, dataset, mode)
) WITHOUT ROWID;

-- After training, held-out A and B under adapted statistics for a ladder
-- of prior strengths N (0, 1, 2, 4, ..., 16384); batch norm runs only.
CREATE TABLE IF NOT EXISTS train_prior (
    run_id   INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    dataset  TEXT NOT NULL CHECK (dataset IN ('A', 'B')),
    prior_n  REAL NOT NULL,
    loss     REAL,
    accuracy REAL,
    PRIMARY KEY (run_id, dataset, prior_n)
) WITHOUT ROWID;

-- A fixed probe batch (the first batch of held-out A) through the network
-- with batch statistics after `step` updates: the docs/design.md §2
-- statistics of each (layer, site), and unit 0's percentiles (Ioffe and
-- Szegedy 2015, Fig. 1 b, c).
CREATE TABLE IF NOT EXISTS train_probe (
    run_id         INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step           INTEGER NOT NULL,
    layer          INTEGER NOT NULL,
    site           TEXT NOT NULL CHECK (site IN ('pre', 'norm', 'post')),
    mean           REAL,
    var            REAL,
    mean_spread    REAL,
    var_within     REAL,
    min            REAL,
    max            REAL,
    p01            REAL,
    p15            REAL,
    p50            REAL,
    p85            REAL,
    p99            REAL,
    frac_zero      REAL,
    frac_saturated REAL,
    nonfinite      INTEGER NOT NULL,
    unit_p15       REAL,
    unit_p50       REAL,
    unit_p85       REAL,
    PRIMARY KEY (run_id, step, layer, site)
) WITHOUT ROWID;

-- Per layer (1..depth, depth + 1 the readout) at steps 0, eval_every, ...:
-- gradient norms of the step's batch, the weights' norm before its update,
-- and Santurkar et al. 2018's internal covariate shift ||G - G'|| and
-- cos(G, G'), G' the gradient after the layers below took the update.
CREATE TABLE IF NOT EXISTS train_layers (
    run_id          INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step            INTEGER NOT NULL,
    layer           INTEGER NOT NULL,
    grad_w_norm     REAL,
    grad_b_norm     REAL,
    grad_gamma_norm REAL,       -- NULL without affine batch norm, and for the readout
    grad_beta_norm  REAL,
    weight_norm     REAL,
    ics_l2          REAL,
    ics_cos         REAL,
    PRIMARY KEY (run_id, step, layer)
) WITHOUT ROWID;

-- Mean-field predictions (docs/design.md §9), per run, phase and layer, from
-- the run's parameters alone: rows for runs with norm = none (every column)
-- and for norm = batch with relu (bn_grad_rate only, layers 1..depth, the
-- rest NULL); none for training runs, with dropout or input = mixture. Layer 0 is the input: q
-- and q_post its second moment per feature, c and c_post the correlation of
-- two independent inputs (c0 with input = correlated). q is E h^2 at site pre (compare var + mean^2 of
-- layer_stats), q_post E phi(h)^2 at site post, c and c_post the correlation
-- map of two inputs at pre and post. q_star .. xi_c, the same on every row of
-- a run, are the fixed points and depth scales of the hidden layers' rule:
-- NULL where they do not exist (a length that grows without bound), and
-- xi_q, xi_c NULL where infinite (at or past the edge of chaos). A table of
-- derived values, added without a new schema version: a database without it
-- gets it (empty) from the next covshift that writes to it.
CREATE TABLE IF NOT EXISTS meanfield (
    run_id       INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    phase        TEXT NOT NULL CHECK (phase IN ('A', 'B')),
    layer        INTEGER NOT NULL,
    q            REAL,
    q_post       REAL,
    c            REAL,
    c_post       REAL,
    q_star       REAL,
    c_star       REAL,
    chi_1        REAL,
    xi_q         REAL,
    xi_c         REAL,
    bn_grad_rate REAL,
    PRIMARY KEY (run_id, phase, layer)
) WITHOUT ROWID;

-- Merges of shard databases into this one (covshift merge, docs/cluster.md):
-- one row per covshift merge, with the build and machine that ran it.
-- finished_at is NULL while it runs, or when it was stopped: the shards it
-- had merged by then are in merge_shards, and merging again goes on from
-- there. Tables added without a new schema version: a database without
-- them gets them (empty) from the next covshift that writes to it.
CREATE TABLE IF NOT EXISTS merges (
    id               INTEGER PRIMARY KEY,
    started_at       TEXT NOT NULL,
    finished_at      TEXT,
    covshift_version TEXT NOT NULL,
    git_revision     TEXT,
    host             TEXT,
    command_line     TEXT
);

-- One row per shard database a merge read, written in the transaction
-- that carried its runs over, so a row here means the shard is merged:
-- where it came from (its hosts, builds and BLAS), and what became of its
-- runs.
CREATE TABLE IF NOT EXISTS merge_shards (
    merge_id        INTEGER NOT NULL REFERENCES merges(id) ON DELETE CASCADE,
    position        INTEGER NOT NULL,  -- 1, 2, ...: its place in the merge's list
    file            TEXT NOT NULL,     -- the shard's path as given to covshift merge
    merged_at       TEXT NOT NULL,
    hosts           TEXT,              -- the distinct runs.host of its runs
    git_revisions   TEXT,              -- the distinct runs.git_revision
    blas            TEXT,              -- the distinct experiments.blas (with the BLAS core)
    runs_done       INTEGER NOT NULL,  -- done runs carried over
    runs_failed     INTEGER NOT NULL,  -- failed runs carried over (none done anywhere)
    runs_present    INTEGER NOT NULL,  -- runs this database had already, left as they were
    runs_unfinished INTEGER NOT NULL,  -- 'running' in the shard: not carried over
    result_rows     INTEGER NOT NULL,  -- result rows carried over, all tables
    seconds         REAL NOT NULL,
    PRIMARY KEY (merge_id, position)
);

-- Every run with its experiment's name and its condition, the label plots
-- use: 'none', 'bn-batch', 'bn-frozen', 'bn-ema', 'layer' or 'rms', with
-- ' dropout=p' appended when the run has dropout.
CREATE VIEW IF NOT EXISTS run_params AS
SELECT r.id AS run_id, e.name AS experiment, r.experiment_id, r.run_key, r.status,
       CASE WHEN r.norm = 'batch' THEN 'bn-' || r.bn_phase_b ELSE r.norm END ||
       CASE WHEN r.dropout > 0 THEN ' dropout=' || r.dropout ELSE '' END AS condition,
       r.seed, r.depth, r.width, r.input_dim, r.batch, r.activation, r.init,
       r.sigma_w, r.sigma_b, r.norm, r.bn_phase_b, r.momentum, r.eps, r.input,
       r.shift_mean, r.shift_scale, r.steps_a, r.steps_b, r.bins,
       r.started_at, r.finished_at, r.wall_s, r.error,
       r.dropout, r.grad, r.noise_probes, r.noise_batches, r.mixture_k, r.mixture_sep,
       r.shuffle, r.population, r.affine, r.metrics,
       r.train, r.task, r.criterion, r.train_steps, r.lr, r.sgd_momentum, r.weight_decay,
       r.eval_every, r.eval_size, r.train_size, r.batch_order, r.outputs, r.teacher_depth,
       r.teacher_width, r.bn_prior, r.corrupt_noise, r.occlusion, r.probe_layer, r.c0
FROM runs r JOIN experiments e ON e.id = r.experiment_id;

-- docs/design.md §3: drift joined with the run's parameters, e.g.
--   SELECT depth, condition, layer, w1 FROM drift_by_depth WHERE site = 'post'
CREATE VIEW IF NOT EXISTS drift_by_depth AS
SELECT p.experiment, p.run_id, p.condition, p.seed, p.depth, p.width, p.input_dim,
       p.batch, p.activation, p.init, p.sigma_w, p.sigma_b, p.norm, p.bn_phase_b,
       p.momentum, p.eps, p.input, p.shift_mean, p.shift_scale, p.steps_a, p.steps_b,
       p.bins, d.layer, d.site, d.mean_shift, d.var_log_ratio, d.kl_sym, d.w1,
       d.hellinger_sq, d.n_const_a, d.n_const_b, p.metrics
FROM drift d JOIN run_params p ON p.run_id = d.run_id;

-- layer_stats joined with the run's parameters; step_in_phase counts from
-- 0 in each phase.
CREATE VIEW IF NOT EXISTS layer_stats_by_run AS
SELECT p.experiment, p.run_id, p.condition, p.seed, p.depth, p.width, p.input_dim,
       p.batch, p.activation, p.init, p.sigma_w, p.sigma_b, p.norm, p.bn_phase_b,
       p.momentum, p.eps, p.input, p.shift_mean, p.shift_scale, p.steps_a, p.steps_b,
       p.bins, s.step,
       CASE s.phase WHEN 'A' THEN s.step ELSE s.step - p.steps_a END AS step_in_phase,
       s.phase, s.layer, s.site, s.mean, s.var, s.mean_spread, s.var_within,
       s.min, s.max, s.p01, s.p15, s.p50, s.p85, s.p99, s.frac_zero,
       s.frac_saturated, s.nonfinite, s.corr_mean
FROM layer_stats s JOIN run_params p ON p.run_id = s.run_id;

-- grad_stats with the run's parameters, e.g. gradient norm by depth:
--   SELECT condition, layer, avg(grad_w_norm) FROM grad_by_depth GROUP BY 1, 2
CREATE VIEW IF NOT EXISTS grad_by_depth AS
SELECT p.experiment, p.run_id, p.condition, p.seed, p.depth, p.width, p.input_dim,
       p.batch, p.activation, p.init, p.sigma_w, p.sigma_b, p.norm, p.bn_phase_b,
       p.momentum, p.eps, p.input, p.dropout, p.steps_a, p.steps_b,
       g.step, g.phase, g.layer, g.loss, g.grad_x_norm, g.grad_h_norm, g.grad_w_norm,
       g.grad_b_norm
FROM grad_stats g JOIN run_params p ON p.run_id = g.run_id;

-- bn_noise with the run's parameters, e.g.
--   SELECT condition, batch, layer, noise FROM noise_by_depth WHERE site = 'norm'
CREATE VIEW IF NOT EXISTS noise_by_depth AS
SELECT p.experiment, p.run_id, p.condition, p.seed, p.depth, p.width, p.input_dim,
       p.batch, p.activation, p.init, p.sigma_w, p.sigma_b, p.norm, p.input, p.dropout,
       p.noise_probes, p.noise_batches, n.layer, n.site, n.noise, n.var_across, n.signal
FROM bn_noise n JOIN run_params p ON p.run_id = n.run_id;

-- running_gap with the run's parameters, e.g. gap against batch size:
--   SELECT batch, shuffle, layer, mean_gap, var_gap FROM running_gap_by_run
CREATE VIEW IF NOT EXISTS running_gap_by_run AS
SELECT p.experiment, p.run_id, p.condition, p.seed, p.depth, p.width, p.input_dim,
       p.batch, p.activation, p.init, p.sigma_w, p.sigma_b, p.momentum, p.eps, p.input,
       p.mixture_k, p.mixture_sep, p.shuffle, p.dropout, p.steps_a, p.population,
       g.layer, g.mean_gap, g.var_gap, g.var_ratio
FROM running_gap g JOIN run_params p ON p.run_id = g.run_id;

-- The training tables with the run's parameters, e.g. accuracy on B by mode:
--   SELECT norm, mode, step, avg(accuracy) FROM train_curves
--   WHERE dataset = 'B' GROUP BY 1, 2, 3
CREATE VIEW IF NOT EXISTS train_curves AS
SELECT p.experiment, p.run_id, p.seed, p.depth, p.width, p.input_dim, p.batch, p.activation,
       p.init, p.sigma_w, p.norm, p.affine, p.momentum, p.dropout, p.input, p.shift_mean,
       p.shift_scale, p.task, p.criterion, p.train_steps, p.lr, p.sgd_momentum,
       p.weight_decay, p.batch_order, p.bn_prior, p.corrupt_noise, p.occlusion,
       v.step, v.dataset, v.mode, v.prior_n, v.loss, v.accuracy, v.examples
FROM train_eval v JOIN run_params p ON p.run_id = v.run_id;

CREATE VIEW IF NOT EXISTS train_loss_by_run AS
SELECT p.experiment, p.run_id, p.seed, p.depth, p.width, p.batch, p.activation, p.norm,
       p.affine, p.task, p.criterion, p.lr, p.sgd_momentum, p.batch_order,
       l.step, l.loss
FROM train_loss l JOIN run_params p ON p.run_id = l.run_id;

CREATE VIEW IF NOT EXISTS train_layers_by_run AS
SELECT p.experiment, p.run_id, p.seed, p.depth, p.width, p.batch, p.activation, p.norm,
       p.affine, p.task, p.criterion, p.lr, p.sgd_momentum,
       g.step, g.layer, g.grad_w_norm, g.grad_b_norm, g.grad_gamma_norm, g.grad_beta_norm,
       g.weight_norm, g.ics_l2, g.ics_cos
FROM train_layers g JOIN run_params p ON p.run_id = g.run_id;

CREATE VIEW IF NOT EXISTS train_probe_by_run AS
SELECT p.experiment, p.run_id, p.seed, p.depth, p.width, p.batch, p.activation, p.norm,
       p.affine, p.task, p.lr,
       s.step, s.layer, s.site, s.mean, s.var, s.p15, s.p50, s.p85, s.frac_saturated,
       s.unit_p15, s.unit_p50, s.unit_p85
FROM train_probe s JOIN run_params p ON p.run_id = s.run_id;

CREATE VIEW IF NOT EXISTS train_prior_by_run AS
SELECT p.experiment, p.run_id, p.seed, p.depth, p.width, p.batch, p.activation, p.norm,
       p.affine, p.task, p.lr, p.batch_order, p.shift_mean, p.shift_scale, p.corrupt_noise,
       p.occlusion, p.bn_prior,
       a.dataset, a.prior_n, a.loss, a.accuracy
FROM train_prior a JOIN run_params p ON p.run_id = a.run_id;

-- meanfield with the run's parameters, e.g. theory against measurement:
--   SELECT m.layer, m.q, avg(s.var + s.mean * s.mean) FROM meanfield_by_run m
--   JOIN layer_stats s ON s.run_id = m.run_id AND s.phase = m.phase
--   AND s.layer = m.layer AND s.site = 'pre' GROUP BY m.run_id, m.phase, m.layer
CREATE VIEW IF NOT EXISTS meanfield_by_run AS
SELECT p.experiment, p.run_id, p.condition, p.seed, p.depth, p.width, p.input_dim,
       p.batch, p.activation, p.init, p.sigma_w, p.sigma_b, p.norm, p.bn_phase_b,
       p.input, p.shift_mean, p.shift_scale, p.status, m.phase, m.layer, m.q, m.q_post,
       m.c, m.c_post, m.q_star, m.c_star, m.chi_1, m.xi_q, m.xi_c, m.bn_grad_rate
FROM meanfield m JOIN run_params p ON p.run_id = m.run_id;

-- The schema version cs_store_open checks (CS_SCHEMA_VERSION).
PRAGMA user_version = 4;

#!/usr/bin/python3
"""The PyTorch peer of the benchmark (bench/README.md): what a sweep runner would write instead of
covshift, doing the same work (docs/design.md §1 model, §2 statistics, §3 rows).

A typical PyTorch user's program: the whole model as nn.Sequential of
nn.Linear / nn.BatchNorm1d / activation in float64, batches pushed through it
step by step (phase A, then B) under torch.no_grad(), forward hooks computing
every statistic of docs/design.md §2 at the sites pre, norm and post, histograms on
bins fixed by phase A's first batch, drift per layer and site, and all rows of
a run written to SQLite in one transaction. Written to be fast where a careful
user would: per-unit moments with the whole-matrix ones derived from them,
exact quantiles from one np.partition with all five ranks, histograms by
bincount, statistics in NumPy on the tensors' memory (no copies).

It reads covshift's experiment files (bench/w1.ini) with configparser and runs
the same sweep; the random numbers differ (torch's generator, not GSL's), so
its results agree with covshift's in distribution, not bit for bit
(bench/peer_check.py checks that). Not covered: input = images / mixture,
dropout, init other than gaussian, the [measure] passes.

usage: /usr/bin/python3 bench/peer.py FILE.ini --db PATH [--set key=value ...]
"""
import argparse
import configparser
import itertools
import math
import sqlite3
import sys
import time

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

QUANTILES = (0.01, 0.15, 0.50, 0.85, 0.99)  # docs/design.md §2: p01 p15 p50 p85 p99
DRIFT_EPS = 1e-12                           # docs/design.md §2: e
SITES = ("pre", "norm", "post")

# Keys the peer understands, with covshift's defaults (docs/experiments.md, Keys).
DEFAULTS = {
    "name": None, "description": "",
    "depth": "10", "width": "256", "input_dim": "256", "activation": "tanh",
    "init": "gaussian", "sigma_w": "1", "sigma_b": "0", "dropout": "0",
    "norm": "none", "bn_phase_b": "batch", "momentum": "0.1", "eps": "1e-5",
    "input": "gaussian", "shift_mean": "0", "shift_scale": "1",
    "batch": "128", "steps_a": "10", "steps_b": "10",
    "seed": "1", "bins": "64",
}
INTS = {"depth", "width", "input_dim", "batch", "steps_a", "steps_b", "seed", "bins"}
FLOATS = {"sigma_w", "sigma_b", "dropout", "momentum", "eps", "shift_mean", "shift_scale"}


# ---- the experiment file: the same sweep covshift runs (docs/design.md §4) ----

def expand_value(key, text):
    """'1..3, 7' -> ['1', '2', '3', '7']; ranges for integer keys only."""
    items = []
    for item in (s.strip() for s in text.split(",")):
        if ".." in item and key in INTS:
            a, b = item.split("..")
            items.extend(str(v) for v in range(int(a), int(b) + 1))
        else:
            items.append(item)
    return items


def read_runs(path, overrides):
    """The runs of an experiment file as dicts, in covshift's order (last key
    varying fastest); bn_phase_b dropped for norm = none, duplicates kept once."""
    cp = configparser.ConfigParser(inline_comment_prefixes=(";", "#"),
                                   comment_prefixes=(";", "#"), interpolation=None)
    with open(path, encoding="utf-8") as f:
        cp.read_file(f)
    order, values = [], {}
    for section in cp.sections():
        for key, value in cp.items(section):
            if key not in DEFAULTS:
                sys.exit(f"peer: {path}: key '{key}' is not supported by the peer")
            order.append(key)
            values[key] = value
    for item in overrides:
        key, _, value = item.partition("=")
        key = key.split(".")[-1].strip()
        if key not in DEFAULTS:
            sys.exit(f"peer: --set {item}: key '{key}' is not supported by the peer")
        if key not in values:
            order.append(key)
        values[key] = value
    name = values.pop("name", None) or path.rsplit("/", 1)[-1].removesuffix(".ini")
    values.pop("description", None)
    order = [k for k in order if k in values]
    axes = [expand_value(k, values[k]) for k in order]
    runs, seen = [], set()
    for combo in itertools.product(*axes):
        p = {k: v for k, v in DEFAULTS.items() if k not in ("name", "description")}
        p.update(zip(order, combo))
        for k in INTS:
            p[k] = int(p[k])
        for k in FLOATS:
            p[k] = float(p[k])
        if p["norm"] == "none":
            p["bn_phase_b"] = None
        key = tuple(sorted(p.items(), key=lambda kv: kv[0]))
        if key in seen:
            continue
        seen.add(key)
        if p["input"] != "gaussian" and p["input"] != "uniform":
            sys.exit(f"peer: input = {p['input']} is not supported by the peer")
        if p["init"] != "gaussian" or p["dropout"] != 0.0:
            sys.exit("peer: only init = gaussian without dropout is supported")
        runs.append(p)
    return name, runs


# ---- the model, as a PyTorch user writes it ----

class EmaBatchNorm1d(nn.BatchNorm1d):
    """BatchNorm1d with covshift's phase-B 'ema' mode (docs/design.md §1): update the
    running statistics with the batch, then normalise with the updated ones."""
    ema = False

    def forward(self, x):
        if not self.ema:
            return super().forward(x)
        F.batch_norm(x, self.running_mean, self.running_var, None, None, True,
                     self.momentum, self.eps)
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            False, 0.0, self.eps)


ACTIVATIONS = {"linear": nn.Identity, "relu": nn.ReLU, "tanh": nn.Tanh,
               "sigmoid": nn.Sigmoid, "leaky_relu": lambda: nn.LeakyReLU(0.01),
               "selu": nn.SELU, "gelu": nn.GELU}


def build_model(p, gen):
    """nn.Sequential of depth blocks Linear -> [BatchNorm1d] -> activation,
    float64, W ~ N(0, sigma_w^2 / fan_in), b ~ N(0, sigma_b^2) (docs/design.md §1)."""
    blocks, n_in = [], p["input_dim"]
    for _ in range(p["depth"]):
        lin = nn.Linear(n_in, p["width"], dtype=torch.float64)
        with torch.no_grad():
            lin.weight.normal_(0.0, p["sigma_w"] / math.sqrt(n_in), generator=gen)
            if p["sigma_b"] > 0:
                lin.bias.normal_(0.0, p["sigma_b"], generator=gen)
            else:
                lin.bias.zero_()
        blocks.append(lin)
        if p["norm"] == "batch":
            blocks.append(EmaBatchNorm1d(p["width"], eps=p["eps"], momentum=p["momentum"],
                                         dtype=torch.float64))
        blocks.append(ACTIVATIONS[p["activation"]]())
        n_in = p["width"]
    return nn.Sequential(*blocks)


def saturated(act, z, y):
    """frac_saturated (docs/design.md §2): share of phi'(z) < 0.05 max phi'; z, y the
    activation's input and output as NumPy arrays."""
    if act == "linear":
        return 0.0
    if act == "tanh":
        count = np.count_nonzero(1.0 - y * y < 0.05)          # 1 - tanh^2, max 1
    elif act == "sigmoid":
        count = np.count_nonzero(y * (1.0 - y) < 0.05 * 0.25)  # max 1/4 at 0
    elif act == "relu":
        count = np.count_nonzero(z <= 0.0)                     # relu'(0) = 0, as covshift
    else:                                   # derivative by autograd, the general way
        with torch.enable_grad():
            zz = torch.from_numpy(z).requires_grad_(True)
            ACTIVATIONS[act]()(zz).sum().backward()
            d = zz.grad.numpy()
            count = np.count_nonzero(d < 0.05 * np.abs(d).max())  # batch estimate of max phi'
    return count / z.size


# ---- statistics of one site of one batch (docs/design.md §2) ----

class Recorder:
    """Statistics rows, pooled histograms and drift accumulators of one run."""

    def __init__(self, p):
        self.p = p
        self.step = 0
        self.stat_rows = []
        self.bins = {}    # (layer, site) -> (lo, hi), fixed by A's first batch
        self.hist = {}    # (phase, layer, site) -> int64 counts, [under, bins..., over]
        self.sums = {}    # (phase, layer, site) -> [sum of unit means, sum of unit vars]
        self.sd_a0 = {}   # (layer, site) -> sd of A's first batch

    def record(self, layer, site, x, z=None, y=None):
        """One (step, layer, site) of x (m, n): a layer_stats row, histogram
        counts, per-unit sums for drift. z, y: the activation's input and
        output (site post), for frac_saturated. The statistics are NumPy on
        the tensor's memory: torch's intra-op threads cost more than they
        save on a 256 x 512 matrix (measured, 2 threads on 2 busy cores)."""
        p, step = self.p, self.step
        phase = "A" if step < p["steps_a"] else "B"
        a = x.detach().numpy()
        m, n_units = a.shape
        n_all = a.size
        mu = a.mean(axis=0)                 # per-unit means and biased variances
        v = a.var(axis=0)
        if np.isfinite(mu).all():           # a NaN or Inf entry makes its unit's mean nonfinite
            nonfinite = 0
            mean = float(mu.mean())
            spread2 = float(((mu - mean) ** 2).mean())
            within = float(v.mean())
            var = within + spread2          # law of total variance: m entries per unit
            flat = a.reshape(-1)
        else:
            good = np.isfinite(mu)
            mean_u = mu[good].mean() if good.any() else math.nan
            spread2 = float(((mu[good] - mean_u) ** 2).mean()) if good.any() else math.nan
            within = float(v[good].mean()) if good.any() else math.nan
            flat = a[np.isfinite(a)]
            nonfinite = n_all - flat.size
            mean = float(flat.mean()) if flat.size else math.nan
            var = float(flat.var()) if flat.size else math.nan
        n = flat.size
        if n:
            ranks = [round(q * (n - 1)) for q in QUANTILES]   # order statistic round(q(N-1))
            part = np.partition(flat, ranks)                  # one selection, all five ranks
            qs = [float(part[r]) for r in ranks]
            lo_val, hi_val = float(part[:ranks[0] + 1].min()), float(part[ranks[-1]:].max())
        else:
            qs, lo_val, hi_val = [None] * 5, None, None
        frac_zero = np.count_nonzero(a == 0.0) / n_all
        frac_sat = (saturated(p["activation"], z.detach().numpy(), y.detach().numpy())
                    if z is not None else None)
        self.stat_rows.append((step, phase, layer, site, mean, var, math.sqrt(spread2), within,
                               lo_val, hi_val, *qs, frac_zero, frac_sat, nonfinite))

        key = (layer, site)
        if step == 0:
            self.bins[key] = hist_range(mean, var)
            self.sd_a0[key] = math.sqrt(var)
        lo, hi = self.bins[key]
        nb = p["bins"]
        # bin = floor((x - lo) / width); under/overflow clipped to -1 and nb,
        # stored at 0 and nb + 1 of counts
        idx = np.floor((flat - lo) * (nb / (hi - lo)))
        np.clip(idx, -1, nb, out=idx)
        counts = np.bincount(idx.astype(np.int64) + 1, minlength=nb + 2)
        if nonfinite:  # as covshift: -inf is underflow, +inf overflow, NaN nowhere
            counts[0] += np.count_nonzero(a == -math.inf)
            counts[-1] += np.count_nonzero(a == math.inf)
        hk = (phase, layer, site)
        if hk in self.hist:
            self.hist[hk] += counts
            s = self.sums[hk]
            s[0] += mu
            s[1] += v
        else:
            self.hist[hk] = counts
            self.sums[hk] = [mu, v]

    def drift_rows(self):
        p, rows = self.p, []
        for (layer, site), (lo, hi) in self.bins.items():
            mu_a, v_a = (t / p["steps_a"] for t in self.sums[("A", layer, site)])
            mu_b, v_b = (t / p["steps_b"] for t in self.sums[("B", layer, site)])
            va, vb, d = v_a + DRIFT_EPS, v_b + DRIFT_EPS, mu_b - mu_a
            mean_shift = float((np.abs(d) / np.sqrt(va)).mean())
            var_log_ratio = float(np.abs(np.log(vb / va)).mean())
            kl_sym = float((0.25 * ((va - vb) ** 2 / (va * vb) + d * d / va + d * d / vb)).mean())
            ha, hb = self.hist[("A", layer, site)], self.hist[("B", layer, site)]
            fa = np.cumsum(ha[:-1]) / ha.sum()
            fb = np.cumsum(hb[:-1]) / hb.sum()
            w1 = float(np.abs(fa[1:] - fb[1:]).sum() * (hi - lo) / p["bins"] / self.sd_a0[(layer, site)])
            rows.append((layer, site, mean_shift, var_log_ratio, kl_sym, w1))
        return rows

    def hist_rows(self):
        nb, rows = self.p["bins"], []
        for (phase, layer, site), counts in self.hist.items():
            lo, hi = self.bins[(layer, site)]
            width = (hi - lo) / nb
            rows.append((phase, layer, site, -1, None, lo, int(counts[0])))
            rows.extend((phase, layer, site, b, lo + b * width, lo + (b + 1) * width,
                         int(counts[b + 1])) for b in range(nb))
            rows.append((phase, layer, site, nb, hi, None, int(counts[nb + 1])))
        return rows


def hist_range(mean, var):
    """docs/design.md §2 bins: [mean - 6 sd, mean + 6 sd], as covshift's cs_hist_range."""
    sd = math.sqrt(var) if var == var and var >= 0 else float("nan")
    if not math.isfinite(mean):
        return -1.0, 1.0
    if not (sd > 0) or not math.isfinite(sd):
        return mean - 1.0, mean + 1.0
    return mean - 6 * sd, mean + 6 * sd


# ---- one run ----

def run_one(p, db, experiment_id):
    t0 = time.time()
    gen = torch.Generator().manual_seed(p["seed"])
    model = build_model(p, gen)
    rec = Recorder(p)
    act = p["activation"]

    # Forward hooks: layer l's Linear, BatchNorm1d and activation are modules
    # 3l-3 .. 3l-1 (2l-2, 2l-1 without batch norm).
    per_block = 3 if p["norm"] == "batch" else 2
    for i, module in enumerate(model):
        layer, kind = i // per_block + 1, i % per_block
        if kind == 0:
            def pre_hook(mod, inp, out, layer=layer):
                rec.record(layer, "pre", out)
                if per_block == 2:          # norm = none: z = h (docs/design.md §1)
                    rec.record(layer, "norm", out)
            module.register_forward_hook(pre_hook)
        elif kind == per_block - 1:
            def post_hook(mod, inp, out, layer=layer):
                rec.record(layer, "post", out, z=inp[0], y=out)
            module.register_forward_hook(post_hook)
        else:
            def norm_hook(mod, inp, out, layer=layer):
                rec.record(layer, "norm", out)
            module.register_forward_hook(norm_hook)

    m, d = p["batch"], p["input_dim"]
    with torch.no_grad():
        for step in range(p["steps_a"] + p["steps_b"]):
            rec.step = step
            phase_b = step >= p["steps_a"]
            if not phase_b or p["norm"] == "none":
                model.train()
            elif p["bn_phase_b"] == "batch":
                model.train()
            else:
                model.eval()
                for mod in model:
                    if isinstance(mod, EmaBatchNorm1d):
                        mod.ema = p["bn_phase_b"] == "ema"
            if p["input"] == "gaussian":
                x = torch.randn(m, d, dtype=torch.float64, generator=gen)
            else:
                a = math.sqrt(3.0)
                x = torch.rand(m, d, dtype=torch.float64, generator=gen) * (2 * a) - a
            if phase_b:
                x = p["shift_scale"] * x + p["shift_mean"]
            rec.record(0, "post", x)        # layer 0 is the input, at site post
            model(x)

    wall = time.time() - t0
    with db:  # one transaction per run (docs/design.md §3)
        cur = db.execute(
            "INSERT INTO runs (experiment_id, status, seed, depth, width, input_dim, batch,"
            " activation, norm, bn_phase_b, momentum, eps, shift_mean, shift_scale,"
            " steps_a, steps_b, bins, wall_s) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (experiment_id, "done", p["seed"], p["depth"], p["width"], p["input_dim"],
             p["batch"], act, p["norm"], p["bn_phase_b"], p["momentum"], p["eps"],
             p["shift_mean"], p["shift_scale"], p["steps_a"], p["steps_b"], p["bins"], wall))
        run_id = cur.lastrowid
        db.executemany("INSERT INTO layer_stats VALUES (?" + ",?" * 18 + ")",
                       ((run_id, *r) for r in rec.stat_rows))
        db.executemany("INSERT INTO histograms VALUES (?,?,?,?,?,?,?,?)",
                       ((run_id, *r) for r in rec.hist_rows()))
        db.executemany("INSERT INTO drift VALUES (?,?,?,?,?,?,?)",
                       ((run_id, *r) for r in rec.drift_rows()))
    return run_id, wall


SCHEMA = """
CREATE TABLE IF NOT EXISTS experiments (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY, experiment_id INTEGER NOT NULL, status TEXT NOT NULL,
    seed INTEGER, depth INTEGER, width INTEGER, input_dim INTEGER, batch INTEGER,
    activation TEXT, norm TEXT, bn_phase_b TEXT, momentum REAL, eps REAL,
    shift_mean REAL, shift_scale REAL, steps_a INTEGER, steps_b INTEGER, bins INTEGER,
    wall_s REAL);
CREATE TABLE IF NOT EXISTS layer_stats (
    run_id INTEGER NOT NULL, step INTEGER NOT NULL, phase TEXT NOT NULL,
    layer INTEGER NOT NULL, site TEXT NOT NULL, mean REAL, var REAL, mean_spread REAL,
    var_within REAL, min REAL, max REAL, p01 REAL, p15 REAL, p50 REAL, p85 REAL, p99 REAL,
    frac_zero REAL, frac_saturated REAL, nonfinite INTEGER NOT NULL,
    PRIMARY KEY (run_id, step, layer, site)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS histograms (
    run_id INTEGER NOT NULL, phase TEXT NOT NULL, layer INTEGER NOT NULL, site TEXT NOT NULL,
    bin INTEGER NOT NULL, lo REAL, hi REAL, count INTEGER NOT NULL,
    PRIMARY KEY (run_id, phase, layer, site, bin)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS drift (
    run_id INTEGER NOT NULL, layer INTEGER NOT NULL, site TEXT NOT NULL,
    mean_shift REAL, var_log_ratio REAL, kl_sym REAL, w1 REAL,
    PRIMARY KEY (run_id, layer, site)) WITHOUT ROWID;
CREATE VIEW IF NOT EXISTS drift_by_depth AS
SELECT e.name AS experiment, r.id AS run_id, r.seed, r.depth, r.norm, r.bn_phase_b,
       d.layer, d.site, d.mean_shift, d.var_log_ratio, d.kl_sym, d.w1
FROM drift d JOIN runs r ON r.id = d.run_id JOIN experiments e ON e.id = r.experiment_id;
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("file", help="covshift experiment file (e.g. bench/w1.ini)")
    ap.add_argument("--db", required=True, help="SQLite database to write (created)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override a key of the file, as covshift run --set")
    ap.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    name, runs = read_runs(args.file, args.set)
    db = sqlite3.connect(args.db, timeout=60)
    db.execute("PRAGMA journal_mode = WAL")  # as covshift's store
    db.execute("PRAGMA synchronous = NORMAL")
    db.executescript(SCHEMA)
    with db:
        experiment_id = db.execute("INSERT INTO experiments (name) VALUES (?)",
                                   (name,)).lastrowid
    for i, p in enumerate(runs, 1):
        run_id, wall = run_one(p, db, experiment_id)
        if not args.quiet:
            cond = "none" if p["norm"] == "none" else "bn-" + p["bn_phase_b"]
            print(f"peer: run {i}/{len(runs)} (id {run_id}) seed {p['seed']} {cond}: "
                  f"{wall:.2f} s", file=sys.stderr)
    db.close()


if __name__ == "__main__":
    main()

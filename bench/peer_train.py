#!/usr/bin/python3
"""The PyTorch peer of a covshift training run (bench/train.ini; docs/training.md).

What a user would write in PyTorch to get covshift's training rows, in
float64 on torch.set_num_threads(1) (one --jobs worker's share):
Fashion-MNIST from Debian's dataset-fashion-mnist scaled as covshift
scales it (v / 255, then the training pixels' mean and sd), B = 0.6 x + 0.3
plus Gaussian noise in pixel space; the network of Linear ->
BatchNorm1d(affine) -> sigmoid layers and a Linear readout, softmax
cross-entropy, torch.optim.SGD(momentum); and the same recording:
  train_loss    every step's loss;
  train_eval    at step 0, every eval_every and the last: held-out A and B
                in the modes batch, frozen, ema and adapted (N = bn_prior);
  train_probe   the probe batch (held-out A's first) at every layer and site:
                moments, 5 quantiles, unit 0's 3 quantiles;
  train_layers  at recorded steps per layer: gradient norms, ||W||, and
                Santurkar et al.'s ||G - G'|| and cos(G, G') (a layer's
                gradient again after the layers below took the step);
  train_prior   after training, A and B under adapted statistics for N = 0,
                1, 2, ..., 16384;
then every row written with Python's sqlite3 in one transaction, and the
row counts printed (bench_train.sh checks they equal covshift's).

usage: /usr/bin/python3 bench/peer_train.py DB [steps eval_every eval_size]
"""
import gzip
import math
import sqlite3
import sys

import numpy as np
import torch

torch.set_default_dtype(torch.float64)
torch.set_num_threads(1)
DIR = "/usr/share/datasets/fashion-mnist"
DEPTH, WIDTH, BATCH, K = 3, 100, 60, 10
LR, MOM, EPS, BNM, PRIOR = 0.05, 0.9, 1e-5, 0.1, 16.0
SHIFT_SCALE, SHIFT_MEAN, NOISE = 0.6, 0.3, 0.3
db_path = sys.argv[1]
STEPS = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
EVERY = int(sys.argv[3]) if len(sys.argv) > 3 else 100
EVAL = int(sys.argv[4]) if len(sys.argv) > 4 else 2000
EVAL = EVAL // BATCH * BATCH


def idx(name, header):
    with gzip.open("%s/%s" % (DIR, name)) as f:
        raw = f.read()
    return np.frombuffer(raw, dtype=np.uint8, offset=header)


u_train = idx("train-images-idx3-ubyte.gz", 16).reshape(-1, 784) / 255.0
y_train = idx("train-labels-idx1-ubyte.gz", 8).astype(np.int64)
u_test = idx("t10k-images-idx3-ubyte.gz", 16).reshape(-1, 784)[:EVAL] / 255.0
y_test = torch.tensor(idx("t10k-labels-idx1-ubyte.gz", 8)[:EVAL].astype(np.int64))
mean, sd = u_train.mean(), u_train.std()
rng = np.random.default_rng(1)
u_b = SHIFT_SCALE * u_test + SHIFT_MEAN + NOISE * rng.standard_normal(u_test.shape)
x_train = torch.tensor((u_train - mean) / sd)
sets = {"A": torch.tensor((u_test - mean) / sd), "B": torch.tensor((u_b - mean) / sd)}
y_train = torch.tensor(y_train)

g = torch.Generator().manual_seed(1)
Ws, bs, gammas, betas, rms, rvs = [], [], [], [], [], []
n_in = 784
for _ in range(DEPTH):
    Ws.append((torch.randn(WIDTH, n_in, generator=g) / math.sqrt(n_in)).requires_grad_())
    bs.append(torch.zeros(WIDTH, requires_grad=True))
    gammas.append(torch.ones(WIDTH, requires_grad=True))
    betas.append(torch.zeros(WIDTH, requires_grad=True))
    rms.append(torch.zeros(WIDTH))
    rvs.append(torch.ones(WIDTH))
    n_in = WIDTH
RW = (torch.randn(K, WIDTH, generator=g) / math.sqrt(WIDTH)).requires_grad_()
Rb = torch.zeros(K, requires_grad=True)
params = [t for l in range(DEPTH) for t in (Ws[l], bs[l], gammas[l], betas[l])] + [RW, Rb]
opt = torch.optim.SGD(params, lr=LR, momentum=MOM)


def forward(x, mode="train", stats=None, sites=None, prior=PRIOR):
    """mode: train (batch statistics, running update), batch, frozen, ema
    (stats updated by this batch, then used), adapted (prior N)."""
    for l in range(DEPTH):
        h = x @ Ws[l].T + bs[l]
        n = h.shape[0]
        bm, bv = h.mean(0), h.var(0, unbiased=False)
        if mode in ("train", "batch"):
            m, v = bm, bv
        elif mode == "frozen":
            m, v = rms[l], rvs[l]
        elif mode == "ema":
            stats[0][l] = (1 - BNM) * stats[0][l] + BNM * bm.detach()
            stats[1][l] = (1 - BNM) * stats[1][l] + BNM * h.var(0, unbiased=True).detach()
            m, v = stats[0][l], stats[1][l]
        else:
            a = prior / (prior + n)
            m, v = a * rms[l] + (1 - a) * bm, a * rvs[l] + (1 - a) * bv
        if mode == "train":
            with torch.no_grad():
                rms[l].mul_(1 - BNM).add_(BNM * bm)
                rvs[l].mul_(1 - BNM).add_(BNM * h.var(0, unbiased=True))
        z = gammas[l] * (h - m) / torch.sqrt(v + EPS) + betas[l]
        x = torch.sigmoid(z)
        if sites is not None:
            sites.append((l + 1, h.detach(), z.detach(), x.detach()))
    return x @ RW.T + Rb


def evaluate(name, mode, prior=PRIOR):
    loss = correct = 0.0
    stats = ([m.clone() for m in rms], [v.clone() for v in rvs])
    x, y = sets[name], y_test
    with torch.no_grad():
        for i in range(0, EVAL, BATCH):
            out = forward(x[i:i + BATCH], mode, stats, prior=prior)
            loss += torch.nn.functional.cross_entropy(out, y[i:i + BATCH]).item()
            correct += (out.argmax(1) == y[i:i + BATCH]).sum().item()
    return loss / (EVAL // BATCH), correct / EVAL


QS = torch.tensor([0.01, 0.15, 0.5, 0.85, 0.99])


def stats_row(v):
    flat = v.reshape(-1)
    q = torch.quantile(flat, QS)
    um, uv = v.mean(0), v.var(0, unbiased=False)
    uq = torch.quantile(v[:, 0], QS[1:4])
    return [flat.mean().item(), flat.var(unbiased=False).item(), um.var(unbiased=False).item(),
            uv.mean().item(), flat.min().item(), flat.max().item()] + q.tolist() + \
        [(flat == 0).double().mean().item(), 0.0, int((~torch.isfinite(flat)).sum())] + uq.tolist()


rows = {t: [] for t in ("train_loss", "train_eval", "train_probe", "train_layers", "train_prior")}
perm = None
per_epoch = x_train.shape[0] // BATCH
for s in range(STEPS + 1):
    if s % EVERY == 0 or s == STEPS:
        for d in ("A", "B"):
            for mode in ("batch", "frozen", "ema", "adapted"):
                lo, acc = evaluate(d, mode)
                rows["train_eval"].append((s, d, mode, PRIOR if mode == "adapted" else None, lo, acc, EVAL))
        sites = []
        with torch.no_grad():
            forward(sets["A"][:BATCH], "batch", sites=sites)
        rows["train_probe"].append([s, 0, "post"] + stats_row(sets["A"][:BATCH]))
        for l, h, z, x in sites:
            for site, v in (("pre", h), ("norm", z), ("post", x)):
                rows["train_probe"].append([s, l, site] + stats_row(v))
    if s == STEPS:
        break
    e, k = divmod(s, per_epoch)
    if k == 0:
        perm = torch.randperm(x_train.shape[0], generator=g)
    ids = perm[k * BATCH:(k + 1) * BATCH]
    xb, yb = x_train[ids], y_train[ids]
    opt.zero_grad()
    saved = [(m.clone(), v.clone()) for m, v in zip(rms, rvs)]
    loss = torch.nn.functional.cross_entropy(forward(xb), yb)
    loss.backward()
    rows["train_loss"].append((s, loss.item()))
    record = s % EVERY == 0
    if record:
        Wl = Ws + [RW]
        G = [w.grad.clone() for w in Wl]
        gb = [t.grad.norm().item() for t in bs + [Rb]]
        gg = [gammas[l].grad.norm().item() for l in range(DEPTH)] + [None]
        gbe = [betas[l].grad.norm().item() for l in range(DEPTH)] + [None]
        wn = [w.norm().item() for w in Wl]
        before = [p.detach().clone() for p in params]
        bufs = [opt.state[p]["momentum_buffer"].clone() if "momentum_buffer" in opt.state[p] else None
                for p in params]
    opt.step()
    if record:
        after = [p.detach().clone() for p in params]
        ics = []
        for L in range(DEPTH + 1):  # layer L + 1: the layers below took their step
            with torch.no_grad():
                for i, p in enumerate(params):
                    p.copy_(after[i] if i < 4 * L else before[i])
            cur = [(m.clone(), v.clone()) for m, v in zip(rms, rvs)]
            for l in range(DEPTH):
                rms[l].copy_(saved[l][0]); rvs[l].copy_(saved[l][1])
            for p in params:
                p.grad = None
            torch.nn.functional.cross_entropy(forward(xb, "batch"), yb).backward()
            Gp = Wl[L].grad
            for l in range(DEPTH):
                rms[l].copy_(cur[l][0]); rvs[l].copy_(cur[l][1])
            den = G[L].norm() * Gp.norm()
            ics.append(((G[L] - Gp).norm().item(), (G[L] * Gp).sum().item() / den.item() if den > 0 else None))
        with torch.no_grad():
            for i, p in enumerate(params):
                p.copy_(after[i])
        for L in range(DEPTH + 1):
            rows["train_layers"].append((s, L + 1, G[L].norm().item(), gb[L], gg[L], gbe[L], wn[L]) + ics[L])
for d in ("A", "B"):
    for kp in range(16):
        n = 0.0 if kp == 0 else 2.0 ** (kp - 1)
        lo, acc = evaluate(d, "adapted", prior=n)
        rows["train_prior"].append((d, n, lo, acc))

con = sqlite3.connect(db_path)
cols = {"train_loss": 2, "train_eval": 7, "train_probe": 3 + 14 + 3, "train_layers": 9, "train_prior": 4}
with con:
    for t, n in cols.items():
        con.execute("CREATE TABLE IF NOT EXISTS %s (run_id INTEGER, %s)" %
                    (t, ", ".join("c%d" % i for i in range(n))))
        con.executemany("INSERT INTO %s VALUES (1, %s)" % (t, ", ".join("?" * n)), rows[t])
con.close()
print(" ".join("%s=%d" % (t, len(rows[t])) for t in cols))

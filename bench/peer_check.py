#!/usr/bin/python3
"""Checks that the PyTorch peer (bench/peer.py) computes what covshift does:
both run the same small workload over several seeds, and the per-layer drift
(docs/design.md §2) of each condition must agree in distribution. The random numbers
differ (GSL against torch), so the test is on seed means: for each
(condition, layer, site, metric),

    |mean_covshift - mean_peer| <= K * sqrt(sd_covshift^2 / n + sd_peer^2 / n) + tiny

with sd the seed-to-seed standard deviation and n the number of seeds.
Prints the comparison at the first, second, middle and last layer (site post)
and every disagreement; exits 1 on any, 2 on a setup error.

usage: /usr/bin/python3 bench/peer_check.py [--covshift build/covshift] [--seeds 8]
       [--k 5] [--all] [--peer-set key=value ...]   (e.g. momentum=0.5: must fail)
"""
import argparse
import math
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
METRICS = ("mean_shift", "var_log_ratio", "kl_sym", "w1")
# A small W1: the same conditions, tanh, B = 2A + 1, shallower and narrower.
SMALL = ["depth=8", "width=128", "input_dim=128", "batch=64"]


def drift_by_condition(db):
    """{(condition, layer, site): {metric: [value per seed]}} of a database."""
    con = sqlite3.connect(db)
    rows = con.execute(
        "SELECT r.norm, r.bn_phase_b, d.layer, d.site, " + ", ".join("d." + m for m in METRICS) +
        " FROM drift d JOIN runs r ON r.id = d.run_id WHERE r.status = 'done'"
        " ORDER BY r.seed").fetchall()
    con.close()
    out = {}
    for norm, phase_b, layer, site, *vals in rows:
        cond = "none" if norm == "none" else "bn-" + phase_b
        per = out.setdefault((cond, layer, site), {m: [] for m in METRICS})
        for m, v in zip(METRICS, vals):
            per[m].append(v)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--covshift", default=os.path.join(HERE, "..", "build", "covshift"))
    ap.add_argument("--ini", default=os.path.join(HERE, "w1.ini"))
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--k", type=float, default=5.0, help="tolerance in standard errors")
    ap.add_argument("--all", action="store_true",
                    help="print every comparison, not only site post at 4 layers")
    ap.add_argument("--peer-set", action="append", default=[], metavar="KEY=VALUE",
                    help="override a key for the peer only (a negative control)")
    args = ap.parse_args()
    if args.seeds < 3:
        sys.exit("peer_check: --seeds must be >= 3 (a seed-to-seed spread)")
    if not os.access(args.covshift, os.X_OK):
        print(f"peer_check: {args.covshift} not found: build covshift first", file=sys.stderr)
        return 2

    sets = SMALL + [f"seed=1..{args.seeds}"]
    with tempfile.TemporaryDirectory(prefix="peer_check.") as tmp:
        cdb, pdb = os.path.join(tmp, "covshift.db"), os.path.join(tmp, "peer.db")
        cmd = [args.covshift, "run", args.ini, "--db", cdb, "--quiet"]
        for s in sets:
            cmd += ["--set", s]
        subprocess.run(cmd, check=True)
        cmd = [sys.executable, os.path.join(HERE, "peer.py"), args.ini, "--db", pdb, "--quiet"]
        for s in sets + args.peer_set:
            cmd += ["--set", s]
        subprocess.run(cmd, check=True)
        cov, peer = drift_by_condition(cdb), drift_by_condition(pdb)

    if set(cov) != set(peer):
        print(f"peer_check: different (condition, layer, site) sets: covshift {len(cov)}, "
              f"peer {len(peer)}", file=sys.stderr)
        return 1
    n = args.seeds
    depth = max(layer for _, layer, _ in cov)
    shown_layers = sorted({0, 1, depth // 2, depth})
    failures, worst, count = [], 0.0, 0
    lines = []
    for key in sorted(cov, key=lambda k: (k[0], k[1], k[2])):
        cond, layer, site = key
        for m in METRICS:
            c, p = cov[key][m], peer[key][m]
            if len(c) != n or len(p) != n or any(v is None for v in c + p):
                failures.append(f"{cond} layer {layer} {site} {m}: missing or NULL values")
                continue
            mc, mp = statistics.fmean(c), statistics.fmean(p)
            sc, sp = statistics.stdev(c), statistics.stdev(p)
            se = math.sqrt((sc * sc + sp * sp) / n)
            # tiny: layer 0's drift is the same input shift in both, nearly noise-free
            tiny = 1e-9 + 1e-6 * max(abs(mc), abs(mp))
            # z = 0 for differences within rounding (e.g. mean_shift ~ 1e-17 at site
            # norm under bn-batch, where every batch is centred exactly)
            z = 0.0 if abs(mc - mp) <= tiny else (abs(mc - mp) / se if se > 0 else math.inf)
            ok = abs(mc - mp) <= args.k * se + tiny
            count += 1
            worst = max(worst, z if math.isfinite(z) else 0.0)
            line = (f"{cond:10s} {layer:5d} {site:4s} {m:13s} {mc:11.5g} ±{sc:9.3g} "
                    f"{mp:11.5g} ±{sp:9.3g} {z:6.2f} {'ok' if ok else 'DISAGREE'}")
            if not ok:
                failures.append(line)
            if args.all or (site == "post" and layer in shown_layers):
                lines.append(line)

    print(f"peer_check: drift of covshift and the PyTorch peer, mean ± sd over {n} seeds, "
          f"{os.path.basename(args.ini)} with " + " ".join(SMALL) +
          (" and peer-only " + " ".join(args.peer_set) if args.peer_set else ""))
    print(f"{'condition':10s} {'layer':>5s} {'site':4s} {'metric':13s} {'covshift':>11s} "
          f"{'sd':>10s} {'peer':>11s} {'sd':>10s} {'|z|':>6s}")
    print("\n".join(lines))
    if failures:
        print(f"\npeer_check: FAIL: {len(failures)} of {count} comparisons disagree "
              f"(|diff| > {args.k:g} standard errors):")
        print("\n".join(failures))
        return 1
    print(f"\npeer_check: OK: all {count} comparisons (every condition, layer, site and "
          f"metric) agree within {args.k:g} standard errors; largest |z| = {worst:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""The Python module against the CLI on the same work (docs/python.md, "Speed").

Features: 64-d pixel features (8 x 8 subsample) of real PneumoniaMNIST images (train vs test), as
float32. The module computes on arrays in memory; the CLI reads the same arrays from .npy files
and also pays its process start. Best of --repeat runs each.

Usage: PYTHONPATH=build/python bench/python_vs_cli.py [--cli build/bin/medsynbench] [--repeat 5]
"""
import argparse
import os
import subprocess
import tempfile
import time

import numpy as np

import medsynbench as msb


def feats(u8):
    idx = 3 + 3 * np.arange(8)
    return (u8[:, idx][:, :, idx].reshape(len(u8), -1).astype(np.float32) / np.float32(255))


def best(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", default=os.path.join(here, "..", "build", "bin", "medsynbench"))
    ap.add_argument("--data", default=os.environ.get("MEDSYN_SHARED_DATA_DIR", os.path.join(here, "..", "..", "shared", "data")))
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    with np.load(os.path.join(args.data, "medmnist", "pneumoniamnist.npz")) as z:
        a, b = feats(z["train_images"][:4000]), feats(z["test_images"][:624])
    env = dict(os.environ, MEDSYN_QUIET="1")
    rows = []
    with tempfile.TemporaryDirectory() as d:
        pa, pb = os.path.join(d, "a.npy"), os.path.join(d, "b.npy")
        np.save(pa, a)
        np.save(pb, b)
        work = [
            ("FID, bootstrap 200", lambda: msb.fid(a, b, bootstrap=200), ["fid", "--bootstrap", "200"]),
            ("KID, 100 subsets of 500", lambda: msb.kid(a, b, subset_size=500), ["kid", "--subset-size", "500"]),
            ("PRDC k=5", lambda: msb.prdc(a, b), ["prdc"]),
            ("FID, no interval", lambda: msb.fid(a, b), ["fid"]),
        ]
        for name, module_fn, cli_args in work:
            cmd = [args.cli, "metrics", cli_args[0], pa, pb, *cli_args[1:], "--json"]
            tm = best(module_fn, args.repeat)
            tc = best(lambda: subprocess.run(cmd, check=True, capture_output=True, env=env), args.repeat)
            rows.append((name, tm, tc))
    print(f"features: A {a.shape[0]} x {a.shape[1]}, B {b.shape[0]} x {b.shape[1]} (PneumoniaMNIST pixels), best of {args.repeat}")
    print("| work | module | CLI | CLI / module |")
    print("|---|---|---|---|")
    for name, tm, tc in rows:
        print(f"| {name} | {tm * 1000:.1f} ms | {tc * 1000:.1f} ms | {tc / tm:.2f} |")


if __name__ == "__main__":
    main()

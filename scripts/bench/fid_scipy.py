#!/usr/bin/python3
"""Times the pytorch-fid recipe (scipy.linalg.sqrtm) for FID between two D-dim statistics and,
with --cli, `medsynbench metrics fid` on the same .npz files, then prints the ratio and checks the
two values agree. Run with the Debian python3 (python3-numpy, python3-scipy):

    /usr/bin/python3 scripts/bench/fid_scipy.py --cli build/bin/medsynbench
    OMP_NUM_THREADS=1 /usr/bin/python3 scripts/bench/fid_scipy.py --cli build/bin/medsynbench

The statistics come from n random non-negative correlated features (ReLU of a random mixture, like
Inception pool features), the same construction as bench/bench_metrics.cpp.
The CLI time is wall time of the whole process (start-up, reading two .npz files, FID).
"""
import argparse
import json
import os
import subprocess
import tempfile
import time

import numpy as np
from scipy import linalg


def random_features(d, n, seed):
    rng = np.random.default_rng(seed)
    mix = rng.standard_normal((d, d // 4)) / np.sqrt(d / 4.0)
    z = rng.standard_normal((d // 4, n))
    x = np.maximum(mix @ z, 0.0) + 0.05 * rng.standard_normal((d, n))
    return x.T.astype(np.float32)


def stats(act):
    act = act.astype(np.float64)
    return np.mean(act, axis=0), np.cov(act, rowvar=False)


def fid_pytorch_fid(mu1, sigma1, mu2, sigma2, eps=1e-6):
    diff = mu1 - mu2
    covmean, _ = linalg.sqrtm(sigma1.dot(sigma2), disp=False)
    if not np.isfinite(covmean).all():
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError("Imaginary component %s" % np.max(np.abs(covmean.imag)))
        covmean = covmean.real
    return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dim", type=int, default=2048)
    ap.add_argument("--n", type=int, default=0, help="samples per set (default 2*dim+500)")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--cli", default="", help="path to medsynbench to time on the same files")
    args = ap.parse_args()
    d = args.dim
    n = args.n or 2 * d + 500
    with tempfile.TemporaryDirectory() as tmp:
        (mu1, s1), (mu2, s2) = stats(random_features(d, n, 1)), stats(random_features(d, n, 2))
        pa, pb = os.path.join(tmp, "a.npz"), os.path.join(tmp, "b.npz")
        np.savez(pa, mu=mu1, sigma=s1)
        np.savez(pb, mu=mu2, sigma=s2)
        t_scipy = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            f_scipy = fid_pytorch_fid(mu1, s1, mu2, s2)
            t_scipy.append(time.perf_counter() - t0)
        out = {"dim": d, "n": n, "omp_num_threads": os.environ.get("OMP_NUM_THREADS", "(unset)"),
               "scipy_sqrtm_seconds": min(t_scipy), "fid_scipy": f_scipy}
        if args.cli:
            t_cli = []
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                res = subprocess.run([args.cli, "metrics", "fid", pa, pb, "--json"], capture_output=True, text=True,
                                     check=True)
                t_cli.append(time.perf_counter() - t0)
            f_cli = json.loads(res.stdout)["fid"]
            out.update({"medsynbench_cli_seconds": min(t_cli), "fid_medsynbench": f_cli,
                        "relative_difference": abs(f_cli - f_scipy) / abs(f_scipy),
                        "speedup": min(t_scipy) / min(t_cli)})
        print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

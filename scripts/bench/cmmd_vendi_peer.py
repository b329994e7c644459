#!/usr/bin/python3
"""CMMD and the Vendi score: `medsynbench metrics cmmd|vendi` (whole process) against the peers'
own code timed side by side on the same features (docs/metrics.md, "CMMD and Vendi: speed").

    /usr/bin/python3 scripts/bench/cmmd_vendi_peer.py REF_CMMD REF_VENDI [--cli build/bin/medsynbench]

REF_CMMD: a checkout of sayakpaul/cmmd-pytorch (distance.mmd, PyTorch); REF_VENDI: a checkout of
vertaix/Vendi-Score (vendi.score_dual). Needs python3-torch, python3-scipy, python3-sklearn.
Features: standard normal rows, L2-normalised (as CLIP embeddings are), 768-d; CMMD 10,000 x 10,000,
Vendi 5,000 rows. Best of --repeat runs.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np


def unit(rng, n, d):
    x = rng.standard_normal((n, d))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def best(fn, repeat):
    out, times = None, []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("ref_cmmd")
    ap.add_argument("ref_vendi")
    ap.add_argument("--cli", default=os.path.join(here, "..", "..", "build", "bin", "medsynbench"))
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--vendi-n", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--torch-threads", type=int, default=0, help="torch.set_num_threads for the peer (0: torch's default)")
    args = ap.parse_args()
    sys.path.insert(0, args.ref_cmmd)
    sys.path.insert(0, args.ref_vendi)
    import torch
    import distance
    from vendi_score import vendi
    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    try:
        import medsynbench as msb  # PYTHONPATH=build/python: the same C++ in this process
    except ImportError:
        msb = None

    rng = np.random.default_rng(0)
    a, b = unit(rng, args.n, 768), unit(rng, args.n, 768)
    x = unit(rng, args.vendi_n, 768)
    env = dict(os.environ, MEDSYN_QUIET="1")
    print(f"threads: torch {torch.get_num_threads()}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '(unset)')}")
    with tempfile.TemporaryDirectory() as d:
        pa, pb, px = (os.path.join(d, f) for f in ("a.npy", "b.npy", "x.npy"))
        np.save(pa, a)
        np.save(pb, b)
        np.save(px, x)
        t_cli, out = best(lambda: subprocess.run([args.cli, "metrics", "cmmd", pa, pb], check=True, capture_output=True,
                                                 text=True, env=env).stdout, args.repeat)
        ours = float(out.split()[1])
        t_ref32, ref32 = best(lambda: float(distance.mmd(a, b)), args.repeat)
        a64, b64 = a.astype(np.float64), b.astype(np.float64)
        t_ref64, ref64 = best(lambda: float(distance.mmd(a64, b64)), args.repeat)
        print(f"CMMD {args.n} x {args.n}, d=768:")
        print(f"  medsynbench metrics cmmd (float64, whole process): {t_cli:.2f} s  value {ours!r}")
        print(f"  peer distance.mmd float32 (its main's dtype):       {t_ref32:.2f} s  value {ref32!r}  ratio {t_ref32 / t_cli:.2f}")
        print(f"  peer distance.mmd float64:                          {t_ref64:.2f} s  value {ref64!r}  ratio {t_ref64 / t_cli:.2f}")
        if msb:
            t_mod, v = best(lambda: msb.cmmd(a, b)["cmmd"], args.repeat)
            print(f"  medsynbench.cmmd (module, in process):              {t_mod:.2f} s  value {v!r}  peer float32 / module {t_ref32 / t_mod:.2f}")
        t_cli, out = best(lambda: subprocess.run([args.cli, "metrics", "vendi", px], check=True, capture_output=True,
                                                 text=True, env=env).stdout, args.repeat)
        ours = float(out.split()[2])
        x64 = x.astype(np.float64)
        t_ref, ref = best(lambda: float(vendi.score_dual(x64)), args.repeat)
        print(f"Vendi {args.vendi_n} rows, d=768, q=1:")
        print(f"  medsynbench metrics vendi (whole process): {t_cli:.2f} s  value {ours!r}")
        print(f"  peer vendi.score_dual:                     {t_ref:.2f} s  value {ref!r}  ratio {t_ref / t_cli:.2f}")
        if msb:
            t_mod, v = best(lambda: msb.vendi(x)["vendi"], args.repeat)
            print(f"  medsynbench.vendi (module, in process):    {t_mod:.2f} s  value {v!r}  peer / module {t_ref / t_mod:.2f}")


if __name__ == "__main__":
    main()

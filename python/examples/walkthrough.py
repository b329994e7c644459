#!/usr/bin/python3
"""The docs/python.md walkthrough as a script: real MedMNIST images with numpy, FID/KID/PRDC with
intervals, a streaming check inside a (toy) training loop, a memorization audit, and, with
--suite, the quickstart suite with its results as a data frame and a figure.

    PYTHONPATH=build/python python/examples/walkthrough.py [--data ../shared/data] [--suite]

tests/python/test_examples.py runs it without --suite.
"""
import argparse
import os
import sys

import numpy as np

import medsynbench as msb


def pixel_features(u8):
    """8 x 8 subsample of 28 x 28 images, float32 in [0, 1]: a stand-in for your Inception/DINOv2/
    CLIP features (any (N, D) array works)."""
    idx = 3 + 3 * np.arange(8)
    return (u8[:, idx][:, :, idx].reshape(len(u8), -1) / 255).astype(np.float32)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.environ.get("MEDSYN_SHARED_DATA_DIR",
                                                     os.path.join(here, "..", "..", "..", "shared", "data")))
    ap.add_argument("--suite", action="store_true", help="also run suites/quickstart.json (about 15 min on 2 cores)")
    ap.add_argument("--out", default="runs/walkthrough")
    args = ap.parse_args()

    # 1. Real images: MedMNIST v2 with numpy.
    z = np.load(os.path.join(args.data, "medmnist", "breastmnist.npz"))
    train, holdout, test = (pixel_features(z[k]) for k in ("train_images", "val_images", "test_images"))
    other = pixel_features(np.load(os.path.join(args.data, "medmnist", "pneumoniamnist.npz"))["test_images"])
    print(f"breast train {train.shape}, holdout {holdout.shape}, test {test.shape}; pneumonia {other.shape}")

    # 2. Fidelity with intervals: the same modality vs another modality.
    for name, fake in (("breast test", test), ("pneumonia test", other)):
        r = msb.fid(train, fake, bootstrap=50, seed=0)
        pop = r["estimates"]["fid_population"]
        kid = msb.kid(train, fake, subset_size=100, bootstrap=20)["estimates"]["kid"]
        prec = msb.prdc(train, fake, k=5)["precision"]
        print(f"{name:15s} FID {r['fid']:.3f}  population FID {pop['value']:.3f} [{pop['ci_low']:.3f}, {pop['ci_high']:.3f}]"
              f"  KID {kid['value']:.4f} [{kid['ci_low']:.4f}, {kid['ci_high']:.4f}]  precision {prec:.3f}")

    # 3. Inside a training loop: real statistics once, generated statistics every few steps. The
    #    "generator" here drifts from pneumonia towards breast images as it "trains".
    real_stats = msb.feature_stats(train)
    rng = np.random.default_rng(0)
    for step in range(1, 11):
        if step % 5 == 0:
            acc = msb.FeatureStats(train.shape[1])
            for _ in range(4):  # batches of generated features, e.g. torch tensors from your model
                t = step / 10
                batch = np.where(rng.random((64, 1)) < t, test[rng.integers(0, len(test), 64)],
                                 other[rng.integers(0, len(other), 64)])
                acc.update(batch)
            print(f"step {step}: FID vs real {msb.fid(real_stats, acc.compute())['fid']:.3f}")

    # 4. A memorization audit on embeddings you hold: 10 planted near-copies among new images.
    planted = np.clip(train[:10] * 1.02 + 0.01, 0, 1)
    synthetic = np.concatenate([test[:90], planted]).astype(np.float32)
    audit = msb.memorization_audit(train, holdout, synthetic, k=5)
    print(f"audit: tau {audit['tau']:.4f}, flagged {len(audit['flagged'])} of {len(synthetic)}"
          f" (rows {audit['flagged'].tolist()})")

    # 5. The quickstart suite, its results as rows for a data frame, and a figure.
    if args.suite:
        suite = os.path.join(here, "..", "..", "suites", "quickstart.json")
        msb.validate_suite(suite)
        results = msb.run_suite(suite, args.out)
        rows = msb.results_rows(results)
        try:
            import pandas as pd
            print(pd.DataFrame(rows).head(20))
        except ImportError:
            for row in rows[:20]:
                print(row)
        try:
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
            fid = [r for r in rows if r["metric"] == "fid" and r["value"] is not None]
            for model in sorted({r["model"] for r in fid}):
                pts = [r for r in fid if r["model"] == model]
                plt.errorbar([r["modality"] for r in pts], [r["value"] for r in pts],
                             yerr=[[r["value"] - (r["ci_low"] if r["ci_low"] is not None else r["value"]) for r in pts],
                                   [(r["ci_high"] if r["ci_high"] is not None else r["value"]) - r["value"] for r in pts]],
                             fmt="o", label=model)
            plt.legend()
            plt.ylabel("FID")
            plt.savefig(os.path.join(args.out, "fid.png"))
            print("figure:", os.path.join(args.out, "fid.png"))
        except ImportError:
            print("matplotlib is not installed: no figure")
    return 0


if __name__ == "__main__":
    sys.exit(main())

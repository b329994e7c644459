"""The audit on embedding arrays against a float64 numpy reference (cosine similarity, top-k,
numpy's linear quantile), and the approximate indexes' measured recall."""
import unittest

import numpy as np

import medsynbench as msb
from support import medmnist, sub64


def reference(train, holdout, synthetic, k, q):
    def l2(x):
        x = x.astype(np.float64)
        n = np.linalg.norm(x, axis=1, keepdims=True)
        return np.where(n > 0, x / np.where(n > 0, n, 1), 0)

    t, h, s = l2(train), l2(holdout), l2(synthetic)
    sims = s @ t.T
    order = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    hold_nn = (h @ t.T).max(axis=1)
    tau = np.quantile(hold_nn, q)
    nn = sims.max(axis=1)
    return order, np.take_along_axis(sims, order, axis=1), hold_nn, tau, np.flatnonzero(nn > tau)


def reference_similarities(train, synthetic):
    def l2(x):
        x = x.astype(np.float64)
        return x / np.linalg.norm(x, axis=1, keepdims=True)
    return l2(synthetic) @ l2(train).T


class EmbeddingAudit(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        imgs = medmnist("breastmnist", "train_images")
        cls.train = sub64(imgs[0:400])
        cls.holdout = sub64(medmnist("breastmnist", "val_images")[0:78])
        # Synthetic: 30 new images and 10 near-copies of training images (slightly brightened).
        copies = np.clip(cls.train[[3, 50, 99, 150, 201, 250, 301, 333, 350, 399]] * 1.02 + 0.01, 0, 1)
        cls.synthetic = np.concatenate([sub64(medmnist("breastmnist", "test_images")[0:30]), copies]).astype(np.float32)

    def test_flat_search_and_calibration_equal_numpy(self):
        r = msb.memorization_audit(self.train, self.holdout, self.synthetic, k=5, threshold_quantile=0.95)
        order, sims, hold_nn, tau, flagged = reference(self.train, self.holdout, self.synthetic, 5, 0.95)
        # FAISS ranks in float32: neighbours may swap only where two similarities agree to float32
        # rounding, so compare the similarities of the returned neighbours with the true top k,
        # and the ids themselves where the true top k has no near-tie.
        np.testing.assert_allclose(r["similarities"], sims, atol=1e-6)
        full = reference_similarities(self.train, self.synthetic)
        np.testing.assert_allclose(np.take_along_axis(full, r["neighbors"], axis=1), sims, atol=1e-6)
        top = -np.sort(-full, axis=1)[:, :6]  # the top k + 1 = 6 similarities of each row
        clear = (np.abs(np.diff(top, axis=1)) > 1e-5).all(axis=1)
        self.assertGreater(clear.sum(), 30)
        np.testing.assert_array_equal(r["neighbors"][clear], order[clear])
        np.testing.assert_allclose(r["holdout_nn"], hold_nn, atol=1e-6)
        self.assertAlmostEqual(r["tau"], tau, delta=1e-6)
        away = np.abs(sims[:, 0] - tau) > 1e-5  # rows not within rounding of the threshold
        np.testing.assert_array_equal(np.isin(np.flatnonzero(away), r["flagged"]), np.isin(np.flatnonzero(away), flagged))
        # The planted near-copies are flagged, with their source as the nearest neighbour.
        for i, src in enumerate([3, 50, 99, 150, 201, 250, 301, 333, 350, 399]):
            self.assertIn(30 + i, r["flagged"])
            self.assertEqual(r["neighbors"][30 + i, 0], src)
        self.assertAlmostEqual(r["fraction_flagged"], len(flagged) / 40, delta=1e-15)
        self.assertEqual(r["recall_at_k"], 1.0)
        cal = r["calibration"]
        self.assertAlmostEqual(cal["median_dcr_synthetic"], np.median(1 - sims[:, 0]), delta=1e-6)
        self.assertEqual(cal["mann_whitney"]["alternative"], "less")

    def test_approximate_indexes_report_their_recall(self):
        for index in ("hnsw", "ivf"):
            with self.subTest(index):
                r = msb.memorization_audit(self.train, self.holdout, self.synthetic, k=3, index=index, seed=1)
                self.assertGreater(r["recall_queries"], 0)
                self.assertGreaterEqual(r["recall_at_k"], 0.5)
                self.assertLessEqual(r["recall_at_k"], 1.0)
                self.assertIn(index.upper() if index == "ivf" else "HNSW", r["index"].upper())

    def test_fewer_training_rows_than_k_is_a_warning(self):
        r = msb.memorization_audit(self.train[:3], self.holdout, self.synthetic, k=5)
        self.assertEqual(r["neighbors"].shape, (40, 3))
        self.assertTrue(any("fewer than k = 5" in w for w in r["warnings"]))


if __name__ == "__main__":
    unittest.main()

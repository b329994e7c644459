"""The module's feature and image metrics: equal to the golden references (pytorch-fid recipe,
numpy KID/PRDC, skimage SSIM, pytorch_msssim transcription; scripts/fixtures/metrics_fixtures.py)
at the C++ tests' tolerances, and bit-identical to the CLI on the same inputs."""
import os
import pickle
import unittest

import numpy as np

import medsynbench as msb
from support import (TempDir, blend, cli_json, golden, image_chw, medmnist, mosaic, sub16, sub64)


def rel(a, b):
    return abs(a - b) / max(abs(b), 1e-300)


class GoldenReferences(unittest.TestCase):
    """Tolerances as in tests/metrics: FID 1e-6 relative (float64 vs scipy sqrtm), KID 1e-9
    relative, PRDC 1e-12, SSIM/MS-SSIM 1e-6 absolute."""

    @classmethod
    def setUpClass(cls):
        cls.g = golden("metrics/golden.json")
        cls.breast_tr = medmnist("breastmnist", "train_images")
        cls.breast_te = medmnist("breastmnist", "test_images")
        cls.pneu_tr = medmnist("pneumoniamnist", "train_images")
        cls.retina_te = medmnist("retinamnist", "test_images")

    def test_fid_equals_the_pytorch_fid_recipe(self):
        cases = {
            "d16_breast_vs_pneumonia": (sub16(self.breast_tr[0:200]), sub16(self.pneu_tr[0:300])),
            "d16_breast_vs_breast": (sub16(self.breast_tr[0:200]), sub16(self.breast_tr[200:400])),
            "d64_breast_vs_pneumonia": (sub64(self.breast_tr[0:300]), sub64(self.pneu_tr[0:400])),
            "d64_breast_vs_breast": (sub64(self.breast_tr[0:300]), sub64(self.breast_tr[300:546])),
        }
        for name, (a, b) in cases.items():
            with self.subTest(name):
                r = msb.fid(a, b)
                self.assertLess(rel(r["fid"], self.g["fid"][name]["fid"]), 1e-6)
                self.assertEqual((r["n_a"], r["n_b"], r["dim"]), (len(a), len(b), a.shape[1]))
                self.assertEqual(r["diagnostics"]["method"], "cholesky_a")
                self.assertIsNone(r["estimates"]["fid"]["ci_low"])  # bootstrap 0: no interval

    def test_statistics_equal_numpy_and_the_stats_fixture(self):
        s = msb.feature_stats(sub16(self.breast_tr[0:200]))
        ref = self.g["stats_breast_d16"]
        self.assertEqual(s.n, 200)
        self.assertLess(abs(s.mu[0] - ref["mu0"]), 1e-15)
        self.assertLess(abs(s.sigma[0, 0] - ref["sigma00"]), 1e-14)
        self.assertLess(abs(s.sigma[1, 2] - ref["sigma_1_2"]), 1e-14)
        x = sub16(self.breast_tr[0:200]).astype(np.float64)
        np.testing.assert_allclose(s.sigma, np.cov(x, rowvar=False), rtol=0, atol=1e-14)

    def test_cmmd_and_vendi_equal_the_peers_code(self):
        ref = golden("metrics/peer_metrics.json")
        a, b = sub64(self.breast_tr[0:300]), sub64(self.pneu_tr[0:400])
        self.assertLess(rel(msb.cmmd(a, b)["cmmd"], ref["cmmd"]["sub64_breast_vs_pneumonia"]["ref_float64"]), 1e-9)
        self.assertEqual(msb.authpct(a, sub64(self.breast_tr[300:546]))["authentic"],
                         round(ref["authpct"]["breast_vs_breast"] * 246 / 100))
        for q, key in [(1, "1"), (2, "2"), (0.5, "0.5"), (float("inf"), "inf")]:
            self.assertLess(rel(msb.vendi(a, q=q)["vendi"], ref["vendi"]["sub64_breast_300"][key]), 1e-9)

    def test_kid_full_sets_equal_numpy(self):
        a, b = sub16(self.breast_tr[0:200]), sub16(self.pneu_tr[0:300])
        r = msb.kid(a, b, subset_size=10**6)
        self.assertTrue(r["full_sets"])
        self.assertLess(rel(r["kid_mean"], self.g["kid"]["d16_breast_vs_pneumonia"]), 1e-9)

    def test_prdc_equals_the_published_formulas(self):
        real = sub16(self.breast_tr[0:200])
        for name, fake, k in [("d16_breast_vs_pneumonia_k5", sub16(self.pneu_tr[0:300]), 5),
                              ("d16_breast_vs_breast_k3", sub16(self.breast_tr[200:400]), 3)]:
            with self.subTest(name):
                r = msb.prdc(real, fake, k=k)
                for key in ("precision", "recall", "density", "coverage"):
                    self.assertLess(abs(r[key] - self.g["prdc"][name][key]), 1e-12)

    def test_ssim_and_ms_ssim_equal_skimage_and_pytorch_msssim(self):
        b0, b1 = image_chw(self.breast_te[0]), image_chw(self.breast_te[1])
        r0, r1 = image_chw(self.retina_te[0]), image_chw(self.retina_te[1])
        g = self.g
        self.assertLess(abs(msb.ssim(b0, b1, data_range=1.0) - g["ssim"]["breast_t0_t1"]), 1e-6)
        self.assertLess(abs(msb.ssim(b0[0], b1[0], data_range=1.0) - g["ssim"]["breast_t0_t1"]), 1e-6)  # (H, W)
        self.assertLess(abs(msb.ssim(r0, r1, data_range=1.0) - g["ssim"]["retina_t0_t1"]), 1e-6)
        self.assertLess(abs(msb.ssim(b0, b1, data_range=2.0) - g["ssim"]["breast_t0_t1_range2"]), 1e-6)
        self.assertLess(abs(msb.ssim(b0, blend(b0, b1), data_range=1.0) - g["ssim"]["breast_t0_blend"]), 1e-6)
        mx, my = mosaic(self.breast_te[0:49]), mosaic(self.breast_te[49:98])
        self.assertLess(abs(msb.ms_ssim(mx, my, data_range=1.0) - g["msssim"]["mosaic_breast"]), 1e-6)
        self.assertLess(abs(msb.ms_ssim(mx, my, data_range=2.0) - g["msssim"]["mosaic_breast_range2"]), 1e-6)
        crop = msb.ms_ssim(mx[:, 3:48, 5:42], my[:, 3:48, 5:42], data_range=1.0, scales=3, win_size=7, sigma=1.0,
                           weights=[0.2, 0.3, 0.5])
        self.assertLess(abs(crop - g["msssim"]["crop45x37_s3_w7"]), 1e-6)
        # A batch gives one value per pair, equal to the single calls.
        batch = msb.ms_ssim(np.stack([mx, mx]), np.stack([my, blend(mx, my)]), data_range=1.0)
        self.assertEqual(batch.shape, (2,))
        self.assertLess(abs(batch[1] - g["msssim"]["mosaic_breast_blend"]), 1e-6)
        # 8-bit values with data_range=255 are the same images.
        u8x, u8y = (mx * 255).round(), (my * 255).round()
        self.assertLess(abs(msb.ms_ssim(u8x, u8y, data_range=255.0) - g["msssim"]["mosaic_breast"]), 1e-6)

    def test_diversity_equals_the_mean_of_pairwise_ms_ssim(self):
        mos = np.stack([mosaic(self.breast_tr[49 * k:49 * (k + 1)]) for k in range(10)])
        ref = self.g["diversity"]["breast_train_mosaics5"]
        # The pairs of the first five mosaics equal the pytorch_msssim transcription.
        pairs = [(i, j) for i in range(5) for j in range(i + 1, 5)]
        got = msb.ms_ssim(mos[[i for i, _ in pairs]], mos[[j for _, j in pairs]], data_range=1.0)
        np.testing.assert_allclose(got, ref["values"], rtol=0, atol=1e-6)
        # Ten images (the minimum): the mean and std of all 45 pairs, with an interval around it.
        r = msb.diversity(mos, data_range=1.0, bootstrap=200, seed=1)
        all_pairs = [(i, j) for i in range(10) for j in range(i + 1, 10)]
        vals = msb.ms_ssim(mos[[i for i, _ in all_pairs]], mos[[j for _, j in all_pairs]], data_range=1.0)
        self.assertEqual(r["n_pairs"], 45)
        self.assertAlmostEqual(r["msssim_mean"], float(np.mean(vals)), delta=1e-12)
        self.assertAlmostEqual(r["msssim_std"], float(np.std(vals, ddof=1)), delta=1e-12)
        self.assertLessEqual(r["ci_low"], r["msssim_mean"])
        self.assertLessEqual(r["msssim_mean"], r["ci_high"])
        # Below ten images the figure is null with the reason, never a number from too few samples.
        small = msb.diversity(mos[:5], data_range=1.0)
        self.assertIsNone(small["msssim_mean"])
        self.assertIn("needs at least 10", small["note"])


class SameNumbersAsTheCli(unittest.TestCase):
    """The module and `medsynbench metrics ... --json` run the same C++ function on the same
    float32 features: every number is equal, not just close."""

    @classmethod
    def setUpClass(cls):
        cls.a = sub16(medmnist("breastmnist", "train_images")[0:150])
        cls.b = sub16(medmnist("pneumoniamnist", "train_images")[0:170])

    def cli(self, command, *flags):
        with TempDir() as d:
            pa, pb = os.path.join(d, "a.npy"), os.path.join(d, "b.npy")
            np.save(pa, self.a)
            np.save(pb, self.b)
            j = cli_json("metrics", command, pa, pb, *flags)
        for k in ("a", "b", "provenance"):
            j.pop(k, None)
        return j

    def test_fid_with_bootstrap_intervals(self):
        self.assertEqual(msb.fid(self.a, self.b, bootstrap=25, seed=7),
                         self.cli("fid", "--bootstrap", "25", "--seed", "7"))

    def test_kid_with_subsets_and_intervals(self):
        self.assertEqual(msb.kid(self.a, self.b, subsets=20, subset_size=60, bootstrap=10, seed=3),
                         self.cli("kid", "--subsets", "20", "--subset-size", "60", "--bootstrap", "10", "--seed", "3"))

    def test_prdc_with_intervals(self):
        self.assertEqual(msb.prdc(self.a, self.b, k=4, bootstrap=10, seed=2),
                         self.cli("prdc", "--k", "4", "--bootstrap", "10", "--seed", "2"))

    def test_cmmd_and_vendi(self):
        self.assertEqual(msb.cmmd(self.a, self.b, bootstrap=10, seed=4),
                         self.cli("cmmd", "--bootstrap", "10", "--seed", "4"))
        with TempDir() as d:
            p = os.path.join(d, "a.npy")
            np.save(p, self.a)
            j = cli_json("metrics", "vendi", p, "--q", "2")
        del j["features"], j["provenance"]
        self.assertEqual(msb.vendi(self.a, q=2), j)
        self.assertEqual(msb.vendi(self.a, q=float("inf"))["q"], "inf")
        j = self.cli("authpct")
        del j["train"], j["generated"]
        self.assertEqual(msb.authpct(self.a, self.b), j)

    def test_c_t_equals_the_cli(self):
        with TempDir() as d:
            paths = []
            for name, x in (("t", self.a), ("p", self.a[::2]), ("g", self.b)):
                paths.append(os.path.join(d, name + ".npy"))
                np.save(paths[-1], x)
            j = cli_json("metrics", "ct", *paths, "--seed", "5")
        for k in ("train", "test", "generated", "seed", "provenance"):
            del j[k]
        self.assertEqual(msb.c_t(self.a, self.a[::2], self.b, seed=5), j)

    def test_float64_fortran_and_strided_inputs_are_converted_like_the_cli_reads_them(self):
        # The CLI reads a float64 or Fortran-ordered .npy into C-order float32; so does the module.
        want = msb.fid(self.a, self.b, bootstrap=5, seed=1)
        a64 = self.a.astype(np.float64)
        self.assertEqual(msb.fid(a64, self.b, bootstrap=5, seed=1), want)
        self.assertEqual(msb.fid(np.asfortranarray(self.a), self.b, bootstrap=5, seed=1), want)
        wide = np.zeros((self.a.shape[0], self.a.shape[1] * 2), np.float32)
        wide[:, ::2] = self.a
        self.assertEqual(msb.fid(wide[:, ::2], self.b, bootstrap=5, seed=1), want)  # a strided view
        with TempDir() as d:  # the CLI on the Fortran-ordered float64 file: the same numbers
            pa, pb = os.path.join(d, "a.npy"), os.path.join(d, "b.npy")
            np.save(pa, np.asfortranarray(a64))
            np.save(pb, self.b)
            j = cli_json("metrics", "fid", pa, pb, "--bootstrap", "5", "--seed", "1")
        for k in ("a", "b", "provenance"):
            del j[k]
        self.assertEqual(j, want)

    def test_statistics_files_written_by_the_module_are_read_by_the_cli(self):
        with TempDir() as d:
            sa, sb = os.path.join(d, "a.npz"), os.path.join(d, "b.npz")
            msb.feature_stats(self.a).save(sa)
            msb.feature_stats(self.b).save(sb)
            j = cli_json("metrics", "fid", sa, sb)
            self.assertEqual(j["fid"], msb.fid(msb.GaussianStats.load(sa), msb.GaussianStats.load(sb))["fid"])
            self.assertIsNone(j["estimates"])
        self.assertLess(rel(j["fid"], msb.fid(self.a, self.b)["fid"]), 1e-12)


class TensorsAndArrays(unittest.TestCase):
    def test_objects_with_the_torch_tensor_interface_are_accepted(self):
        class FakeTensor:  # detach().cpu().numpy(), as torch.Tensor
            def __init__(self, a):
                self.a = a

            def detach(self):
                return self

            def cpu(self):
                return self

            def numpy(self):
                return self.a

        rng = np.random.default_rng(0)
        a, b = rng.normal(size=(50, 6)).astype(np.float32), rng.normal(size=(60, 6)).astype(np.float32)
        self.assertEqual(msb.fid(FakeTensor(a), FakeTensor(b)), msb.fid(a, b))
        self.assertEqual(msb.kid(FakeTensor(a), b, subset_size=10**6), msb.kid(a, b, subset_size=10**6))

    def test_real_torch_tensors_when_python3_torch_is_installed(self):
        try:
            import torch
        except ImportError:
            if os.environ.get("CI") == "true":  # scripts/install-deps installs it
                raise
            self.skipTest("python3-torch is not installed")
        rng = np.random.default_rng(1)
        a, b = rng.normal(size=(40, 5)).astype(np.float32), rng.normal(size=(45, 5)).astype(np.float32)
        ta = torch.from_numpy(a).requires_grad_(True)  # a leaf that requires grad is detached first
        self.assertEqual(msb.fid(ta, torch.from_numpy(b)), msb.fid(a, b))
        acc = msb.FeatureStats(5)
        acc.update(torch.from_numpy(a))
        self.assertEqual(acc.count, 40)

    def test_c_contiguous_float32_is_read_in_place_and_other_layouts_are_converted_once(self):
        # NumPy reports its allocations to tracemalloc: a copy of the 20000 x 64 float32 features
        # (5.1 MB) would show; the C++ side allocates outside Python's view.
        import tracemalloc

        a = np.random.default_rng(0).normal(size=(20000, 64)).astype(np.float32)
        layouts = {"float32 C order": (a, 0), "float64": (a.astype(np.float64), 1),
                   "Fortran order": (np.asfortranarray(a), 1), "strided view": (np.repeat(a, 2, axis=1)[:, ::2], 1)}
        for name, (x, copies) in layouts.items():
            with self.subTest(name):
                tracemalloc.start()
                try:
                    msb.feature_stats(x)
                    peak = tracemalloc.get_traced_memory()[1]
                finally:
                    tracemalloc.stop()
                if copies == 0:
                    self.assertLess(peak, 64 * 1024)
                else:
                    self.assertGreaterEqual(peak, a.nbytes)
                    self.assertLess(peak, 2 * a.nbytes)

    def test_lists_are_accepted(self):
        self.assertAlmostEqual(msb.ssim([[0.0, 1.0] * 6] * 12, [[0.0, 1.0] * 6] * 12, data_range=1.0, win_size=3), 1.0,
                               places=12)


class StreamingStatistics(unittest.TestCase):
    def setUp(self):
        rng = np.random.default_rng(42)
        self.x = (rng.normal(size=(1000, 12)) * 3 + 100).astype(np.float32)  # |mean| >> std

    def test_batches_equal_one_pass_and_merge_equals_one_pass(self):
        whole = msb.FeatureStats(12)
        whole.update(self.x)
        parts = [msb.FeatureStats(12) for _ in range(3)]
        for i, batch in enumerate(np.array_split(self.x, 17)):
            parts[i % 3].update(batch)
        parts[0].merge(parts[1])
        parts[0].merge(parts[2])
        a, b = whole.compute(), parts[0].compute()
        self.assertEqual(a.n, 1000)
        self.assertEqual(b.n, 1000)
        np.testing.assert_allclose(b.mu, a.mu, rtol=1e-13, atol=0)
        np.testing.assert_allclose(b.sigma, a.sigma, rtol=1e-10, atol=1e-12)
        x = self.x.astype(np.float64)
        np.testing.assert_allclose(a.sigma, np.cov(x, rowvar=False), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(a.mu, x.mean(axis=0), rtol=1e-13)

    def test_float64_batches_are_accumulated_in_float64(self):
        x = np.random.default_rng(3).normal(size=(300, 4)) * 1e-3 + 1.0  # float64 detail below float32
        acc = msb.FeatureStats(4)
        acc.update(x)
        np.testing.assert_allclose(acc.compute().sigma, np.cov(x, rowvar=False), rtol=1e-9)

    def test_pickled_state_merges_in_another_process_exactly(self):
        acc = msb.FeatureStats(12)
        acc.update(self.x[:400])
        clone = pickle.loads(pickle.dumps(acc))
        self.assertEqual((clone.dim, clone.count), (12, 400))
        rest = msb.FeatureStats(12)
        rest.update(self.x[400:])
        acc.merge(rest)
        clone.merge(rest)
        np.testing.assert_array_equal(acc.compute().sigma, clone.compute().sigma)

    def test_fid_from_streamed_statistics_equals_fid_of_the_arrays(self):
        rng = np.random.default_rng(5)
        y = rng.normal(size=(800, 12)).astype(np.float32) * 3 + 100.5
        sx, sy = msb.FeatureStats(12), msb.FeatureStats(12)
        for i in range(0, 1000, 64):
            sx.update(self.x[i:i + 64])
        for i in range(0, 800, 50):
            sy.update(y[i:i + 50])
        self.assertLess(rel(msb.fid(sx.compute(), sy.compute())["fid"], msb.fid(self.x, y)["fid"]), 1e-10)

    def test_a_training_loop_checks_its_checkpoint_every_few_steps(self):
        # Pure-numpy "generator" whose samples approach the real distribution as training goes on:
        # the regression check computes FID against cached real statistics every 5 steps.
        rng = np.random.default_rng(0)
        real = msb.FeatureStats(8)
        for _ in range(4):
            real.update(rng.normal(size=(256, 8)))
        real_stats = real.compute()
        history = []
        for step in range(1, 21):
            if step % 5 == 0:
                fake = msb.FeatureStats(8)
                for _ in range(4):
                    fake.update(rng.normal(loc=2.0 / step, size=(256, 8)).astype(np.float32))
                history.append(msb.fid(real_stats, fake.compute())["fid"])
        self.assertEqual(len(history), 4)
        self.assertEqual(history, sorted(history, reverse=True))  # better every checkpoint


class Errors(unittest.TestCase):
    def test_bad_shapes_and_values_raise_input_error_with_the_message(self):
        good = np.zeros((10, 3), np.float32) + np.arange(3, dtype=np.float32)
        cases = [
            (lambda: msb.fid(np.zeros(5, np.float32), good), "expected a 2-D (N, D) feature array, got shape (5,)"),
            (lambda: msb.kid(good, np.zeros((10, 4), np.float32)), "has dimension"),
            (lambda: msb.prdc(np.zeros((0, 3), np.float32), good), "real"),
            (lambda: msb.fid(np.full((10, 3), np.nan, np.float32), good), "a: row 0 contains NaN or Inf"),
            (lambda: msb.fid(good, good, bootstrap=-1), "bootstrap"),
            (lambda: msb.fid(good, good, ci_level=1.5), "confidence level"),
            (lambda: msb.ms_ssim(np.zeros((32, 32)), np.zeros((32, 32)), data_range=1.0), "161"),
            (lambda: msb.ssim(np.zeros((3, 20, 20)), np.zeros((1, 20, 20)), data_range=1.0), "channel"),
            (lambda: msb.ssim(np.zeros((2, 1, 20, 20)), np.zeros((1, 20, 20)), data_range=1.0), "same size"),
            (lambda: msb.auroc([0, 1, 1.5], [0.1, 0.2, 0.3]), "labels[2] = 1.5 is not a binary label"),
            (lambda: msb.auroc([0, 1], [0.1, 0.2, 0.3]), "labels has 2 values but scores has 3"),
            (lambda: msb.memorization_audit(good, good, np.zeros((4, 2), np.float32)), "synthetic has dimension 2"),
            (lambda: msb.memorization_audit(good, good, good, index="kd"), "index"),
            (lambda: msb.FeatureStats(3).update(np.zeros((2, 4))), "batch has 4 columns"),
            (lambda: msb.FeatureStats(3).compute(), "at least 2"),
        ]
        for fn, text in cases:
            with self.subTest(text):
                with self.assertRaises(msb.InputError) as cm:
                    fn()
                self.assertIn(text, str(cm.exception))
                self.assertIsInstance(cm.exception, ValueError)

    def test_the_exception_hierarchy(self):
        self.assertTrue(issubclass(msb.InputError, ValueError))
        self.assertTrue(issubclass(msb.CheckFailed, msb.MedSynError))
        self.assertTrue(issubclass(msb.SuiteInvalid, msb.InputError))


if __name__ == "__main__":
    unittest.main()

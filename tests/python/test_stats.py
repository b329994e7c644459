"""The module's statistics: equal to R pROC, R p.adjust and scipy on the committed fixtures
(scripts/fixtures/stats_fixtures.{R,py}) and to `medsynbench stats ... --json` on the same data."""
import os
import unittest

import numpy as np

import medsynbench as msb
from support import FIXTURES, TempDir, cli_json, golden


def read_scores(name):
    path = os.path.join(FIXTURES, "stats", name)
    data = np.genfromtxt(path, delimiter=",", names=True)
    return path, data


class References(unittest.TestCase):
    """Tolerance 1e-9 absolute: the fixtures are R and scipy in float64."""

    def test_auroc_and_delong_equal_r_proc(self):
        ref = golden("stats/proc_reference.json")
        for case in ref["cases"]:
            with self.subTest(case["file"]):
                _, d = read_scores(case["file"])
                r = msb.auroc(d["y"], d["a"])
                self.assertEqual((r["n_pos"], r["n_neg"]), (case["n_pos"], case["n_neg"]))
                self.assertAlmostEqual(r["auc"], case["auc_a"], delta=1e-12)
                self.assertAlmostEqual(r["variance"], case["var_a"], delta=1e-12)
                self.assertAlmostEqual(r["ci_low"], case["ci_a"][0], delta=1e-9)
                self.assertAlmostEqual(r["ci_high"], case["ci_a"][1], delta=1e-9)
                r90 = msb.auroc(d["y"], d["a"], level=0.9)
                self.assertAlmostEqual(r90["ci_low"], case["ci_a_90"][0], delta=1e-9)
                t = msb.delong_test(d["y"], d["a"], d["b"])
                self.assertAlmostEqual(t["z"], case["z"], delta=1e-9)
                self.assertAlmostEqual(t["p"], case["p"], delta=1e-9)
                self.assertAlmostEqual(t["ci_low"], case["ci_diff"][0], delta=1e-9)
                self.assertAlmostEqual(t["cov_ab"], case["cov_ab"], delta=1e-12)

    def test_p_adjust_equals_r(self):
        for case in golden("stats/padjust_reference.json")["cases"]:
            np.testing.assert_allclose(msb.p_adjust(case["p"], "holm"), case["holm"], rtol=0, atol=1e-15)
            np.testing.assert_allclose(msb.p_adjust(case["p"], "bh"), case["bh"], rtol=0, atol=1e-15)

    def test_paired_tests_and_mann_whitney_equal_scipy(self):
        ref = golden("stats/scipy_reference.json")
        for case in ref["paired"]:
            with self.subTest(case["name"]):
                r = msb.paired_tests(case["a"], case["b"])
                self.assertAlmostEqual(r["t_test"]["t"], case["t"], delta=1e-9)
                self.assertAlmostEqual(r["t_test"]["p"], case["t_p"], delta=1e-9)
                self.assertAlmostEqual(r["ci_low"], case["ci_low"], delta=1e-9)
                self.assertAlmostEqual(r["wilcoxon"]["w"], case["w"], delta=1e-9)
                self.assertAlmostEqual(r["wilcoxon"]["p"], case["w_p"], delta=1e-9)
                self.assertEqual(r["wilcoxon"]["method"], case["w_method"])
        for case in ref["mannwhitneyu"]:
            for alt in ("two-sided", "less", "greater"):
                with self.subTest(case["name"] + " " + alt):
                    r = msb.mann_whitney_u(case["x"], case["y"], alternative=alt)
                    self.assertAlmostEqual(r["u"], case[alt]["u"], delta=1e-9)
                    self.assertAlmostEqual(r["p"], case[alt]["p"], delta=1e-9)
                    self.assertEqual(r["method"], case["method"])

    def test_intervals_contain_their_estimates_and_state_their_method(self):
        w = msb.wilson_interval(3, 40)
        self.assertEqual((w["value"], w["ci_method"], w["n"]), (3 / 40, "wilson", 40))
        # Wilson by hand: (p + z^2/2n -/+ z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)
        z, p, n = 1.959963984540054, 3 / 40, 40
        centre, half = p + z * z / (2 * n), z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
        self.assertAlmostEqual(w["ci_low"], (centre - half) / (1 + z * z / n), delta=1e-12)
        t = msb.t_interval([0.81, 0.83, 0.80, 0.84, 0.82])
        self.assertAlmostEqual(t["ci_high"] - t["value"], 2.7764451051977987 * np.std([0.81, 0.83, 0.80, 0.84, 0.82], ddof=1) / np.sqrt(5), delta=1e-12)
        b = msb.bootstrap_mean(np.arange(30.0), replicates=500, seed=4)
        self.assertLessEqual(b["ci_low"], b["value"])
        self.assertLessEqual(b["value"], b["ci_high"])
        self.assertEqual(b["ci_method"], "percentile bootstrap")
        self.assertEqual(b, msb.bootstrap_mean(np.arange(30.0), replicates=500, seed=4))  # deterministic


class SameNumbersAsTheCli(unittest.TestCase):
    def test_auc_delong_paired_and_bootstrap(self):
        # The same objects as the CLI's --json (stats/results_json.h), minus the command and file names.
        path, d = read_scores("auc_realistic_400.csv")

        def without(j, *keys):
            for k in ("command", "scores", "label_col", *keys):
                del j[k]
            return j

        self.assertEqual(msb.auroc(d["y"], d["s"]), without(cli_json("stats", "auc", "--scores", path), "score_col"))
        self.assertEqual(msb.delong_test(d["y"], d["a"], d["b"]),
                         without(cli_json("stats", "delong", "--scores", path, "--a", "a", "--b", "b"), "a", "b"))
        cli = cli_json("stats", "bootstrap", "--scores", path, "--metric", "auc", "--resamples", "300", "--seed", "9",
                       "--method", "bca")
        self.assertEqual(msb.stratified_bootstrap(d["y"], d["s"], resamples=300, seed=9, method="bca"),
                         without(cli, "score_col"))
        with TempDir() as t:
            fa, fb = os.path.join(t, "a.txt"), os.path.join(t, "b.txt")
            np.savetxt(fa, d["a"][:40], fmt="%.17g")
            np.savetxt(fb, d["b"][:40], fmt="%.17g")
            cli = cli_json("stats", "paired", "--a", fa, "--b", fb)
        for k in ("command", "a", "b"):
            del cli[k]
        self.assertEqual(msb.paired_tests(d["a"][:40], d["b"][:40]), cli)


if __name__ == "__main__":
    unittest.main()

"""Suites and results from Python: validation with JSON paths, results.json as dicts and long rows
(the report's metrics.csv rows), and run_suite driving the CLI with the same results as `run`."""
import csv
import json
import os
import shutil
import subprocess
import unittest

import medsynbench as msb
from support import CLI, FIXTURES, SHARED, SOURCE, TempDir, cli_json, require


def folder_suite(dataset: str) -> dict:
    """BreastMNIST with a folder "generator" (real test images): no training, seconds to run."""
    npz = require(os.path.join(SHARED, "medmnist", "breastmnist.npz"), "MedMNIST file breastmnist.npz")
    return {
        "schema_version": 1, "name": "python-test", "seed": 3,
        "datasets": {"breast": {"source": {"medmnist": npz}, "splits": {"train": "train", "holdout": "val", "test": "test"}}},
        "modalities": {"breast_ultrasound": {"dataset": "breast", "specialty": "radiology", "prompts": "from_manifest",
                                             "n_generate": 12}},
        "models": {"gen": {"kind": "generalist", "modalities": ["breast_ultrasound"],
                           "source": {"type": "folder", "path": dataset}}},
        "evaluations": {"fidelity": {"extractor": "builtin:pixels:2", "bootstrap": 5, "k": 2, "kid_subsets": 5},
                        "diversity": {"pairs": 10, "bootstrap": 5}},
    }


def normalised(results: dict) -> dict:
    """results.json without what legitimately changes between runs (as tests/suites does)."""
    j = json.loads(json.dumps(results))
    for k in ("started", "finished", "time", "command_line"):
        j["provenance"].pop(k, None)
    for e in j.get("compute", {}).get("models", {}).values():
        e.pop("wall_time_s", None)
        e.pop("images_per_s", None)
    j.get("compute", {}).pop("notes", None)
    return j


class Validation(unittest.TestCase):
    def test_the_shipped_quickstart_suite_is_valid(self):
        msb.validate_suite(os.path.join(SOURCE, "suites", "quickstart.json"))

    def test_every_problem_is_listed_with_its_json_path(self):
        with TempDir() as d:
            s = folder_suite(os.path.join(d, "missing-folder"))
            s["models"]["gen"]["modalities"] = ["brain_mri"]
            s["evaluations"]["fidelity"]["bootstrap"] = "many"
            path = os.path.join(d, "s.json")
            with open(path, "w") as f:
                json.dump(s, f)
            with self.assertRaises(msb.SuiteInvalid) as cm:
                msb.validate_suite(path)
        paths = [p for p, _ in cm.exception.problems]
        self.assertIn("$.models.gen.modalities[0]", paths)
        self.assertIn("$.evaluations.fidelity.bootstrap", paths)
        self.assertTrue(any(p.startswith("$.models.gen.source") for p in paths), paths)
        self.assertIn(path, str(cm.exception))
        self.assertIsInstance(cm.exception, ValueError)

    def test_a_file_that_is_not_json_is_an_input_error_naming_it(self):
        with TempDir() as d:
            path = os.path.join(d, "bad.json")
            with open(path, "w") as f:
                f.write("{ not json")
            with self.assertRaises(msb.InputError) as cm:
                msb.validate_suite(path)
            self.assertIn(path, str(cm.exception))


class Results(unittest.TestCase):
    def test_load_results_gives_plain_dicts(self):
        r = msb.load_results(os.path.join(FIXTURES, "reports", "results_base.json"))
        self.assertEqual(r["results"]["generalist"]["chest_xray"]["fid"]["value"], 24.31)
        self.assertIsInstance(r["models"], dict)

    def test_rows_are_the_reports_metrics_csv(self):
        path = os.path.join(FIXTURES, "reports", "results_base.json")
        rows = msb.results_rows(path)
        with TempDir() as d:
            subprocess.run([CLI, "report", path, "--out", d], check=True, capture_output=True)
            with open(os.path.join(d, "metrics.csv"), newline="") as f:
                want = list(csv.DictReader(f))
        self.assertEqual(len(rows), len(want))

        def num(s):
            return float(s) if s != "" else None

        for got, w in zip(rows, want):
            for k in ("section", "model", "kind", "modality", "metric"):
                self.assertEqual(got[k], w[k])
            self.assertEqual(got["arm"] or "", w["arm"])
            for k in ("fraction", "value", "ci_low", "ci_high"):
                self.assertEqual(got[k], num(w[k]), k)
            self.assertEqual(got["n"], int(w["n"]) if w["n"] else None)
        self.assertEqual(msb.results_rows(msb.load_results(path)), rows)  # from the dict too

    def test_an_invalid_results_file_names_every_problem(self):
        with open(os.path.join(FIXTURES, "reports", "results_base.json")) as f:
            r = json.load(f)
        r["results"]["generalist"]["chest_xray"]["fid"]["value"] = -5
        with TempDir() as d:
            path = os.path.join(d, "results.json")
            with open(path, "w") as f:
                json.dump(r, f)
            with self.assertRaises(msb.InputError) as cm:
                msb.load_results(path)
        self.assertIn("$.results.generalist.chest_xray.fid", str(cm.exception))


class RunSuite(unittest.TestCase):
    def test_run_suite_equals_the_cli_run_and_resume_computes_nothing_new(self):
        with TempDir() as d:
            ds = os.path.join(d, "bm")
            npz = require(os.path.join(SHARED, "medmnist", "breastmnist.npz"), "MedMNIST file breastmnist.npz")
            subprocess.run([CLI, "data", "import", "medmnist", npz, "--out", ds], check=True, capture_output=True)
            suite = os.path.join(d, "s.json")
            with open(suite, "w") as f:
                json.dump(folder_suite(ds), f)
            got = msb.run_suite(suite, os.path.join(d, "py"), limit=60, quiet=True)
            subprocess.run([CLI, "run", suite, "--out", os.path.join(d, "cli"), "--limit", "60"], check=True,
                           capture_output=True)
            want = msb.load_results(os.path.join(d, "cli"))
            self.assertEqual(normalised(got)["results"], normalised(want)["results"])
            self.assertEqual(normalised(got)["samples"], normalised(want)["samples"])
            # builtin:pixels is not Inception: the Frechet distance is "fd", with its feature space.
            self.assertNotIn("fid", got["results"]["gen"]["breast_ultrasound"])
            fid = got["results"]["gen"]["breast_ultrasound"]["fd"]
            self.assertIsNotNone(fid["value"])
            self.assertEqual(fid["feature_space"], got["provenance"]["extractor"]["id"])
            # The Vendi score of the synthetic set next to the real set's own (reference).
            self.assertGreaterEqual(got["results"]["gen"]["breast_ultrasound"]["vendi"]["value"], 1.0)
            self.assertGreaterEqual(got["reference"]["breast_ultrasound"]["vendi"]["value"], 1.0)
            self.assertTrue(any(r["metric"] == "vendi" for r in msb.results_rows(got)))
            # CMMD with its interval (containing the value), and the real halves' CMMD as the floor.
            cmmd = got["results"]["gen"]["breast_ultrasound"]["cmmd"]
            self.assertLessEqual(cmmd["ci_low"], cmmd["value"])
            self.assertLessEqual(cmmd["value"], cmmd["ci_high"])
            self.assertGreaterEqual(got["reference"]["breast_ultrasound"]["cmmd_real_floor"]["value"], 0.0)
            again = msb.run_suite(suite, os.path.join(d, "py"), limit=60, resume=True, quiet=True)
            self.assertEqual(normalised(again)["results"], normalised(got)["results"])

    def test_cli_errors_become_python_exceptions_with_the_message(self):
        with TempDir() as d:
            suite = os.path.join(d, "s.json")
            with open(suite, "w") as f:
                json.dump(folder_suite(os.path.join(d, "bm")), f)  # the folder does not exist
            with self.assertRaises(msb.SuiteInvalid):
                msb.run_suite(suite, os.path.join(d, "out"), quiet=True)
            os.makedirs(os.path.join(d, "bm"))
            with self.assertRaises(msb.InputError) as cm:  # exit 2 from the CLI: not a dataset folder
                msb.run_suite(suite, os.path.join(d, "out"), quiet=True)
            self.assertNotIn("error: ", str(cm.exception))
            self.assertTrue(str(cm.exception))


if __name__ == "__main__":
    unittest.main()

"""The docs' walkthrough (python/examples/walkthrough.py) runs and prints what the docs show."""
import os
import re
import subprocess
import sys
import unittest

from support import SHARED, SOURCE, require


class Walkthrough(unittest.TestCase):
    def test_walkthrough_runs_on_real_medmnist(self):
        require(os.path.join(SHARED, "medmnist", "breastmnist.npz"), "MedMNIST file breastmnist.npz")
        require(os.path.join(SHARED, "medmnist", "pneumoniamnist.npz"), "MedMNIST file pneumoniamnist.npz")
        p = subprocess.run([sys.executable, os.path.join(SOURCE, "python", "examples", "walkthrough.py"), "--data", SHARED],
                           capture_output=True, text=True, env=dict(os.environ, MEDSYN_QUIET="1"))
        self.assertEqual(p.returncode, 0, p.stderr)
        fids = {m.group(1): float(m.group(2)) for m in re.finditer(r"^(breast test|pneumonia test)\s+FID ([0-9.]+)", p.stdout, re.M)}
        self.assertLess(fids["breast test"], fids["pneumonia test"])  # the same modality is closer
        steps = [float(x) for x in re.findall(r"^step \d+: FID vs real ([0-9.]+)", p.stdout, re.M)]
        self.assertEqual(len(steps), 2)
        self.assertLess(steps[1], steps[0])  # the toy generator improves
        flagged = re.search(r"audit: tau [0-9.]+, flagged (\d+) of 100", p.stdout)
        self.assertIsNotNone(flagged, p.stdout)


if __name__ == "__main__":
    unittest.main()

"""Shared helpers of the Python module tests (run by ctest through run.py).

Inputs: the shared MedMNIST files ($MEDSYN_SHARED_DATA_DIR/medmnist), the golden fixtures
($MEDSYN_FIXTURES_DIR) and the CLI ($MEDSYNBENCH_CLI). A missing input skips the test, except under
CI=true, where it fails (as the C++ tests do: tests/support/test_support.h).
"""
import json
import os
import subprocess
import tempfile
import unittest

import numpy as np

SHARED = os.environ.get("MEDSYN_SHARED_DATA_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data"))
FIXTURES = os.environ.get("MEDSYN_FIXTURES_DIR", os.path.join(os.path.dirname(__file__), "..", "fixtures"))
SOURCE = os.environ.get("MEDSYN_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
CLI = os.environ.get("MEDSYNBENCH_CLI", "medsynbench")


def require(path: str, what: str) -> str:
    if os.path.exists(path):
        return path
    if os.environ.get("CI") == "true":
        raise AssertionError(f"{what} is missing ({path}); under CI every test input is required")
    raise unittest.SkipTest(f"{what} is missing ({path})")


_medmnist_cache = {}


def medmnist(name: str, key: str) -> np.ndarray:
    """One array of a shared MedMNIST file (e.g. "breastmnist", "train_images")."""
    path = require(os.path.join(SHARED, "medmnist", name + ".npz"), f"MedMNIST file {name}.npz")
    if path not in _medmnist_cache:
        with np.load(path) as z:
            _medmnist_cache[path] = {k: z[k] for k in z.files}
    return _medmnist_cache[path][key]


def golden(name: str) -> dict:
    with open(require(os.path.join(FIXTURES, name), f"fixture {name}"), encoding="utf-8") as f:
        return json.load(f)


# The golden inputs, built exactly as scripts/fixtures/metrics_fixtures.py builds them.
def to_f32(u8):
    return u8.astype(np.float32) / np.float32(255)


def sub16(imgs):
    idx = 5 + 6 * np.arange(4)
    return to_f32(imgs[:, idx][:, :, idx].reshape(len(imgs), -1))


def sub64(imgs):
    idx = 3 + 3 * np.arange(8)
    return to_f32(imgs[:, idx][:, :, idx].reshape(len(imgs), -1))


def image_chw(u8):
    if u8.ndim == 2:
        u8 = u8[:, :, None]
    return np.ascontiguousarray(to_f32(u8).transpose(2, 0, 1))


def mosaic(u8_imgs):
    tiles = [image_chw(u) for u in u8_imgs]
    out = np.zeros((tiles[0].shape[0], 196, 196), np.float32)
    for t, tile in enumerate(tiles):
        r, q = divmod(t, 7)
        out[:, 28 * r:28 * r + 28, 28 * q:28 * q + 28] = tile
    return out


def blend(x, y):
    return x * np.float32(0.75) + y * np.float32(0.25)


def cli_json(*args: str) -> dict:
    """Runs the CLI with --json and returns its output; fails the test with stderr otherwise."""
    p = subprocess.run([CLI, *args, "--json"], capture_output=True, text=True)
    if p.returncode != 0:
        raise AssertionError(f"medsynbench {' '.join(args)} exited {p.returncode}: {p.stderr}")
    return json.loads(p.stdout)


class TempDir:
    def __enter__(self):
        self._d = tempfile.TemporaryDirectory(prefix="medsyn-py-")
        return self._d.name

    def __exit__(self, *exc):
        self._d.cleanup()

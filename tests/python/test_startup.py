"""`import medsynbench` loads no LibTorch (it would clash with PyTorch's own copy in the same
process, and cost about a second): the module links only the torch-free libraries."""
import subprocess
import sys
import unittest

import medsynbench as msb


def mapped_libraries():
    with open("/proc/self/maps") as f:
        return {line.split()[-1] for line in f if ".so" in line}


class Startup(unittest.TestCase):
    def test_no_libtorch_faiss_shared_object_or_opencv_codecs_after_import_and_use(self):
        import numpy as np

        rng = np.random.default_rng(0)
        a = rng.normal(size=(30, 4)).astype(np.float32)
        msb.fid(a, a + 1)
        msb.memorization_audit(a, a, a)
        libs = mapped_libraries()
        for name in ("libtorch", "libc10", "libopencv_imgcodecs", "libgdal", "libvtk"):
            self.assertFalse([l for l in libs if name in l], name)
        self.assertTrue([l for l in libs if "_core" in l and "medsynbench" in l])

    def test_build_info_names_version_and_commit(self):
        info = msb.build_info()
        self.assertEqual(info["version"], msb.__version__)
        self.assertTrue(info["git_commit"])
        self.assertIn("libraries", info)

    def test_docstrings_on_the_public_api(self):
        for name in msb.__all__:
            obj = getattr(msb, name)
            if callable(obj) and not isinstance(obj, type):
                self.assertTrue(obj.__doc__ and len(obj.__doc__) > 20, name)


if __name__ == "__main__":
    unittest.main()


class Install(unittest.TestCase):
    def test_install_python_prefix_gives_an_importable_package(self):
        import os
        import tempfile

        from support import SOURCE
        build = os.path.dirname(os.path.dirname(os.path.dirname(msb.__file__)))  # BUILD/python/medsynbench
        with tempfile.TemporaryDirectory() as d:
            p = subprocess.run([os.path.join(SOURCE, "scripts", "install-python"), "--prefix", d, build],
                               capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stderr)
            dest = p.stdout.split("installed medsynbench into ")[1].split("\n")[0]
            self.assertTrue(dest.startswith(d))
            env = dict(os.environ, PYTHONPATH=dest)
            out = subprocess.run([sys.executable, "-c", "import medsynbench as m; print(m.__file__, m.__version__)"],
                                 capture_output=True, text=True, env=env, cwd=d)
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertTrue(out.stdout.startswith(dest), out.stdout)
            again = subprocess.run([os.path.join(SOURCE, "scripts", "install-python"), "--prefix", d, build],
                                   capture_output=True, text=True)
            self.assertEqual(again.returncode, 0, again.stderr)  # reinstalling replaces the old copy
            self.assertEqual(sorted(os.listdir(dest)), ["medsynbench"])

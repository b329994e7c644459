"""Runs one test file with unittest for ctest: exit 0 when tests passed, 1 on any failure or
error, 4 when every test was skipped (a missing input: ctest reports Skipped, never Passed)."""
import os
import sys
import unittest

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
name = os.path.splitext(os.path.basename(sys.argv[1]))[0]
suite = unittest.defaultTestLoader.loadTestsFromName(name)
result = unittest.TextTestRunner(verbosity=2).run(suite)
if not result.wasSuccessful():
    sys.exit(1)
if result.skipped and (result.testsRun == 0 or len(result.skipped) >= result.testsRun):
    sys.exit(4)
if result.testsRun == 0:
    print(f"{name}: no tests found", file=sys.stderr)
    sys.exit(1)
sys.exit(0)

"""MedSynBench in Python: the C++ metrics, statistics, memorization audit and suite tools on NumPy
arrays and torch tensors, with the same numbers as the ``medsynbench`` CLI.

Every function here calls the same C++ function the CLI calls (``medsynbench._core`` links the
project's torch-free libraries), so ``fid(a, b)`` equals ``medsynbench metrics fid a.npy b.npy
--json`` on the same features, bit for bit.

Arrays: C-contiguous float32 arrays are used in place (no copy). Anything else (float64, integer
dtypes, Fortran order, strided views) is converted once to C-contiguous float32, as the CLI does
when it reads such an ``.npy`` file; ``FeatureStats.update`` also takes C-contiguous float64 in
place and accumulates it in float64. Torch tensors are accepted wherever arrays are: they are
detached and moved to the CPU (``tensor.detach().cpu().numpy()``, a copy only when the tensor is
on a GPU or not contiguous).

Errors: bad input raises :class:`InputError` (a :class:`ValueError`) with the CLI's message;
:class:`CheckFailed` when a check or gate fails; :class:`SuiteInvalid` (an ``InputError``)
carries the list of ``(json_path, message)`` problems of a suite file.

See docs/python.md for a walkthrough.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import _core
from ._core import CheckFailed, FeatureStats, GaussianStats, InputError, MedSynError

__all__ = [
    "InputError", "CheckFailed", "MedSynError", "SuiteInvalid",
    "FeatureStats", "GaussianStats", "feature_stats",
    "fid", "frechet_distance", "kid", "prdc", "cmmd", "vendi", "authpct", "c_t", "ssim", "ms_ssim", "diversity",
    "auroc", "delong_test", "paired_tests", "p_adjust", "stratified_bootstrap", "bootstrap_mean",
    "wilson_interval", "t_interval", "mann_whitney_u",
    "memorization_audit",
    "validate_suite", "run_suite", "load_results", "results_rows",
    "build_info", "__version__",
]

__version__: str = _core._build_info()["version"]

ArrayLike = Any  # numpy.ndarray, torch.Tensor, or anything numpy.asarray takes


class SuiteInvalid(InputError):
    """A suite file failed validation. ``problems`` lists ``(json_path, message)`` pairs."""

    def __init__(self, path: str, problems: List[Tuple[str, str]]):
        self.path = path
        self.problems = problems
        lines = "\n".join(f"  {p}: {m}" for p, m in problems)
        super().__init__(f"{path}: {len(problems)} problem(s):\n{lines}")


def _array(x: ArrayLike) -> np.ndarray:
    """NumPy view of x; torch tensors are detached and brought to the CPU."""
    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, "detach") and hasattr(x, "cpu") and hasattr(x, "numpy"):  # torch.Tensor, any device
        return x.detach().cpu().numpy()
    if hasattr(x, "__dlpack__") and hasattr(np, "from_dlpack"):
        try:
            return np.from_dlpack(x)
        except (TypeError, RuntimeError, BufferError):
            pass
    return np.asarray(x)


# ---------------------------------------------------------------------------------------------
# Feature metrics


def feature_stats(features: ArrayLike) -> GaussianStats:
    """Mean and unbiased covariance (float64) of an (N, D) feature array."""
    return _core._feature_stats(_array(features))


def fid(a: Union[ArrayLike, GaussianStats], b: Union[ArrayLike, GaussianStats], *, bootstrap: int = 0,
        ci_level: float = 0.95, seed: int = 0, eps: float = 1e-6) -> Dict[str, Any]:
    """Frechet distance between two feature sets (A = real, B = generated), as ``metrics fid --json``.

    Returns ``{"fid", "n_a", "n_b", "dim", "diagnostics", "estimates", "bootstrap", "seed"}``.
    With ``bootstrap`` > 0 replicates, ``estimates["fid"]`` is the plug-in FID with an interval for
    its expectation at these sample sizes and ``estimates["fid_population"]`` the bias-corrected
    population Frechet distance with its calibrated interval (docs/uncertainty.md). Below the
    minimum sample size the estimates are ``None``-valued with the reason in ``note``.
    Two :class:`GaussianStats` give the distance only (``estimates`` is ``None``).
    """
    if isinstance(a, GaussianStats) or isinstance(b, GaussianStats):
        if bootstrap:
            raise InputError("bootstrap needs two feature arrays: statistics have no rows to resample")
        sa = a if isinstance(a, GaussianStats) else feature_stats(a)
        sb = b if isinstance(b, GaussianStats) else feature_stats(b)
        out = _core._fid_stats(sa, sb, eps)
        out["bootstrap"], out["seed"] = 0, seed
        return out
    return _core._fid_features(_array(a), _array(b), bootstrap, ci_level, seed, eps)


def frechet_distance(a: Union[ArrayLike, GaussianStats], b: Union[ArrayLike, GaussianStats], *,
                     eps: float = 1e-6) -> float:
    """The Frechet distance as a float (see :func:`fid` for intervals and diagnostics)."""
    return float(fid(a, b, eps=eps)["fid"])


def kid(a: ArrayLike, b: ArrayLike, *, subsets: int = 100, subset_size: int = 1000, bootstrap: int = 0,
        ci_level: float = 0.95, seed: int = 0) -> Dict[str, Any]:
    """Kernel Inception Distance (unbiased MMD^2, cubic polynomial kernel), as ``metrics kid --json``.

    ``kid_mean``/``kid_std`` over ``subsets`` random subsets of ``subset_size`` rows (the full sets
    when ``subset_size`` covers both); ``estimates["kid"]`` carries the interval for the population
    MMD^2 when ``bootstrap`` > 0. ``seed`` seeds the subsets and the bootstrap.
    """
    return _core._kid(_array(a), _array(b), subsets, subset_size, bootstrap, ci_level, seed)


def prdc(real: ArrayLike, fake: ArrayLike, *, k: int = 5, bootstrap: int = 0, ci_level: float = 0.95,
         seed: int = 0) -> Dict[str, Any]:
    """Precision, recall, density and coverage (k nearest neighbours), as ``metrics prdc --json``."""
    return _core._prdc(_array(real), _array(fake), k, bootstrap, ci_level, seed)


def cmmd(a: ArrayLike, b: ArrayLike, *, sigma: float = 10.0, scale: float = 1000.0, bootstrap: int = 0,
         ci_level: float = 0.95, seed: int = 0) -> Dict[str, Any]:
    """CMMD (Jayasumana et al. 2024): MMD^2 with a Gaussian RBF kernel (``sigma``) times ``scale``,
    the reference code's biased estimator, in float64, as ``metrics cmmd --json``. Give CLIP image
    embeddings (L2-normalised) for the published metric; ``estimates["cmmd"]`` has a bootstrap
    interval when ``bootstrap`` > 0."""
    return _core._cmmd(_array(a), _array(b), sigma, scale, bootstrap, ci_level, seed)


def vendi(features: ArrayLike, *, q: float = 1.0) -> Dict[str, Any]:
    """Vendi score (Friedman & Dieng 2023) of a feature set with the cosine kernel: the effective
    number of distinct samples, between 1 and N. ``q`` is the entropy order (``float("inf")``
    allowed). As ``metrics vendi --json``."""
    return _core._vendi(_array(features), float(q))


def authpct(train: ArrayLike, generated: ArrayLike) -> Dict[str, Any]:
    """AuthPct (Alaa et al. 2022, as dgm-eval): the percentage of generated samples whose distance
    to their nearest training sample exceeds that sample's distance to its own nearest training
    neighbour (copies are never authentic). As ``metrics authpct --json``."""
    return _core._authpct(_array(train), _array(generated))


def c_t(train: ArrayLike, test: ArrayLike, generated: ArrayLike, *, seed: int = 0) -> Dict[str, Any]:
    """The C_T data-copying test (Meehan et al. 2020, as dgm-eval): a z-statistic comparing the
    distances of generated and of held-out real (``test``) samples to their nearest training
    sample, in 3 k-means cells; << 0 means copying. As ``metrics ct --json`` (without provenance)."""
    return _core._c_t(_array(train), _array(test), _array(generated), int(seed))


def ssim(x: ArrayLike, y: ArrayLike, *, data_range: float, win_size: int = 11,
         sigma: float = 1.5) -> Union[float, np.ndarray]:
    """SSIM (Gaussian window; equals skimage's ``structural_similarity(gaussian_weights=True,
    sigma=1.5, use_sample_covariance=False)`` averaged over channels).

    ``x`` and ``y``: (H, W) or (C, H, W) images, or (N, C, H, W) batches (one value per pair).
    ``data_range`` is required: 1.0 for images in [0, 1], 255 for 8-bit values, ...
    """
    return _core._ssim(_array(x), _array(y), float(data_range), win_size, sigma)


def ms_ssim(x: ArrayLike, y: ArrayLike, *, data_range: float, scales: int = 5,
            weights: Optional[Sequence[float]] = None, win_size: int = 11,
            sigma: float = 1.5) -> Union[float, np.ndarray]:
    """MS-SSIM in the pytorch_msssim convention (docs/metrics.md); shapes as :func:`ssim`.

    The smaller side must be at least (win_size - 1) * 2**(scales - 1) + 1 (161 for the defaults).
    """
    return _core._ms_ssim(_array(x), _array(y), float(data_range), win_size, sigma, scales,
                          list(weights) if weights is not None else [])


def diversity(images: ArrayLike, *, data_range: float, pairs: int = 0, seed: int = 0, bootstrap: int = 1000,
              ci_level: float = 0.95, scales: int = 5, weights: Optional[Sequence[float]] = None,
              win_size: int = 11, sigma: float = 1.5) -> Dict[str, Any]:
    """Mean pairwise MS-SSIM of a set of images (N, C, H, W) (lower = more diverse), with its
    standard deviation and a bootstrap interval over images; ``pairs`` = 0 evaluates all pairs."""
    return _core._diversity(_array(images), float(data_range), pairs, seed, bootstrap, ci_level, win_size, sigma,
                            scales, list(weights) if weights is not None else [])


# ---------------------------------------------------------------------------------------------
# Statistics


def auroc(labels: ArrayLike, scores: ArrayLike, *, level: float = 0.95) -> Dict[str, Any]:
    """AUROC with its DeLong interval (as R pROC ``ci.auc``); labels 0/1, higher score = positive."""
    return _core._auroc(_array(labels), _array(scores), level)


def delong_test(labels: ArrayLike, scores_a: ArrayLike, scores_b: ArrayLike, *,
                level: float = 0.95) -> Dict[str, Any]:
    """Paired DeLong test of two correlated AUROCs on the same cases (as R pROC ``roc.test``)."""
    return _core._delong_test(_array(labels), _array(scores_a), _array(scores_b), level)


def paired_tests(a: ArrayLike, b: ArrayLike, *, level: float = 0.95) -> Dict[str, Any]:
    """Paired t-test (with the interval of the mean difference a - b) and Wilcoxon signed-rank test."""
    return _core._paired_tests(_array(a), _array(b), level)


def p_adjust(p: ArrayLike, method: str = "holm") -> np.ndarray:
    """Adjusted p-values, as R ``p.adjust``: ``"holm"`` or ``"bh"`` (Benjamini-Hochberg)."""
    return _core._p_adjust(_array(p), method)


def stratified_bootstrap(labels: ArrayLike, scores: ArrayLike, *, metric: str = "auc", resamples: int = 2000,
                         seed: int = 0, method: str = "percentile", level: float = 0.95,
                         threshold: float = 0.5) -> Dict[str, Any]:
    """Stratified bootstrap interval of ``auc``, ``accuracy`` or ``balanced_accuracy``
    (``method`` ``"percentile"`` or ``"bca"``), as ``medsynbench stats bootstrap``."""
    return _core._stratified_bootstrap(_array(labels), _array(scores), metric, resamples, seed, method, level,
                                       threshold)


def bootstrap_mean(values: ArrayLike, *, replicates: int = 1000, seed: int = 0,
                   level: float = 0.95) -> Dict[str, Any]:
    """Percentile bootstrap interval of a mean; returns the metric object (value, ci_low, ...)."""
    return _core._bootstrap_mean(_array(values), replicates, seed, level)


def wilson_interval(successes: float, n: float, *, level: float = 0.95) -> Dict[str, Any]:
    """Wilson score interval of a proportion successes / n."""
    return _core._wilson_interval(float(successes), float(n), level)


def t_interval(values: ArrayLike, *, level: float = 0.95) -> Dict[str, Any]:
    """Mean with a Student-t interval (e.g. one number per seed)."""
    return _core._t_interval(_array(values), level)


def mann_whitney_u(x: ArrayLike, y: ArrayLike, *, alternative: str = "two-sided") -> Dict[str, Any]:
    """Mann-Whitney U test as scipy.stats.mannwhitneyu (scipy 1.10, method "auto")."""
    return _core._mann_whitney_u(_array(x), _array(y), alternative)


# ---------------------------------------------------------------------------------------------
# Memorization


def memorization_audit(train: ArrayLike, holdout: ArrayLike, synthetic: ArrayLike, *, k: int = 5,
                       threshold_quantile: float = 0.99, thresholds: Sequence[float] = (0.5, 0.95),
                       index: str = "flat", recall_sample: int = 1000, seed: int = 0) -> Dict[str, Any]:
    """Memorization audit on embeddings (rows = images) of one modality.

    Rows are L2-normalised; each synthetic row's ``k`` nearest training rows (cosine similarity)
    are found with a FAISS index (``"flat"`` exact, ``"ivf"`` or ``"hnsw"`` approximate, with
    ``recall_at_k`` measured); ``tau`` is the ``threshold_quantile`` of the holdout rows' nearest
    similarities and a synthetic row is flagged when its nearest similarity is above ``tau``.
    Returns tau, ``flagged`` (row indices), ``neighbors`` and ``similarities`` (n_synthetic x k),
    the nearest similarities of both sets and the calibration summary (DCR ratio, Mann-Whitney).
    """
    return _core._memorization_audit(_array(train), _array(holdout), _array(synthetic), k, threshold_quantile,
                                     [float(t) for t in thresholds], index, recall_sample, seed)


# ---------------------------------------------------------------------------------------------
# Suites and results


def validate_suite(path: Union[str, os.PathLike]) -> None:
    """Validates a suite file; raises :class:`SuiteInvalid` listing every problem with its JSON path."""
    problems = _core._validate_suite(os.fspath(path))
    if problems:
        raise SuiteInvalid(os.fspath(path), problems)


def _cli() -> str:
    """The CLI run_suite starts: $MEDSYNBENCH_CLI, else the one this package was built with, else PATH."""
    env = os.environ.get("MEDSYNBENCH_CLI")
    if env:
        return env
    try:
        from ._paths import CLI  # written by the build
        if os.path.exists(CLI):
            return CLI
    except ImportError:
        pass
    found = shutil.which("medsynbench")
    if not found:
        raise MedSynError("cannot find the medsynbench CLI: set MEDSYNBENCH_CLI to its path")
    return found


def run_suite(path: Union[str, os.PathLike], out: Union[str, os.PathLike], *, resume: bool = False,
              only: Optional[str] = None, limit: Optional[int] = None, device: Optional[str] = None,
              quiet: bool = False) -> Dict[str, Any]:
    """Runs a suite (``medsynbench run SUITE --out OUT``) and returns its results as a dict.

    The run happens in a child process of the CLI: training and generation need LibTorch, which
    must not be loaded into a Python process that may hold PyTorch's own copy (docs/python.md).
    Progress goes to this process's stderr unless ``quiet``. An interrupted run continues with
    ``resume=True``. Raises :class:`SuiteInvalid`/:class:`InputError` for a bad suite (exit 2),
    :class:`CheckFailed` (exit 1) and :class:`MedSynError` for any other failure, each with the
    CLI's message.
    """
    path, out = os.fspath(path), os.fspath(out)
    validate_suite(path)
    cmd = [_cli(), "run", path, "--out", out]
    if resume:
        cmd.append("--resume")
    if only is not None:
        cmd += ["--only", str(only)]
    if limit is not None:
        cmd += ["--limit", str(int(limit))]
    if device is not None:
        cmd += ["--device", str(device)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    tail: List[str] = []
    assert proc.stderr is not None
    for line in proc.stderr:
        if not quiet:
            sys.stderr.write(line)
        tail = (tail + [line.rstrip("\n")])[-20:]
    code = proc.wait()
    if code != 0:
        # The CLI's last message starts with "error: ", "check failed: " or "internal error: " and may
        # continue on the following lines (e.g. a list of problems).
        prefixes = ("error: ", "check failed: ", "internal error: ")
        starts = [i for i, t in enumerate(tail) if t.startswith(prefixes)]
        lines = tail[starts[-1]:] if starts else tail[-3:]
        if lines and lines[0].startswith(prefixes):
            lines[0] = lines[0].split(": ", 1)[1]
        message = "\n".join(lines) or f"medsynbench run exited with {code}"
        if code == 2:
            raise InputError(message)
        if code == 1:
            raise CheckFailed(message)
        raise MedSynError(f"medsynbench run exited with {code}: {message}")
    return load_results(os.path.join(out, "results.json"))


def load_results(path: Union[str, os.PathLike]) -> Dict[str, Any]:
    """Reads and validates a results.json (schema and cross-references, every error named) and
    returns it as plain dicts and lists (metric objects: value, ci_low, ci_high, n, ...)."""
    path = os.fspath(path)
    if os.path.isdir(path):
        path = os.path.join(path, "results.json")
    return _core._load_results(path)


def results_rows(results: Union[str, os.PathLike, Mapping[str, Any]]) -> List[Dict[str, Any]]:
    """Long-format rows, one per number: section, model, kind, modality, metric, arm, fraction,
    value, ci_low, ci_high, ci_level, ci_method, n, note (the rows of the report's metrics.csv).

    ``pandas.DataFrame(results_rows(path))`` gives a data frame; pandas is not needed otherwise.
    ``results`` is a results.json path, a run folder, or a dict from :func:`load_results`.
    """
    if isinstance(results, Mapping):
        return _core._results_rows_text(json.dumps(results))
    path = os.fspath(results)
    if os.path.isdir(path):
        path = os.path.join(path, "results.json")
    return _core._results_rows(path)


def build_info() -> Dict[str, Any]:
    """Version, git commit, build type, compiler and library versions of the C++ build."""
    return _core._build_info()


# FeatureStats: pickling (to merge statistics computed in other processes) and repr.
def _feature_stats_from_state(dim: int, n: int, mean: np.ndarray, m2: np.ndarray) -> FeatureStats:
    """Rebuilds a pickled FeatureStats (module-level so pickle can name it)."""
    return FeatureStats._from_state(dim, n, mean, m2)


def _feature_stats_reduce(self: FeatureStats):
    return (_feature_stats_from_state, self._state())


FeatureStats.__reduce__ = _feature_stats_reduce  # type: ignore[assignment]
FeatureStats.__repr__ = lambda self: f"FeatureStats(dim={self.dim}, count={self.count})"  # type: ignore[assignment]
_core_update = FeatureStats.update


def _update(self: FeatureStats, batch: ArrayLike) -> None:
    """Adds a batch of features (N, D): float32 or float64, accumulated in float64."""
    _core_update(self, _array(batch))


FeatureStats.update = _update  # type: ignore[assignment]

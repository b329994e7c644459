// Feature and image metrics: the metrics library's functions on NumPy arrays. FID, KID, PRDC,
// CMMD and Vendi return exactly the object `medsynbench metrics fid|kid|prdc|cmmd|vendi --json`
// prints (feature_reports.h, cmmd.h, vendi.h), minus the file names and provenance.
#include <pybind11/stl.h>

#include <nlohmann/json.hpp>

#include "bindings.h"
#include "convert.h"
#include "medsyn/core/error.h"
#include "medsyn/metrics/authpct.h"
#include "medsyn/metrics/ct.h"
#include "medsyn/metrics/cmmd.h"
#include "medsyn/metrics/diversity.h"
#include "medsyn/metrics/feature_reports.h"
#include "medsyn/metrics/ssim.h"
#include "medsyn/metrics/stats.h"
#include "medsyn/metrics/vendi.h"

namespace medsyn::python {

namespace {

metrics::IntervalOptions interval(int bootstrap, double ci_level, std::uint64_t seed) {
  metrics::IntervalOptions io{bootstrap, ci_level, seed};
  metrics::validate(io);
  return io;
}

py::array_t<double> stats_mu(const metrics::GaussianStats& s) { return numpy_copy(s.mu, {s.dim}); }
py::array_t<double> stats_sigma(const metrics::GaussianStats& s) { return numpy_copy(s.sigma, {s.dim, s.dim}); }

metrics::MsSsimOptions ms_ssim_options(double data_range, int win_size, double sigma, int scales,
                                       const std::vector<double>& weights) {
  metrics::MsSsimOptions o;
  o.ssim.data_range = data_range;
  o.ssim.win_size = win_size;
  o.ssim.sigma = sigma;
  o.scales = scales;
  o.weights = weights;
  metrics::validate_ms_ssim_options(o);
  return o;
}

// One value per pair of images, or a single value for two single images.
py::object pairwise(const F32Array& x, const F32Array& y, const std::function<double(const Image&, const Image&, const std::string&, const std::string&)>& f) {
  bool bx = false, by = false;
  const auto ix = images_from_array(x, "x", &bx), iy = images_from_array(y, "y", &by);
  if (bx != by || ix.size() != iy.size())
    throw InputError("x has shape " + shape_text(x) + " but y has shape " + shape_text(y) +
                     ": give two images or two batches of the same size");
  std::vector<double> v(ix.size());
  {
    py::gil_scoped_release nogil;
    for (std::size_t i = 0; i < ix.size(); ++i) {
      const std::string s = bx ? "[" + std::to_string(i) + "]" : "";
      v[i] = f(ix[i], iy[i], "x" + s, "y" + s);
    }
  }
  if (!bx) return py::float_(v[0]);
  return numpy_copy(v, {static_cast<py::ssize_t>(v.size())});
}

}  // namespace

void bind_metrics(py::module_& m) {
  py::class_<metrics::GaussianStats>(m, "GaussianStats",
                                     "Mean and unbiased covariance of a feature set (float64), as pytorch-fid stores them.")
      .def_readonly("n", &metrics::GaussianStats::n, "Number of samples (0 = unknown, e.g. a pytorch-fid file)")
      .def_readonly("dim", &metrics::GaussianStats::dim)
      .def_property_readonly("mu", &stats_mu, "Mean, shape (D,) (a copy)")
      .def_property_readonly("sigma", &stats_sigma, "Covariance, shape (D, D) (a copy)")
      .def("save", [](const metrics::GaussianStats& s, const std::string& path) { metrics::write_stats_npz(path, s); },
           py::arg("path"), "Writes an .npz (mu, sigma, n), the file `metrics fid` reads; atomic.")
      .def_static("load", [](const std::string& path) { return metrics::read_stats_npz(path); }, py::arg("path"),
                  "Reads an .npz with mu and sigma (this tool's or pytorch-fid's).")
      .def("__repr__", [](const metrics::GaussianStats& s) {
        return "GaussianStats(n=" + std::to_string(s.n) + ", dim=" + std::to_string(s.dim) + ")";
      });

  py::class_<metrics::StatsAccumulator>(m, "FeatureStats",
                                        "Streaming float64 mean/covariance of features given batch by batch.")
      .def(py::init<int>(), py::arg("dim"))
      .def_property_readonly("dim", &metrics::StatsAccumulator::dim)
      .def_property_readonly("count", &metrics::StatsAccumulator::count)
      .def(
          "update",
          [](metrics::StatsAccumulator& a, const py::array_t<float, py::array::c_style>& batch) {
            const FeatureView v = feature_view(batch, "batch");
            if (v.cols != a.dim())
              throw InputError("batch has " + std::to_string(v.cols) + " columns but the statistics have dim " + std::to_string(a.dim()));
            py::gil_scoped_release nogil;
            a.add(v.data, v.rows);
          },
          py::arg("batch"))
      .def(
          "update",
          [](metrics::StatsAccumulator& a, const F64Array& batch) {
            if (batch.ndim() != 2) throw InputError("batch: expected a 2-D (N, D) feature array, got shape " + shape_text(batch));
            if (batch.shape(1) != a.dim())
              throw InputError("batch has " + std::to_string(batch.shape(1)) + " columns but the statistics have dim " +
                               std::to_string(a.dim()));
            const double* p = batch.data();
            const std::size_t count = static_cast<std::size_t>(batch.shape(0) * batch.shape(1));
            for (std::size_t i = 0; i < count; ++i)
              if (!std::isfinite(p[i]))
                throw InputError("batch: row " + std::to_string(i / static_cast<std::size_t>(a.dim())) + " contains NaN or Inf");
            py::gil_scoped_release nogil;
            a.add(p, batch.shape(0));
          },
          py::arg("batch"))
      .def("merge", &metrics::StatsAccumulator::merge, py::arg("other"))
      .def("compute", [](const metrics::StatsAccumulator& a) { return a.finish("FeatureStats"); })
      .def("_state",
           [](const metrics::StatsAccumulator& a) {
             const auto s = a.state();
             return py::make_tuple(a.dim(), s.n, numpy_copy(s.mean, {a.dim()}), numpy_copy(s.m2, {a.dim(), a.dim()}));
           })
      .def_static("_from_state", [](int dim, std::int64_t n, const F64Array& mean, const F64Array& m2) {
        metrics::StatsAccumulator::State s;
        s.n = n;
        s.mean.assign(mean.data(), mean.data() + mean.size());
        s.m2.assign(m2.data(), m2.data() + m2.size());
        return metrics::StatsAccumulator::from_state(dim, s);
      });

  m.def(
      "_feature_stats",
      [](const F32Array& f) {
        const FeatureView v = feature_view(f, "features");
        py::gil_scoped_release nogil;
        return metrics::compute_stats(v, "features");
      },
      py::arg("features"));

  m.def(
      "_fid_features",
      [](const F32Array& a, const F32Array& b, int bootstrap, double ci_level, std::uint64_t seed, double eps) {
        const FeatureView va = feature_view(a, "a"), vb = feature_view(b, "b");
        const auto io = interval(bootstrap, ci_level, seed);
        metrics::FidOptions fo;
        fo.eps = eps;
        nlohmann::json j;
        {
          py::gil_scoped_release nogil;
          j = metrics::to_json(metrics::fid_report(va, vb, io, fo, "a", "b"));
        }
        return to_python(j);
      },
      py::arg("a"), py::arg("b"), py::arg("bootstrap"), py::arg("ci_level"), py::arg("seed"), py::arg("eps"));

  m.def(
      "_fid_stats",
      [](const metrics::GaussianStats& a, const metrics::GaussianStats& b, double eps) {
        metrics::FidOptions fo;
        fo.eps = eps;
        nlohmann::json j;
        {
          py::gil_scoped_release nogil;
          j = metrics::to_json(metrics::fid_report(a, b, fo, "a", "b"));
        }
        return to_python(j);
      },
      py::arg("a"), py::arg("b"), py::arg("eps"));

  m.def(
      "_kid",
      [](const F32Array& a, const F32Array& b, int subsets, std::int64_t subset_size, int bootstrap, double ci_level,
         std::uint64_t seed) {
        const FeatureView va = feature_view(a, "a"), vb = feature_view(b, "b");
        const auto io = interval(bootstrap, ci_level, seed);
        metrics::KidOptions ko;
        ko.subsets = subsets;
        ko.subset_size = subset_size;
        ko.seed = seed;
        nlohmann::json j;
        {
          py::gil_scoped_release nogil;
          j = metrics::to_json(metrics::kid_report(va, vb, ko, io, "a", "b"));
        }
        return to_python(j);
      },
      py::arg("a"), py::arg("b"), py::arg("subsets"), py::arg("subset_size"), py::arg("bootstrap"), py::arg("ci_level"),
      py::arg("seed"));

  m.def(
      "_prdc",
      [](const F32Array& real, const F32Array& fake, int k, int bootstrap, double ci_level, std::uint64_t seed) {
        const FeatureView vr = feature_view(real, "real"), vf = feature_view(fake, "fake");
        const auto io = interval(bootstrap, ci_level, seed);
        nlohmann::json j;
        {
          py::gil_scoped_release nogil;
          j = metrics::to_json(metrics::prdc_report(vr, vf, k, io, "real", "fake"));
        }
        return to_python(j);
      },
      py::arg("real"), py::arg("fake"), py::arg("k"), py::arg("bootstrap"), py::arg("ci_level"), py::arg("seed"));

  m.def(
      "_cmmd",
      [](const F32Array& a, const F32Array& b, double sigma, double scale, int bootstrap, double ci_level,
         std::uint64_t seed) {
        const FeatureView va = feature_view(a, "a"), vb = feature_view(b, "b");
        const auto io = interval(bootstrap, ci_level, seed);
        nlohmann::json j;
        {
          py::gil_scoped_release nogil;
          j = metrics::to_json(metrics::cmmd_report(va, vb, metrics::CmmdOptions{sigma, scale}, io, "a", "b"));
        }
        return to_python(j);
      },
      py::arg("a"), py::arg("b"), py::arg("sigma"), py::arg("scale"), py::arg("bootstrap"), py::arg("ci_level"),
      py::arg("seed"));

  m.def(
      "_vendi",
      [](const F32Array& x, double q) {
        const FeatureView v = feature_view(x, "features");
        nlohmann::json j;
        {
          py::gil_scoped_release nogil;
          j = metrics::to_json(metrics::vendi_score(v, metrics::VendiOptions{q}, "features"));
        }
        return to_python(j);
      },
      py::arg("features"), py::arg("q"));

  m.def(
      "_authpct",
      [](const F32Array& train, const F32Array& generated) {
        const FeatureView t = feature_view(train, "train"), g = feature_view(generated, "generated");
        nlohmann::json j;
        {
          py::gil_scoped_release nogil;
          j = metrics::to_json(metrics::authpct(t, g, "train", "generated"));
        }
        return to_python(j);
      },
      py::arg("train"), py::arg("generated"));

  m.def(
      "_c_t",
      [](const F32Array& train, const F32Array& test, const F32Array& generated, std::uint64_t seed) {
        const FeatureView t = feature_view(train, "train"), p = feature_view(test, "test"),
                          g = feature_view(generated, "generated");
        nlohmann::json j;
        {
          py::gil_scoped_release nogil;
          metrics::CtOptions o;
          o.seed = seed;
          j = metrics::to_json(metrics::c_t_score(t, p, g, o));
        }
        return to_python(j);
      },
      py::arg("train"), py::arg("test"), py::arg("generated"), py::arg("seed"));

  m.def(
      "_ssim",
      [](const F32Array& x, const F32Array& y, double data_range, int win_size, double sigma) {
        metrics::SsimOptions o;
        o.data_range = data_range;
        o.win_size = win_size;
        o.sigma = sigma;
        metrics::validate_ms_ssim_options(metrics::MsSsimOptions{o, 1, {1.0}});
        return pairwise(x, y, [&](const Image& a, const Image& b, const std::string& na, const std::string& nb) {
          return metrics::ssim(a, b, o, na, nb);
        });
      },
      py::arg("x"), py::arg("y"), py::arg("data_range"), py::arg("win_size"), py::arg("sigma"));

  m.def(
      "_ms_ssim",
      [](const F32Array& x, const F32Array& y, double data_range, int win_size, double sigma, int scales,
         const std::vector<double>& weights) {
        const auto o = ms_ssim_options(data_range, win_size, sigma, scales, weights);
        return pairwise(x, y, [&](const Image& a, const Image& b, const std::string& na, const std::string& nb) {
          return metrics::ms_ssim(a, b, o, na, nb);
        });
      },
      py::arg("x"), py::arg("y"), py::arg("data_range"), py::arg("win_size"), py::arg("sigma"), py::arg("scales"),
      py::arg("weights"));

  m.def(
      "_diversity",
      [](const F32Array& images, double data_range, std::int64_t pairs, std::uint64_t seed, int bootstrap, double ci_level,
         int win_size, double sigma, int scales, const std::vector<double>& weights) {
        bool batched = false;
        const auto ims = images_from_array(images, "images", &batched);
        if (!batched) throw InputError("images: expected a batch (N, C, H, W), got shape " + shape_text(images));
        metrics::DiversityOptions o;
        o.ms_ssim = ms_ssim_options(data_range, win_size, sigma, scales, weights);
        if (pairs < 0) throw InputError("pairs must be >= 0 (0 = all pairs), got " + std::to_string(pairs));
        if (bootstrap < 0) throw InputError("bootstrap must be >= 0, got " + std::to_string(bootstrap));
        if (!(ci_level > 0 && ci_level < 1)) throw InputError("ci_level must be in (0, 1)");
        o.pairs = pairs;
        o.seed = seed;
        o.bootstrap.replicates = bootstrap;
        o.bootstrap.seed = seed;
        o.bootstrap.level = ci_level;
        std::vector<std::string> names;
        for (std::size_t i = 0; i < ims.size(); ++i) names.push_back("images[" + std::to_string(i) + "]");
        nlohmann::json j;
        {
          py::gil_scoped_release nogil;
          auto r = metrics::diversity_of_images(static_cast<std::int64_t>(ims.size()),
                                                [&](std::int64_t i) { return ims[static_cast<std::size_t>(i)]; }, names, o);
          j = metrics::diversity_to_json(r);
        }
        return to_python(j);
      },
      py::arg("images"), py::arg("data_range"), py::arg("pairs"), py::arg("seed"), py::arg("bootstrap"), py::arg("ci_level"),
      py::arg("win_size"), py::arg("sigma"), py::arg("scales"), py::arg("weights"));
}

}  // namespace medsyn::python

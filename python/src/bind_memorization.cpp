// The memorization audit on embedding arrays (memorization/embedding_audit.h).
#include <pybind11/stl.h>

#include <nlohmann/json.hpp>

#include "bindings.h"
#include "convert.h"
#include "medsyn/core/json.h"
#include "medsyn/memorization/embedding_audit.h"

namespace medsyn::python {

namespace {

using nlohmann::json;

json summary(const memorization::SimilaritySummary& s) {
  return {{"count", s.count}, {"mean", s.mean}, {"min", s.min}, {"p50", s.p50}, {"p75", s.p75},
          {"p90", s.p90},     {"p95", s.p95},   {"p99", s.p99}, {"max", s.max}};
}

}  // namespace

void bind_memorization(py::module_& m) {
  m.def(
      "_memorization_audit",
      [](const F32Array& train, const F32Array& holdout, const F32Array& synthetic, int k, double threshold_quantile,
         const std::vector<double>& thresholds, const std::string& index, std::size_t recall_sample, std::uint64_t seed) {
        const FeatureView t = feature_view(train, "train"), h = feature_view(holdout, "holdout"),
                          s = feature_view(synthetic, "synthetic");
        memorization::EmbeddingAuditOptions o;
        o.k = k;
        o.threshold_quantile = threshold_quantile;
        o.thresholds = thresholds;
        o.index = memorization::index_kind_from_string(index);
        o.recall_sample = recall_sample;
        o.seed = seed;
        memorization::EmbeddingAudit a;
        {
          py::gil_scoped_release nogil;
          a = memorization::audit_embeddings(t, h, s, o);
        }
        const auto& c = a.calibration;
        json cal = {{"tau", c.tau},
                    {"threshold_quantile", c.threshold_quantile},
                    {"synthetic_above_tau", c.synthetic_above_tau},
                    {"holdout_above_tau", c.holdout_above_tau},
                    {"fixed_thresholds", c.fixed_thresholds},
                    {"synthetic_above_fixed", c.synthetic_above_fixed},
                    {"holdout_above_fixed", c.holdout_above_fixed},
                    {"synthetic", summary(c.synthetic)},
                    {"holdout", summary(c.holdout)},
                    {"median_dcr_synthetic", c.median_dcr_synthetic},
                    {"median_dcr_holdout", c.median_dcr_holdout},
                    {"dcr_ratio", finite_or_null(c.dcr_ratio)},
                    {"mann_whitney", {{"u", c.mw_u}, {"p", finite_or_null(c.mw_p)}, {"z", finite_or_null(c.mw_z)},
                                      {"method", c.mw_method}, {"alternative", "less"}}}};
        const auto nq = static_cast<py::ssize_t>(a.synthetic.nq), kk = static_cast<py::ssize_t>(a.synthetic.k);
        py::dict out;
        out["tau"] = c.tau;
        out["threshold_quantile"] = c.threshold_quantile;
        out["flagged"] = numpy_copy(a.flagged, {static_cast<py::ssize_t>(a.flagged.size())});
        out["fraction_flagged"] = c.synthetic_above_tau;
        out["neighbors"] = numpy_copy(a.synthetic.ids, {nq, kk});
        out["similarities"] = numpy_copy(a.synthetic.sims, {nq, kk});
        out["synthetic_nn"] = numpy_copy(a.synthetic_nn, {nq});
        out["holdout_nn"] = numpy_copy(a.holdout_nn, {static_cast<py::ssize_t>(a.holdout_nn.size())});
        out["holdout_nearest"] = numpy_copy(a.holdout_nearest, {static_cast<py::ssize_t>(a.holdout_nearest.size())});
        out["calibration"] = to_python(cal);
        out["index"] = a.index_description;
        out["recall_at_k"] = a.recall_at_k;
        out["recall_queries"] = a.recall_queries;
        out["n_train"] = t.rows;
        out["n_holdout"] = h.rows;
        out["n_synthetic"] = s.rows;
        out["k"] = kk;
        out["similarity"] = "cosine similarity of L2-normalised embeddings (inner product)";
        out["warnings"] = a.warnings;
        return out;
      },
      py::arg("train"), py::arg("holdout"), py::arg("synthetic"), py::arg("k"), py::arg("threshold_quantile"),
      py::arg("thresholds"), py::arg("index"), py::arg("recall_sample"), py::arg("seed"));
}

}  // namespace medsyn::python

#pragma once
// FID or FD: the name a Fréchet distance takes (docs/metrics.md "FID or FD").
// "FID" means the Fréchet distance in Inception-v3 pool features, the space published FIDs use.
// The same formula in any other feature space (pixels, DINOv2, CLIP, a learnt embedder) is
// reported as "fd", next to the extractor id, so no pixel-space number is read as a FID.
// Used by the suite's results.json, `metrics fidelity`, and the results reader (old files).
#include <string>
#include <string_view>

namespace medsyn {

// True for Inception-family extractors, given an extractor id (FeatureExtractor::id()) or spec:
// clean-fid-inception@sha256:... (spec torchscript-preset:clean-fid-inception:PATH) and
// builtin:inception. An empty id (a file that does not record its extractor) counts as
// Inception, so such files keep their names. A user's own Inception as torchscript:PATH is not
// recognised (its id names only the weights' hash): use the preset for FIDs.
inline bool is_inception_feature_space(std::string_view id) {
  auto starts = [&](std::string_view p) { return id.substr(0, p.size()) == p; };
  return id.empty() || starts("clean-fid-inception@") || starts("torchscript-preset:clean-fid-inception:") ||
         starts("builtin:inception");
}

// The Fréchet metric names: "fid", "fid_population", "fid_real_floor", "fid_real_floor_population".
inline bool is_fid_metric_name(std::string_view name) {
  return name == "fid" || name == "fid_population" || name == "fid_real_floor" || name == "fid_real_floor_population";
}

// `fid_name` (one of the names above) as reported in the space of `extractor_id`: unchanged in an
// Inception space, "fd..." ("fd", "fd_population", ...) in any other. Other names are unchanged.
inline std::string frechet_metric_name(std::string_view fid_name, std::string_view extractor_id) {
  if (!is_fid_metric_name(fid_name) || is_inception_feature_space(extractor_id)) return std::string(fid_name);
  return "fd" + std::string(fid_name.substr(3));
}

// The other spelling of a Fréchet metric name ("fd_population" <-> "fid_population"), "" for
// other names (compare's hint when a gate names the spelling a run does not use).
inline std::string other_frechet_spelling(std::string_view name) {
  if (is_fid_metric_name(name)) return "fd" + std::string(name.substr(3));
  if (name.substr(0, 2) == "fd" && is_fid_metric_name("fid" + std::string(name.substr(2))))
    return "fid" + std::string(name.substr(2));
  return "";
}

}  // namespace medsyn

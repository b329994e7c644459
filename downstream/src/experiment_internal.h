#pragma once
// Internals of the downstream experiments shared by experiment.cpp, summary.cpp and report.cpp.
// Not installed; no LibTorch.
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "medsyn/core/estimate.h"
#include "medsyn/downstream/classifier.h"
#include "medsyn/downstream/experiment.h"

namespace medsyn::downstream::detail {

// Everything read from the datasets, converted to class indices and the real image shape.
struct LoadedData {
  DataSummary summary;
  int num_classes = 0;
  std::filesystem::path real_root, syn_root;
  ImageSet train, val, test, syn;  // train = the real training pool (half of it under a control)
  std::vector<std::string> train_paths, val_paths, test_paths, syn_paths;
  std::vector<std::string> notes;
};

LoadedData load_data(const DownstreamOptions& o, bool need_synthetic);

// A metric over seeds: mean with its 95% t interval (stats::t_interval_mean) and the sample sd.
std::pair<Estimate, double> seed_metric(const std::vector<double>& x);

// Fills res.arms and res.comparisons from res.runs (and the test predictions in `outputs`,
// aligned with res.runs, for the paired DeLong tests).
void summarize(const DownstreamOptions& o, const LoadedData& d, const std::vector<ClassifierRun>& outputs,
               DownstreamResult& res);

// predictions/f<fraction>_seed<k>.csv (see experiment.h).
void write_predictions(const DownstreamOptions& o, const LoadedData& d, const DownstreamResult& res,
                       const std::vector<ClassifierRun>& outputs);

// Shortest round-trip text of a number ("0.01", "1", "0.25").
std::string format_number(double v);

}  // namespace medsyn::downstream::detail

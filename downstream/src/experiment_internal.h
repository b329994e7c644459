#pragma once
// Internals of the downstream experiments shared by experiment.cpp, summary.cpp and report.cpp.
// Not installed; no LibTorch.
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "medsyn/core/estimate.h"
#include "medsyn/core/manifest.h"
#include "medsyn/downstream/classifier.h"
#include "medsyn/downstream/experiment.h"

namespace medsyn::downstream::detail {

// Everything read from the datasets, converted to class indices and the real image shape.
struct LoadedData {
  DataSummary summary;
  int num_classes = 0;
  // The real labels were all integers: summary.classes holds their values (else class indices,
  // and summary.class_names the label texts).
  bool int_labels = false;
  std::filesystem::path real_root, syn_root;
  ImageSet train, val, test, syn;  // train = the real training pool (half of it under a control)
  std::vector<std::string> train_paths, val_paths, test_paths, syn_paths;
  std::vector<std::string> notes;
};

LoadedData load_data(const DownstreamOptions& o, bool need_synthetic);

// Shared with adherence.cpp: a record's class key (the integer or string value of the label
// field; nullopt when absent, InputError when neither), "FILE: record N (path 'P')" for
// messages, and DIR/manifest.jsonl for a dataset folder.
struct LabelKey {
  bool is_int = false;
  long value = 0;
  std::string name;
};
std::optional<LabelKey> label_key(const Record& r, const std::string& field);
std::string record_where(const std::string& manifest, std::size_t index, const Record& r);
std::string manifest_file_name(const std::filesystem::path& dir);

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

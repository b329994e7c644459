#pragma once
// Builds a run folder from tests/fixtures/reports/results_base.json: copies (optionally edited)
// results.json and writes the sample images and memorization figures it refers to.
#include <filesystem>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

namespace medsyn::test {

nlohmann::ordered_json base_results_json();
// Writes RUN/results.json (after `edit`) and every PNG it names (unless skip_images).
std::filesystem::path make_run_dir(const std::filesystem::path& run,
                                   const std::function<void(nlohmann::ordered_json&)>& edit = {},
                                   bool skip_images = false);
std::string slurp(const std::filesystem::path& p);
int count_of(const std::string& haystack, const std::string& needle);
// What loading a results.json document reports as bad input ("" when it loads).
std::string load_error(const nlohmann::ordered_json& results);

}  // namespace medsyn::test

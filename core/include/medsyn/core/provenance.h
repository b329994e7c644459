#pragma once
// Provenance recorded in every result file: tool version, git commit, build type, compiler,
// library versions, host, device, start/end time, seeds and input hashes.
#include <map>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace medsyn {

struct BuildInfo {
  const char* version;
  const char* git_commit;
  const char* build_type;
  const char* compiler;
};
const BuildInfo& build_info();

// Library versions known at build time (OpenCV, Eigen, FAISS, Boost, nlohmann_json, ...).
// Modules with more (LibTorch) register theirs with register_library_version.
std::map<std::string, std::string> library_versions();
void register_library_version(const std::string& name, const std::string& version);

std::string utc_now_iso8601();
std::string host_name();

// A JSON object with everything above plus `extra` merged in (seeds, inputs, device...).
nlohmann::json provenance_json(const nlohmann::json& extra);

}  // namespace medsyn

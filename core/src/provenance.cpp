#include "medsyn/core/provenance.h"

#include <unistd.h>

#include <chrono>
#include <ctime>
#include <mutex>

#include "medsyn/core/json.h"

namespace medsyn {

namespace {
std::mutex& reg_mutex() {
  static std::mutex m;
  return m;
}
std::map<std::string, std::string>& registry() {
  static std::map<std::string, std::string> r{
      {"opencv", MEDSYN_OPENCV_VERSION},   {"eigen", MEDSYN_EIGEN_VERSION},
      {"boost", MEDSYN_BOOST_VERSION},     {"faiss", MEDSYN_FAISS_VERSION},
      {"nlohmann_json", MEDSYN_NLOHMANN_VERSION},
  };
  return r;
}
}  // namespace

std::map<std::string, std::string> library_versions() {
  std::lock_guard<std::mutex> lock(reg_mutex());
  return registry();
}

void register_library_version(const std::string& name, const std::string& version) {
  std::lock_guard<std::mutex> lock(reg_mutex());
  registry()[name] = version;
}

std::string utc_now_iso8601() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string host_name() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

nlohmann::json provenance_json(const nlohmann::json& extra) {
  const auto& bi = build_info();
  json j = {
      {"tool", "medsynbench"},
      {"tool_version", bi.version},
      {"git_commit", bi.git_commit},
      {"build_type", bi.build_type},
      {"compiler", bi.compiler},
      {"library_versions", library_versions()},
      {"host", host_name()},
      {"time", utc_now_iso8601()},
  };
  if (extra.is_object())
    for (auto it = extra.begin(); it != extra.end(); ++it) j[it.key()] = it.value();
  return j;
}

}  // namespace medsyn

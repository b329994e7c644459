// RunContext helpers (run_context.h).
#include "run_context.h"

#include <algorithm>

#include "medsyn/core/fs.h"
#include "medsyn/core/hashing.h"
#include "medsyn/stats/random.h"

namespace fs = std::filesystem;

namespace medsyn::suites {

std::uint64_t RunContext::seed_for(const std::string& what) {
  const std::uint64_t stream = std::stoull(sha256_hex(what).substr(0, 15), nullptr, 16);
  // 31 bits: every consumer (engine configs, JSON readers) takes it as a non-negative int.
  const std::uint64_t s = stats::derive_seed(suite.seed, stream) >> 33;
  seeds[what] = s;
  return s;
}

std::string RunContext::location(const fs::path& p) const {
  const fs::path a = fs::absolute(p).lexically_normal();
  const fs::path rel = a.lexically_relative(fs::absolute(run_dir).lexically_normal());
  if (!rel.empty() && *rel.begin() != "..") return rel.generic_string();
  return a.string();
}

fs::path RunContext::resolve(const ojson& location) const {
  const fs::path p = location.get<std::string>();
  return p.is_absolute() ? p : run_dir / p;
}

FeatureExtractor& RunContext::extractor(const std::string& spec) {
  auto& ex = extractors_[spec];
  if (!ex) ex = make_extractor(spec, device);
  return *ex;
}

std::string mm(const std::string& model, const std::string& modality) { return model + "/" + modality; }

void link_or_copy(const fs::path& from, const fs::path& to) {
  ensure_dir(to.parent_path());
  std::error_code ec;
  fs::remove(to, ec);
  fs::create_hard_link(from, to, ec);
  if (ec) fs::copy_file(from, to, fs::copy_options::overwrite_existing);
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace medsyn::suites

#include "medsyn/core/cache.h"

#include <cstdlib>

#include "medsyn/core/fs.h"

namespace fs = std::filesystem;

namespace medsyn {

fs::path default_cache_dir() {
  if (const char* d = std::getenv("MEDSYN_CACHE_DIR"); d && *d) return d;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return fs::path(x) / "medsynbench";
  if (const char* h = std::getenv("HOME"); h && *h) return fs::path(h) / ".cache" / "medsynbench";
  return fs::temp_directory_path() / "medsynbench-cache";
}

ContentCache::ContentCache(fs::path root) : root_(std::move(root)) {}

fs::path ContentCache::entry_path(const std::string& ns, const std::string& key, const std::string& suffix) const {
  const fs::path dir = root_ / ns / key.substr(0, 2);
  ensure_dir(dir);
  return dir / (key + suffix);
}

bool ContentCache::contains(const std::string& ns, const std::string& key, const std::string& suffix) const {
  return fs::exists(root_ / ns / key.substr(0, 2) / (key + suffix));
}

}  // namespace medsyn

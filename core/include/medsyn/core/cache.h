#pragma once
// Content-addressed cache. A key is the SHA-256 of everything that determines a result
// (input content hashes, producer id and version, options); the entry is a file named by the key
// under the cache root. Entries are written atomically, so a killed run never leaves a corrupt one
// and a rerun reuses whatever finished.
//   root: $MEDSYN_CACHE_DIR, else $XDG_CACHE_HOME/medsynbench, else ~/.cache/medsynbench.
#include <filesystem>
#include <string>

namespace medsyn {

std::filesystem::path default_cache_dir();

class ContentCache {
 public:
  explicit ContentCache(std::filesystem::path root = default_cache_dir());
  const std::filesystem::path& root() const { return root_; }
  // <root>/<namespace>/<key[0:2]>/<key><suffix>; the folder is created.
  std::filesystem::path entry_path(const std::string& ns, const std::string& key,
                                   const std::string& suffix) const;
  bool contains(const std::string& ns, const std::string& key, const std::string& suffix) const;

 private:
  std::filesystem::path root_;
};

}  // namespace medsyn

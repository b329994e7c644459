#pragma once
// Real medical images shipped in Debian packages, fetched without installing anything:
// `apt-get download PKG` into a cache folder, then `dpkg-deb -x` into CACHE/debian/PKG/root.
// A finished extraction is marked by CACHE/debian/PKG/VERSION (written last), so later calls
// reuse it without network access, and concurrent callers never see a half-extracted tree
// (extraction goes to a temporary folder that is renamed into place).
#include <filesystem>
#include <string>
#include <vector>

namespace medsyn {

struct DebianPackage {
  std::string name;
  std::string version;              // Debian version, e.g. "0.19.3-8"
  std::filesystem::path deb;        // the downloaded .deb file
  std::filesystem::path root;       // extracted tree (paths inside are like "usr/share/...")
  std::filesystem::path file(const std::string& rel) const { return root / rel; }
};

// Throws medsyn::Error (exit 3, an environment failure) when apt-get/dpkg-deb are missing or
// fail (no network, unknown package), with their output in the message.
DebianPackage fetch_debian_package(const std::string& name, const std::filesystem::path& cache_dir);

// Default cache for packages: default_cache_dir() (see cache.h).
std::filesystem::path default_package_cache();

// Runs a program (no shell) in `cwd`; returns its exit status and combined stdout/stderr.
struct ProcessResult {
  int status = -1;
  std::string output;
};
ProcessResult run_process(const std::vector<std::string>& argv, const std::filesystem::path& cwd = {});

}  // namespace medsyn

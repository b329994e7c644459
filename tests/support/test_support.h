#pragma once
// Shared helpers for specs: where real data lives, temporary folders, running the CLI.
#include <filesystem>
#include <string>

namespace medsyn::test {

std::filesystem::path source_dir();
std::filesystem::path shared_data_dir();   // ../shared/data next to the checkout
std::filesystem::path medmnist_file(const std::string& name);  // e.g. "breastmnist"
std::filesystem::path fixtures_dir();       // tests/fixtures (committed golden values)
std::filesystem::path cli_path();           // build/bin/medsynbench

// A fresh, empty folder under the system temp dir, removed when the object dies.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "medsyn-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& rel) const { return path_ / rel; }

 private:
  std::filesystem::path path_;
};

struct CliResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};
// Runs build/bin/medsynbench with `args` (a shell-quoted argument string) and captures output.
CliResult run_cli(const std::string& args);

// Single-quotes a string for /bin/sh.
std::string shell_quote(const std::string& s);

}  // namespace medsyn::test

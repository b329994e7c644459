#pragma once
// Shared helpers for specs: where real data lives, temporary folders, running the CLI.
#include <filesystem>
#include <optional>
#include <cstdint>
#include <string>
#include <vector>

namespace medsyn::test {

// Missing inputs never pass silently. A spec that needs something this machine lacks (the shared
// MedMNIST files, a Debian package fetched with apt-get download, chromium) calls skip_test: it
// throws SkipTest, the test main (test_main.cpp) then exits with code 4 when no assertion failed,
// and ctest reports the test as Skipped (SKIP_RETURN_CODE 4, tests/CMakeLists.txt). Under CI=true
// (.ci/run sets it) a missing input is required: skip_test fails the test instead.
struct SkipTest {  // deliberately not a std::exception: no catch (const std::exception&) swallows it
  std::string reason;
};
[[noreturn]] void skip_test(const std::string& reason);
bool running_in_ci();             // CI is set and not "", "0" or "false"
bool skip_requested();            // skip_test was called in this process (for the test main)
extern const char* const kSkipMarker;  // prefix of a SkipTest's message as Catch reports it

std::filesystem::path source_dir();
std::filesystem::path shared_data_dir();   // ../shared/data next to the checkout, or $MEDSYN_SHARED_DATA_DIR
// The shared MedMNIST file `name` (e.g. "breastmnist"); skips the test when it is missing.
std::filesystem::path medmnist_file(const std::string& name);
// For a spec whose data part is optional: nullopt when missing (a failure under CI=true).
std::optional<std::filesystem::path> medmnist_file_if_present(const std::string& name);
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

// The bytes of a .npy file (format v1.0, as np.save lays it out) from a header dict text such as
// "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }" and the raw data. Lets tests
// build hostile headers that numpy itself would refuse to write.
std::vector<std::uint8_t> npy_bytes(const std::string& dict, const std::vector<std::uint8_t>& data);

}  // namespace medsyn::test

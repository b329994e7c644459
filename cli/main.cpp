// medsynbench: entry point. Builds the command tree and maps errors to exit codes
// (0 ok, 1 check failed, 2 bad usage/input, 3 internal error).
//
// Compiled twice (cli/CMakeLists.txt): as `medsynbench-torch`, with every library, and as the
// torch-free `medsynbench` (MEDSYN_CLI_LITE), which has the same commands and help but runs a
// command that needs LibTorch by replacing itself with medsynbench-torch (same arguments).
#include <malloc.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "commands.h"
#include "medsyn/core/error.h"
#include "medsyn/core/option_error.h"
#include "medsyn/core/provenance.h"
#include "medsyn/core/torch_bridge.h"

#ifdef MEDSYN_CLI_LITE
namespace {

// Runs argv in medsynbench-torch, found next to this executable; argv[0] stays as typed, so
// usage lines read the same. Returns only when the exec failed.
int run_in_torch_executable(char** argv, const medsyn::NeedsTorch& why) {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  const auto exe = (ec ? std::filesystem::path(argv[0]) : self).parent_path() / "medsynbench-torch";
  std::cout.flush();
  std::cerr.flush();
  execv(exe.c_str(), argv);
  std::cerr << "error: " << why.what() << ", which is in " << exe.string() << ": cannot run it ("
            << std::strerror(errno) << "); install medsynbench-torch next to medsynbench\n";
  return static_cast<int>(medsyn::ExitCode::internal);
}

}  // namespace
#endif

int main(int argc, char** argv) {
  // Keep big tensors and feature matrices off mmap: repeated mmap/munmap of large blocks costs
  // 2-4x on CPU training steps (measured; see docs/installing.md "Performance notes").
  mallopt(M_MMAP_THRESHOLD, INT_MAX);
  mallopt(M_TRIM_THRESHOLD, INT_MAX);

  const auto& bi = medsyn::build_info();
  CLI::App app{"MedSynBench: evaluate generalist vs specialist medical image generators"};
  app.set_version_flag("--version", std::string("medsynbench ") + bi.version + " (" + bi.git_commit +
                                        ", " + bi.build_type + ")");
  app.require_subcommand(1);
  app.fallthrough(false);

  medsyn::cli::register_data_commands(app);
  medsyn::cli::register_data_import_commands(app);
  medsyn::cli::register_metrics_commands(app);
  medsyn::cli::register_features_commands(app);
  medsyn::cli::register_engine_commands(app);
  medsyn::cli::register_memorization_commands(app);
  medsyn::cli::register_downstream_commands(app);
  medsyn::cli::register_stats_commands(app);
  medsyn::cli::register_suite_commands(app);
  medsyn::cli::register_run_commands(app);
  medsyn::cli::register_reader_study_commands(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);  // prints help/version (code 0) or the usage error
    return code == 0 ? 0 : static_cast<int>(medsyn::ExitCode::bad_input);
  } catch (const medsyn::NeedsTorch& e) {
#ifdef MEDSYN_CLI_LITE
    return run_in_torch_executable(argv, e);
#else
    std::cerr << "internal error: " << e.what() << " but it is not registered in this executable" << std::endl;
    return static_cast<int>(medsyn::ExitCode::internal);
#endif
  } catch (const medsyn::OptionError& e) {  // a library names the option's field; the CLI its flag
    std::cerr << "error: " << medsyn::flag_message(e) << std::endl;
    return static_cast<int>(medsyn::ExitCode::bad_input);
  } catch (const medsyn::InputError& e) {
    std::cerr << "error: " << e.what() << std::endl;
    return static_cast<int>(medsyn::ExitCode::bad_input);
  } catch (const medsyn::CheckFailed& e) {
    std::cerr << "check failed: " << e.what() << std::endl;
    return static_cast<int>(medsyn::ExitCode::check_failed);
  } catch (const std::exception& e) {
    std::cerr << "internal error: " << e.what() << std::endl;
    return static_cast<int>(medsyn::ExitCode::internal);
  }
  return medsyn::cli::exit_code();
}

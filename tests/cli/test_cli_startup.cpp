// Specs for the split into the torch-free `medsynbench` and `medsynbench-torch` (issue 20,
// docs/architecture.md "Two executables"): the commands that need no neural network must not load
// LibTorch (nor FAISS, nor OpenCV's codec stack), a command that needs it still works through
// medsynbench-torch with the same result, and both executables offer the same commands and help.
// Which shared objects a process maps is read from the dynamic loader (LD_DEBUG=files), so a
// dlopen() at run time counts as much as a link-time dependency.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <set>
#include <string>

#include "medsyn/core/folder_import.h"
#include "medsyn/core/fs.h"
#include "medsyn/core/image_io.h"
#include "medsyn/core/json.h"
#include "medsyn/core/npy.h"
#include "test_support.h"

using namespace medsyn;
using medsyn::test::shell_quote;
namespace fs = std::filesystem;

namespace {

std::string q(const fs::path& p) { return shell_quote(p.string()); }

struct Traced {
  int exit_code = -1;
  std::string out, err;
  std::set<std::string> objects;  // shared objects the loader mapped, exec'd processes included
};

Traced traced_run(const fs::path& exe, const std::string& args) {
  test::TempDir tmp("medsyn-ld");
  const auto out = tmp / "stdout", err = tmp / "stderr";
  const std::string cmd = "LD_DEBUG=files LD_DEBUG_OUTPUT=" + q(tmp / "ld") + " " + q(exe) + " " + args + " >" +
                          q(out) + " 2>" + q(err) + " </dev/null";
  const int status = std::system(cmd.c_str());
  Traced t;
  t.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  t.out = read_file_text(out);
  t.err = read_file_text(err);
  for (const auto& e : fs::directory_iterator(tmp.path())) {
    if (e.path().filename().string().rfind("ld.", 0) != 0) continue;
    const std::string log = read_file_text(e.path());
    for (std::size_t pos = 0; (pos = log.find("file=", pos)) != std::string::npos;) {
      const std::size_t end = log.find_first_of(" \t\n", pos);
      t.objects.insert(log.substr(pos + 5, end - pos - 5));
      pos = end;
    }
  }
  return t;
}

// The libraries a torch-free command must not map.
std::string heavy_library(const std::set<std::string>& objects) {
  for (const auto& o : objects)
    for (const char* bad : {"libtorch", "libc10", "libfaiss", "libopencv_imgcodecs", "libgdal", "libvtk"})
      if (o.find(bad) != std::string::npos) return o;
  return "";
}

bool maps(const std::set<std::string>& objects, const std::string& name) {
  for (const auto& o : objects)
    if (o.find(name) != std::string::npos) return true;
  return false;
}

fs::path torch_cli_path() { return test::cli_path().parent_path() / "medsynbench-torch"; }

// Two small feature sets and their statistics files.
void write_features(const fs::path& dir) {
  for (const char* name : {"a", "b"}) {
    std::vector<float> x(40 * 4);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>((i * 37 + (name[0] == 'b' ? 11 : 0)) % 17) / 7.f;
    NpyArray a;
    a.dtype = DType::f32;
    a.shape = {40, 4};
    a.bytes.resize(x.size() * 4);
    std::memcpy(a.bytes.data(), x.data(), a.bytes.size());
    write_npy(dir / (std::string(name) + ".npy"), a);
  }
}

}  // namespace

TEST_CASE("torch-free commands do not load LibTorch, FAISS or OpenCV's codecs", "[cli][startup]") {
  test::TempDir tmp;
  write_features(tmp.path());
  const fs::path fixtures = test::fixtures_dir();
  const std::vector<std::string> commands = {
      "--version",
      "--help",
      "train --help",  // help of a LibTorch command comes from the torch-free executable too
      "features stats " + q(tmp / "a.npy") + " --out " + q(tmp / "a.npz"),
      "metrics fid " + q(tmp / "a.npy") + " " + q(tmp / "b.npy") + " --json",
      "metrics kid " + q(tmp / "a.npy") + " " + q(tmp / "b.npy") + " --subsets 5 --subset-size 20 --json",
      "metrics cmmd " + q(tmp / "a.npy") + " " + q(tmp / "b.npy") + " --json",
      "metrics vendi " + q(tmp / "a.npy") + " --q 2 --json",
      "metrics authpct " + q(tmp / "a.npy") + " " + q(tmp / "b.npy") + " --json",
      "metrics ct " + q(tmp / "a.npy") + " " + q(tmp / "a.npy") + " " + q(tmp / "b.npy") + " --json",
      "stats adjust --method bh 0.01 0.04 0.2",
      "suite validate " + q(fs::path(MEDSYN_SOURCE_DIR) / "suites" / "quickstart.json"),
      "report " + q(fixtures / "reports" / "results_base.json") + " --out " + q(tmp / "report"),
      "compare " + q(fixtures / "reports" / "results_base.json") + " " + q(fixtures / "reports" / "results_base.json") +
          " --paired-replicates 0",
  };
  for (const auto& args : commands) {
    INFO("medsynbench " << args);
    const Traced t = traced_run(test::cli_path(), args);
    INFO("stderr: " << t.err);
    CHECK(t.exit_code == 0);
    CHECK(t.objects.size() > 3);  // the trace itself worked (libc, libstdc++, ... are always mapped)
    CHECK(heavy_library(t.objects) == "");
  }
  // After `features stats`, the statistics file is the input of a second torch-free command.
  const Traced fid = traced_run(test::cli_path(), "metrics fid " + q(tmp / "a.npz") + " " + q(tmp / "a.npz"));
  CHECK(fid.exit_code == 0);
  CHECK(heavy_library(fid.objects) == "");

  // The reader study kit (issue 17): make a study from two image folders, analyze a CSV of ratings.
  for (const char* set : {"real", "syn"}) {
    for (int i = 0; i < 4; ++i) {
      Image img(1, 6, 6);
      for (std::size_t k = 0; k < img.data.size(); ++k) img.data[k] = static_cast<float>((k * 3 + i + set[0]) % 13) / 12.f;
      write_png(tmp / (std::string(set) + "-png") / ("x" + std::to_string(i) + ".png"), img, 8);
    }
    FolderImportOptions o;
    o.modality = "test";
    import_folder(tmp / (std::string(set) + "-png"), tmp / set, o);
  }
  const Traced make = traced_run(test::cli_path(), "reader-study make --real " + q(tmp / "real") + " --synthetic " + q(tmp / "syn") +
                                                       " --per-modality 4 --readers a --out " + q(tmp / "study"));
  INFO("stderr: " << make.err);
  CHECK(make.exit_code == 0);
  CHECK(heavy_library(make.objects) == "");
  std::string csv = "reader,image_id,real_or_synthetic,realism,prompt_match\n";
  const auto key = read_json_file(tmp / "study" / "key.json");
  for (const auto& img : key["images"]) csv += "a," + img["id"].get<std::string>() + ",R,3,\n";
  atomic_write_text(tmp / "a.csv", csv);
  const Traced analyze = traced_run(test::cli_path(), "reader-study analyze " + q(tmp / "study") + " --ratings " + q(tmp / "a.csv") +
                                                          " --out " + q(tmp / "analysis") + " --bootstrap 20");
  INFO("stderr: " << analyze.err);
  CHECK(analyze.exit_code == 0);
  CHECK(heavy_library(analyze.objects) == "");
}

TEST_CASE("a command that needs LibTorch runs in medsynbench-torch with the same outcome", "[cli][startup]") {
  test::TempDir tmp;
  REQUIRE(fs::exists(torch_cli_path()));
  for (int i = 0; i < 3; ++i) {  // a tiny dataset: the extractor is built after the dataset is read
    Image img(1, 6, 6);
    for (std::size_t k = 0; k < img.data.size(); ++k) img.data[k] = static_cast<float>((k * 5 + i) % 11) / 10.f;
    write_png(tmp / "png" / ("x" + std::to_string(i) + ".png"), img, 8);
  }
  FolderImportOptions o;
  o.modality = "test";
  import_folder(tmp / "png", tmp / "ds", o);
  // Always LibTorch (train), and LibTorch only because of an argument (a TorchScript extractor,
  // a CUDA device): each is handed over, and answers exactly as medsynbench-torch itself does.
  const std::vector<std::string> commands = {
      "train --data " + q(tmp / "missing") + " --out " + q(tmp / "run"),
      "features extract " + q(tmp / "ds") + " --extractor " + q("torchscript:" + (tmp / "model.pt").string() + "?size=8") +
          " --out " + q(tmp / "f.npy"),
      "features extract " + q(tmp / "ds") + " --extractor builtin:pixels --device cuda:7 --out " + q(tmp / "f.npy"),
  };
  for (const auto& args : commands) {
    INFO("medsynbench " << args);
    const Traced lite = traced_run(test::cli_path(), args);
    const Traced full = traced_run(torch_cli_path(), args);
    INFO("stderr: " << lite.err);
    CHECK(lite.exit_code == 2);
    CHECK(lite.exit_code == full.exit_code);
    CHECK(lite.err == full.err);
    CHECK(lite.out == full.out);
    CHECK(maps(lite.objects, "libtorch"));  // the control: the trace sees LibTorch
  }
  CHECK(!fs::exists(tmp / "f.npy"));
  CHECK(!fs::exists(tmp / "run"));
}

TEST_CASE("both executables offer the same commands, options and help", "[cli][startup]") {
  for (const std::string args : {"--help", "metrics --help", "metrics fid --help", "features extract --help", "train --help",
                                 "generate --help", "memorization --help", "downstream --help", "adherence --help", "run --help",
                                 "suite validate --help", "data --help", "reader-study make --help",
                                 "reader-study analyze --help"}) {
    INFO("--help of: " << args);
    const auto lite = traced_run(test::cli_path(), args);
    const auto full = traced_run(torch_cli_path(), args);
    CHECK(lite.exit_code == 0);
    CHECK(full.exit_code == 0);
    std::string full_out = full.out;
    // Usage lines name the executable as invoked.
    for (std::size_t p; (p = full_out.find("medsynbench-torch")) != std::string::npos;)
      full_out.replace(p, std::string("medsynbench-torch").size(), "medsynbench");
    CHECK(lite.out == full_out);
    CHECK(heavy_library(lite.objects) == "");
  }
}

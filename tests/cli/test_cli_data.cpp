// CLI specs for the conventions (help, version, exit codes) and the data commands the lead owns
// (import medmnist, info, verify), run on real MedMNIST data.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "medsyn/core/fs.h"
#include "medsyn/core/json.h"
#include "test_support.h"

using namespace medsyn;
using medsyn::test::run_cli;
using medsyn::test::shell_quote;
namespace fs = std::filesystem;

TEST_CASE("--help works on every level and --version prints the version", "[cli]") {
  for (const char* args : {"--help", "data --help", "data import --help", "data import medmnist --help",
                           "data info --help", "data verify --help"}) {
    auto r = run_cli(args);
    INFO(args << "\n" << r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("Usage") != std::string::npos);
  }
  auto v = run_cli("--version");
  CHECK(v.exit_code == 0);
  CHECK(v.out.find("medsynbench 0.") != std::string::npos);
}

TEST_CASE("bad usage exits 2", "[cli][errors]") {
  CHECK(run_cli("").exit_code == 2);
  CHECK(run_cli("no-such-command").exit_code == 2);
  CHECK(run_cli("data info").exit_code == 2);  // missing DIR
  CHECK(run_cli("data info --bogus x").exit_code == 2);
}

TEST_CASE("data import medmnist, info and verify on real BreastMNIST", "[cli][real-data]") {
  const auto npz = test::medmnist_file("breastmnist");
  test::TempDir tmp;
  const auto ds = tmp / "breast";
  auto imp = run_cli("data import medmnist " + shell_quote(npz.string()) + " --out " + shell_quote(ds.string()) +
                     " --json");
  INFO(imp.err);
  REQUIRE(imp.exit_code == 0);
  auto j = json::parse(imp.out);
  CHECK(j["images"] == 780);

  auto info = run_cli("data info " + shell_quote(ds.string()) + " --json");
  REQUIRE(info.exit_code == 0);
  auto ij = json::parse(info.out);
  const auto& m = ij["modalities"]["breast_ultrasound"];
  CHECK(m["images"] == 780);
  CHECK(m["splits"]["train"] == 546);
  CHECK(m["labels"]["malignant"] == 210);
  CHECK(m["shapes_cxhxw"]["1x28x28"] == 780);
  auto human = run_cli("data info " + shell_quote(ds.string()));
  CHECK(human.out.find("breast_ultrasound") != std::string::npos);

  CHECK(run_cli("data verify " + shell_quote(ds.string())).exit_code == 0);
  // Tamper with one image: verify reports it and exits 1 (a failed check, not bad usage).
  { std::ofstream(ds / "images/test/00003.png", std::ios::app) << "x"; }
  auto bad = run_cli("data verify " + shell_quote(ds.string()) + " --json");
  CHECK(bad.exit_code == 1);
  auto bj = json::parse(bad.out);
  CHECK(bj["ok"] == false);
  CHECK(bj["problems"][0]["path"] == "images/test/00003.png");
}

TEST_CASE("data commands name the file on bad input and exit 2", "[cli][errors]") {
  test::TempDir tmp;
  auto r = run_cli("data info " + shell_quote((tmp / "missing").string()));
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("missing") != std::string::npos);
  atomic_write_text(tmp / "ds/manifest.jsonl", "{\"path\": \"a.png\"}\n");
  r = run_cli("data info " + shell_quote((tmp / "ds").string()));
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("manifest.jsonl:1") != std::string::npos);
  CHECK(r.err.find("modality") != std::string::npos);
  r = run_cli("data import medmnist " + shell_quote((tmp / "nope.npz").string()) + " --out " +
              shell_quote((tmp / "o").string()) + " --name breastmnist");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("nope.npz") != std::string::npos);
}

// Command-line specs for train / generate / engine cost: a killed run resumed to identical
// weights, the dataset `generate` writes, and error paths (exit 2 with messages naming the input).
#include <catch2/catch.hpp>

#include <cstdlib>

#include "engine_fixtures.h"
#include "medsyn/core/fs.h"
#include "medsyn/core/json.h"
#include "medsyn/core/manifest.h"
#include "test_support.h"

using namespace medsyn;
using medsyn::test::run_cli;
using medsyn::test::shell_quote;
namespace fs = std::filesystem;

TEST_CASE("train killed mid-run resumes to the weights of an uninterrupted run", "[engine][cli][resume]") {
  test::TempDir tmp;
  test::write_toy_dataset(tmp / "data");
  atomic_write_text(tmp / "tiny.json", test::tiny_config_json(5, 2));
  const std::string base = "train --data " + shell_quote((tmp / "data").string()) + " --config " +
                           shell_quote((tmp / "tiny.json").string()) + " --json --out ";
  setenv("MEDSYN_ENGINE_SKIP_COST_TIMING", "1", 1);
  auto full = run_cli(base + shell_quote((tmp / "full").string()));
  INFO(full.err);
  REQUIRE(full.exit_code == 0);
  const auto fj = json::parse(full.out);

  setenv("MEDSYN_ENGINE_ABORT_AFTER_STEP", "3", 1);  // the process dies (_Exit 137) right after step 3
  auto killed = run_cli(base + shell_quote((tmp / "k").string()));
  unsetenv("MEDSYN_ENGINE_ABORT_AFTER_STEP");
  CHECK(killed.exit_code == 137);
  CHECK(read_json_file(tmp / "k/latest.json")["step"] == 2);  // step 3 was never checkpointed
  auto resumed = run_cli(base + shell_quote((tmp / "k").string()) + " --resume");
  INFO(resumed.err);
  REQUIRE(resumed.exit_code == 0);
  const auto rj = json::parse(resumed.out);
  CHECK(rj["resumed_from"] == 2);
  CHECK(rj["weights_sha256"] == fj["weights_sha256"]);

  // generate writes a dataset the data commands accept
  auto gen = run_cli("generate --checkpoint " + shell_quote((tmp / "full").string()) +
                     " --prompt 'beta scan, small' --n 3 --steps 4 --sampler dpmpp2m --guidance 2 --out " +
                     shell_quote((tmp / "gen").string()));
  INFO(gen.err);
  REQUIRE(gen.exit_code == 0);
  const auto ds = load_dataset(tmp / "gen");
  CHECK(ds.records.size() == 3);
  CHECK(ds.records[0].label_name == "small");
  CHECK(run_cli("data verify " + shell_quote((tmp / "gen").string())).exit_code == 0);

  auto cost = run_cli("engine cost --checkpoint " + shell_quote((tmp / "full").string()) + " --json --no-measure");
  REQUIRE(cost.exit_code == 0);
  const auto cj = json::parse(cost.out);
  CHECK(cj["flops"]["unet_forward"]["total"].get<double>() > 0);
  CHECK(cj["measured"]["train_s_per_step"].get<double>() > 0);  // from the training log
  auto human = run_cli("engine cost --config " + shell_quote((tmp / "tiny.json").string()) + " --measure-steps 1");
  CHECK(human.exit_code == 0);
  CHECK(human.out.find("s/sampled image") != std::string::npos);
}

TEST_CASE("engine commands exit 2 with clear messages on bad input", "[engine][cli][errors]") {
  test::TempDir tmp;
  test::write_toy_dataset(tmp / "data", 2);
  const std::string data = shell_quote((tmp / "data").string());
  auto expect2 = [](const std::string& args, const std::string& needle) {
    auto r = run_cli(args);
    INFO(args << "\n" << r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find(needle) != std::string::npos);
  };
  expect2("train --out " + shell_quote((tmp / "o").string()), "--data");
  expect2("train --data " + shell_quote((tmp / "missing").string()) + " --out x", "missing");
  atomic_write_text(tmp / "bad.json", R"({"unet": {"heads": "four"}})");
  expect2("train --data " + data + " --out " + shell_quote((tmp / "o").string()) + " --config " + shell_quote((tmp / "bad.json").string()),
          "field 'unet.heads'");
  expect2("train --data " + data + " --out " + shell_quote((tmp / "o").string()) + " --modalities gamma", "'gamma' is not in the data");
  expect2("train --data " + data + " --out " + shell_quote((tmp / "o").string()) + " --device tpu", "--device");
  expect2("generate --checkpoint " + shell_quote((tmp / "none").string()) + " --prompt x --n 1 --out o", "no such directory");
  expect2("generate --checkpoint " + data + " --n 1 --out o", "--prompt");
  expect2("generate --checkpoint " + data + " --prompt x --n 1 --out o --sampler euler", "--sampler 'euler'");
  expect2("generate --checkpoint " + data + " --prompt x --n 1 --out o", "not a training run");
  // A run folder's latest.json must not point outside it (issue 14).
  std::filesystem::create_directories(tmp / "evil");
  atomic_write_text(tmp / "evil" / "latest.json", R"({"checkpoint": "../../etc", "step": 1})");
  expect2("generate --checkpoint " + shell_quote((tmp / "evil").string()) + " --prompt x --n 1 --out o",
          "checkpoint '../../etc' is outside the run folder");
  expect2("engine cost", "--checkpoint RUN_DIR or --config");
  expect2("engine cost --config " + shell_quote((tmp / "nope.json").string()), "nope.json");
}

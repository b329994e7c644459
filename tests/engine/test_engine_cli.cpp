// Command-line specs for train / generate / engine cost: a killed run resumed to identical
// weights, the dataset `generate` writes, and error paths (exit 2 with messages naming the input).
#include <catch2/catch.hpp>

#include <cstdlib>

#include "engine_fixtures.h"
#include "medsyn/core/fs.h"
#include "medsyn/core/json.h"
#include "medsyn/core/manifest.h"
#include "medsyn/engine/engine.h"
#include "test_support.h"

using namespace medsyn;
using medsyn::engine::checkpoint_problem;
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

TEST_CASE("a truncated newest checkpoint falls back to the previous intact one with a warning; none intact is exit 2",
          "[engine][cli][resume][checkpoint]") {
  test::TempDir tmp;
  test::write_toy_dataset(tmp / "data");
  atomic_write_text(tmp / "tiny.json", test::tiny_config_json(4, 2));  // checkpoints step 2 and 4
  const fs::path run = tmp / "run";
  const std::string train_cmd = "train --data " + shell_quote((tmp / "data").string()) + " --config " +
                                shell_quote((tmp / "tiny.json").string()) + " --json --out " + shell_quote(run.string());
  setenv("MEDSYN_ENGINE_SKIP_COST_TIMING", "1", 1);
  auto trained = run_cli(train_cmd);
  INFO(trained.err);
  REQUIRE(trained.exit_code == 0);
  const std::string weights4 = json::parse(trained.out)["weights_sha256"];
  const fs::path ck2 = run / "checkpoints/step-00000002", ck4 = run / "checkpoints/step-00000004";
  REQUIRE(fs::exists(ck2 / "state.json"));
  CHECK(read_json_file(ck4 / "state.json")["files"]["ema.pt"]["bytes"] == fs::file_size(ck4 / "ema.pt"));
  auto generate = [&](const std::string& out) {
    return run_cli("generate --checkpoint " + shell_quote(run.string()) + " --prompt 'alpha scan, big' --n 1 --steps 2 --out " +
                   shell_quote((tmp / out).string()));
  };

  // The newest checkpoint's ema.pt loses its second half (a copy cut short, a full disk).
  fs::resize_file(ck4 / "ema.pt", fs::file_size(ck4 / "ema.pt") / 2);
  auto gen = generate("g1");
  INFO(gen.err);
  REQUIRE(gen.exit_code == 0);
  CHECK(gen.err.find("warning: the newest checkpoint " + ck4.string() + " is damaged: ema.pt is truncated") != std::string::npos);
  CHECK(gen.err.find("using the previous intact checkpoint " + ck2.string()) != std::string::npos);
  CHECK(fs::path(read_json_file(tmp / "g1/generation.json")["checkpoint"].get<std::string>()).filename() == "step-00000002");

  // train --resume starts from step 2 and reaches the weights of the undamaged run.
  auto resumed = run_cli(train_cmd + " --resume");
  INFO(resumed.err);
  REQUIRE(resumed.exit_code == 0);
  CHECK(resumed.err.find("ema.pt is truncated") != std::string::npos);
  const auto rj = json::parse(resumed.out);
  CHECK(rj["resumed_from"] == 2);
  CHECK(rj["weights_sha256"] == weights4);
  CHECK(checkpoint_problem(ck4).empty());  // rewritten whole by the resumed run

  // Nothing intact: step 4 corrupted in place (same size), step 2 truncated -> exit 2 naming the run.
  auto bytes = read_file_bytes(ck4 / "model.pt");
  bytes[bytes.size() / 2] ^= 0xFF;
  atomic_write_bytes(ck4 / "model.pt", bytes);
  fs::resize_file(ck2 / "optim.pt", 10);
  gen = generate("g2");
  INFO(gen.err);
  CHECK(gen.exit_code == 2);
  CHECK(gen.err.find(run.string() + ": no intact checkpoint") != std::string::npos);
  CHECK(gen.err.find("model.pt does not match its recorded sha256") != std::string::npos);
  CHECK(gen.err.find("checkpoints/step-00000002 (optim.pt is truncated") != std::string::npos);
  CHECK_FALSE(fs::exists(tmp / "g2/manifest.jsonl"));
  // A checkpoint folder given by hand is used as it is or refused, never replaced by another.
  auto direct = run_cli("generate --checkpoint " + shell_quote(ck4.string()) + " --prompt 'alpha scan, big' --n 1 --out " +
                        shell_quote((tmp / "g3").string()));
  CHECK(direct.exit_code == 2);
  CHECK(direct.err.find("damaged checkpoint: model.pt does not match its recorded sha256") != std::string::npos);
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

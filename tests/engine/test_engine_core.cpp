// Engine specs without training: configuration, schedules vs closed forms, tokenizer, prompt
// table, and the folder / command Generator implementations.
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>

#include "engine_fixtures.h"
#include "medsyn/core/error.h"
#include "medsyn/core/fs.h"
#include "medsyn/core/json.h"
#include "medsyn/engine/config.h"
#include "medsyn/engine/generator.h"
#include "medsyn/engine/schedule.h"
#include "medsyn/engine/tokenizer.h"
#include "medsyn/stats/random.h"
#include "test_support.h"

using namespace medsyn;
using namespace medsyn::engine;
namespace fs = std::filesystem;

TEST_CASE("engine config: defaults validate, round-trip, errors name the field", "[engine][config]") {
  EngineConfig d;
  REQUIRE_NOTHROW(validate_config(d, "defaults"));
  const auto j = config_to_json(d);
  CHECK(config_to_json(config_from_json(j, "x")) == j);

  auto err = [](const std::string& text) {
    try {
      config_from_json(json::parse(text), "cfg.json");
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK_THAT(err(R"({"unet": {"chanels": [8]}})"), Catch::Contains("cfg.json: field 'unet.chanels': unknown field"));
  CHECK_THAT(err(R"({"unet": {"channels": []}})"), Catch::Contains("field 'unet.channels'"));
  CHECK_THAT(err(R"({"autoencoder": {"factor": 3}})"), Catch::Contains("field 'autoencoder.factor': must be a power of two"));
  CHECK_THAT(err(R"({"image_size": 30, "unet": {"channels": [8, 16, 16]}})"), Catch::Contains("must be divisible by 4"));
  CHECK_THAT(err(R"({"diffusion": {"schedule": "sigmoid"}})"), Catch::Contains("'sigmoid' is not one of"));
  CHECK_THAT(err(R"({"unet": {"self_attention_resolutions": [5]}})"), Catch::Contains("resolution 5 is not one of"));
  CHECK_THAT(err(R"({"train": {"steps": "many"}})"), Catch::Contains("field 'train.steps': expected an integer"));
  CHECK_THAT(err(R"({"diffusion": {"prediction": "eps", "zero_terminal_snr": true}})"),
             Catch::Contains("field 'diffusion.zero_terminal_snr': needs prediction \"v\""));
  CHECK_THAT(err(R"({"sample": {"guidance_rescale": 1.5}})"), Catch::Contains("sample.guidance_rescale"));
  CHECK_THAT(err(R"({"sample": {"dynamic_threshold": -0.1}})"), Catch::Contains("sample.dynamic_threshold"));
}

TEST_CASE("schedules match their closed forms", "[engine][schedule]") {
  DiffusionConfig c;
  c.timesteps = 1000;
  SECTION("linear") {
    c.schedule = "linear";
    const auto s = make_schedule(c);
    CHECK(s.betas.front() == Approx(1e-4));
    CHECK(s.betas.back() == Approx(0.02));
    CHECK(s.betas[500] == Approx(1e-4 + (0.02 - 1e-4) * 500 / 999.0));
    double prod = 1;
    for (int t = 0; t <= 10; ++t) prod *= 1 - s.betas[t];
    CHECK(s.alphas_bar[10] == Approx(prod).epsilon(1e-12));
  }
  SECTION("scaled_linear") {
    c.schedule = "scaled_linear";
    c.beta_start = 0.00085;
    c.beta_end = 0.012;
    const auto s = make_schedule(c);
    CHECK(s.betas.front() == Approx(0.00085));
    CHECK(s.betas.back() == Approx(0.012));
    const double r = std::sqrt(0.00085) + (std::sqrt(0.012) - std::sqrt(0.00085)) * 250 / 999.0;
    CHECK(s.betas[250] == Approx(r * r));
  }
  SECTION("cosine: alpha_bar[t] = f(t+1)/f(0) while beta is not clipped") {
    c.schedule = "cosine";
    const auto s = make_schedule(c);
    const double pi = 3.14159265358979323846;
    auto f = [&](double t) { return std::pow(std::cos((t / 1000.0 + 0.008) / 1.008 * pi / 2), 2); };
    for (int t : {0, 1, 10, 100, 500, 900, 980}) {
      INFO("t = " << t);
      CHECK(s.alphas_bar[t] == Approx(f(t + 1) / f(0)).epsilon(1e-9));
    }
    CHECK(s.betas.back() == Approx(0.999));  // clipped at the end
    for (int t = 1; t < 1000; ++t) REQUIRE(s.alphas_bar[t] < s.alphas_bar[t - 1]);
  }
  SECTION("sampling timesteps: trailing, decreasing, validated") {
    const auto ts = sampling_timesteps(1000, 4);
    CHECK(ts == std::vector<int>{999, 749, 499, 249});
    CHECK(sampling_timesteps(10, 10) == std::vector<int>{9, 8, 7, 6, 5, 4, 3, 2, 1, 0});
    CHECK_THROWS_AS(sampling_timesteps(10, 11), InputError);
    CHECK_THROWS_AS(sampling_timesteps(10, 0), InputError);
  }
}

TEST_CASE("tokenizer: vocabulary from prompts, <unk>, <bos>, padding, truncation", "[engine][tokenizer]") {
  const auto tok = Tokenizer::build({"chest x-ray, pneumonia", "Chest X-ray, normal"});
  CHECK(tok.words() == std::vector<std::string>{"chest", "normal", "pneumonia", "ray", "x"});
  CHECK(tok.vocab_size() == 8);
  int unk = 0;
  bool trunc = true;
  auto ids = tok.encode("chest x-ray, tumour", 8, &trunc, &unk);
  CHECK(ids == std::vector<std::int64_t>{2, 3, 7, 6, 1, 0, 0, 0});
  CHECK(unk == 1);
  CHECK_FALSE(trunc);
  CHECK(tok.encode("", 4) == std::vector<std::int64_t>{2, 0, 0, 0});
  tok.encode("chest chest chest chest", 3, &trunc);
  CHECK(trunc);
  const auto back = Tokenizer::from_json(tok.to_json(), "vocab.json");
  CHECK(back.words() == tok.words());
  CHECK_THROWS_WITH(Tokenizer::from_json(json{{"words", {"a", "a"}}}, "vocab.json"), Catch::Contains("duplicate word 'a'"));
}

TEST_CASE("prompt table: exact prompts map to modality and label, modality prefixes to modality", "[engine][prompts]") {
  PromptTable t;
  t.add({"chest x-ray, pneumonia", "chest_xray", "radiology", "pneumonia", 1, 1, 10});
  t.add({"chest x-ray, normal", "chest_xray", "radiology", "normal", 0, 1, 12});
  t.add({"fundus photograph, diabetic retinopathy grade 2", "fundus", "ophthalmology", "diabetic retinopathy grade 2", 2, 3, 5});
  auto p = t.lookup("Chest X-ray,  pneumonia");
  REQUIRE(p);
  CHECK(p->modality == "chest_xray");
  CHECK(*p->label == 1);
  auto m = t.lookup("chest x-ray");
  REQUIRE(m);
  CHECK(m->modality == "chest_xray");
  CHECK_FALSE(m->label);
  CHECK(m->count == 22);
  CHECK_FALSE(t.lookup("knee mri"));
  const auto back = PromptTable::from_json(t.to_json(), "prompts.json");
  CHECK(back.rows().size() == 3);
  CHECK(back.lookup("fundus photograph, diabetic retinopathy grade 2")->source_channels == 3);
  CHECK(stats::derive_seed(1, 0) != stats::derive_seed(1, 1));
  CHECK(stats::derive_seed(1, 0) == stats::derive_seed(1, 0));
}

TEST_CASE("command generator: shell quoting, dataset validation, failures", "[engine][generator]") {
  test::TempDir tmp;
  test::write_toy_dataset(tmp / "src", 3);
  // quoting: a prompt with quotes, $ and spaces arrives verbatim
  const std::string nasty = "it's a \"chest\" $HOME; x-ray `id`";
  CHECK(expand_command_template("echo {prompt} {n}", nasty, 3, 2, "/o") == "echo " + sh_quote(nasty) + " '2'");
  PromptTable table;
  table.add({"alpha scan, big", "alpha", "", "big", 0, 1, 3});
  const std::string script =
      "cp " + test::shell_quote((tmp / "src/images").string()) + "/*.png {out}/ && printf '%s|%s|%s' {prompt} {seed} {n} > " +
      test::shell_quote((tmp / "args.txt").string());
  auto gen = make_command_generator(script, table);
  const auto ds = gen->generate({"alpha scan, big"}, 4, 9, tmp / "out");
  REQUIRE(ds.records.size() == 4);
  CHECK(ds.records[0].modality == "alpha");
  CHECK(*ds.records[0].label == 0);
  CHECK(ds.records[0].path.rfind("p000/", 0) == 0);
  CHECK(read_file_text(tmp / "args.txt") == "alpha scan, big|" + std::to_string(stats::derive_seed(9, 0)) + "|4");
  auto gen2 = make_command_generator("printf '%s' {prompt} > " + test::shell_quote((tmp / "p.txt").string()) +
                                     " && cp " + test::shell_quote((tmp / "src/images/0.png").string()) + " {out}/");
  gen2->generate({nasty}, 1, 0, tmp / "out2");
  CHECK(read_file_text(tmp / "p.txt") == nasty);
  // a command that writes a manifest of its own keeps its records
  auto gen3 = make_command_generator("cp -r " + test::shell_quote((tmp / "src").string()) + "/. {out}/");
  const auto ds3 = gen3->generate({"x"}, 2, 0, tmp / "out3");
  CHECK(ds3.records[0].modality == "alpha");
  CHECK(ds3.records[0].prompt == "alpha scan, big");
  // failures
  CHECK_THROWS_WITH(make_command_generator("exit 3 {out}")->generate({"a"}, 1, 0, tmp / "f1"), Catch::Contains("exited with status 3"));
  CHECK_THROWS_WITH(make_command_generator("true {out}")->generate({"a"}, 1, 0, tmp / "f2"), Catch::Contains("wrote 0 image(s)"));
  CHECK_THROWS_WITH(make_command_generator("echo {prompt}"), Catch::Contains("must contain {out}"));
}

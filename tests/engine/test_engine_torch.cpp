// White-box engine specs (model shapes, samplers on an oracle model, FLOP counts by hand) and
// end-to-end checks on a tiny config: determinism, resume, checkpoints, generate.
// LibTorch first: glog (via c10) defines CHECK; drop it so Catch's CHECK is the one in use.
#include "model.h"
#include "sampling.h"
#undef CHECK
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>

#include "engine_fixtures.h"
#include "medsyn/core/error.h"
#include "medsyn/core/fs.h"
#include "medsyn/core/hashing.h"
#include "medsyn/core/image_io.h"
#include "medsyn/core/json.h"
#include "medsyn/engine/engine.h"
#include "medsyn/engine/generator.h"
#include "medsyn/stats/random.h"
#include "medsyn/torch/runtime.h"
#include "test_support.h"

using namespace medsyn;
using namespace medsyn::engine;
using namespace medsyn::engine::detail;
namespace fs = std::filesystem;

namespace {
EngineConfig tiny() { return config_from_json(json::parse(test::tiny_config_json()), "tiny"); }
}  // namespace

TEST_CASE("model shapes: UNet keeps the latent shape, autoencoder downsamples by its factor", "[engine][model]") {
  torch::manual_seed(0);
  auto c = tiny();
  DiffusionModel m(c, 10);
  auto ids = torch::tensor({2, 3, 4, 0, 0, 0, 2, 0, 0, 0, 0, 0}, torch::kInt64).view({2, 6});
  auto out = m->forward(torch::randn({2, 1, 8, 8}), torch::tensor({3.f, 70.f}), ids);
  CHECK(out.sizes() == torch::IntArrayRef({2, 1, 8, 8}));
  CHECK(torch::isfinite(out).all().item<bool>());
  auto text = m->text(ids);
  CHECK(text.tokens.sizes() == torch::IntArrayRef({2, 6, 16}));
  CHECK(text.mask.sum().item<long>() == 4);
  // padding does not change the result (masked attention and pooling)
  auto ids_long = torch::tensor({2, 3, 4, 0, 0, 0}, torch::kInt64).view({1, 6});
  auto ids_short = torch::tensor({2, 3, 4, 0}, torch::kInt64).view({1, 4});
  CHECK(torch::allclose(m->text(ids_long).pooled, m->text(ids_short).pooled, 1e-5, 1e-6));

  c.autoencoder.factor = 2;
  c.autoencoder.latent_channels = 3;
  c.autoencoder.channels = {8};
  c.autoencoder.groups = 4;
  // The latent grid is now 4x4 (levels 4 and 2): attention resolutions must name those sizes.
  c.unet.self_attention_resolutions = {2};
  c.unet.cross_attention_resolutions = {4, 2};
  validate_config(c, "tiny");
  Autoencoder ae(c);
  auto [mean, logvar] = ae->encode(torch::randn({2, 1, 8, 8}));
  CHECK(mean.sizes() == torch::IntArrayRef({2, 3, 4, 4}));
  CHECK(ae->decode(mean).sizes() == torch::IntArrayRef({2, 1, 8, 8}));
  DiffusionModel lm(c, 10);
  CHECK(lm->forward(torch::randn({2, 3, 4, 4}), torch::tensor({1.f, 2.f}), ids).sizes() == torch::IntArrayRef({2, 3, 4, 4}));
}

TEST_CASE("samplers recover the data point of a one-point distribution with the exact denoiser", "[engine][sampler]") {
  // For data = {x*}, the optimal eps is (x - sqrt(ab) x*)/sqrt(1-ab) and v = sqrt(ab) eps - sqrt(1-ab) x*;
  // every sampler must land on x* (DDPM's last step has zero variance).
  DiffusionConfig dc;
  dc.timesteps = 1000;
  for (const std::string sched : {"linear", "cosine", "scaled_linear"}) {
    dc.schedule = sched;
    const auto s = make_schedule(dc);
    auto target = torch::linspace(-0.9, 0.9, 16).view({1, 1, 4, 4}).repeat({2, 1, 1, 1});
    for (const std::string pred : {"eps", "v"}) {
      ModelFn oracle = [&](const torch::Tensor& x, int t) {
        const double ab = s.alphas_bar[t];
        auto eps = (x - std::sqrt(ab) * target) / std::sqrt(1 - ab);
        return pred == "eps" ? eps : std::sqrt(ab) * eps - std::sqrt(1 - ab) * target;
      };
      for (const std::string sampler : {"ddim", "ddpm", "dpmpp2m"}) {
        SamplerSpec spec{sampler, 12, sampler == "ddim" ? 0.5 : 0.0, pred, false};
        std::vector<torch::Generator> gens{cpu_generator(1), cpu_generator(2)};
        auto x = torch::randn({2, 1, 4, 4}, gens[0], torch::kFloat32);
        auto out = run_sampler(spec, s, oracle, x, gens);
        INFO(sched << " " << pred << " " << sampler);
        CHECK((out - target).abs().max().item<double>() < 1e-3);
      }
    }
  }
}

TEST_CASE("DDIM eta=0 is deterministic; DDPM depends on its noise generators", "[engine][sampler]") {
  const auto s = make_schedule(DiffusionConfig{});
  ModelFn f = [](const torch::Tensor& x, int t) { return 0.3 * x + 0.001 * t; };
  auto run = [&](const std::string& sampler, std::uint64_t seed) {
    std::vector<torch::Generator> g{cpu_generator(seed)};
    auto x = torch::ones({1, 1, 2, 2});
    return run_sampler({sampler, 10, 0.0, "eps", true}, s, f, x, g);
  };
  CHECK(torch::equal(run("ddim", 1), run("ddim", 2)));
  CHECK(torch::equal(run("ddpm", 1), run("ddpm", 1)));
  CHECK_FALSE(torch::equal(run("ddpm", 1), run("ddpm", 2)));
  CHECK(torch::equal(run("dpmpp2m", 1), run("dpmpp2m", 2)));
}

TEST_CASE("FLOP counts equal hand-computed per-layer counts for a tiny UNet", "[engine][cost]") {
  // 4x4 pixel space, one level of 8 channels, self+cross attention at 4x4, 1 text layer.
  auto c = config_from_json(json::parse(R"({"image_size": 4, "channels": 1,
     "unet": {"channels": [8], "res_blocks": 1, "self_attention_resolutions": [4], "cross_attention_resolutions": [4],
              "mid_attention": false, "heads": 2, "groups": 4, "ff_mult": 2, "pooled_text": false},
     "text": {"dim": 8, "layers": 1, "heads": 2, "max_tokens": 4, "ff_mult": 2}})"), "tiny");
  const double HW = 16, L = 4;
  auto conv = [](double hw, double cin, double cout, double k) { return 2 * hw * cout * cin * k * k; };
  auto lin = [](double n, double in, double out) { return 2 * n * in * out; };
  auto attn = [](double lq, double lk, double ch) { return 2 * 2 * lq * lk * ch; };  // QK^T + AV over all heads
  const double temb = 32;
  auto res = [&](double cin, double cout) {
    return conv(HW, cin, cout, 3) + lin(1, temb, cout) + conv(HW, cout, cout, 3) + (cin != cout ? conv(HW, cin, cout, 1) : 0);
  };
  const double block = lin(HW, 8, 8) /*proj_in*/ + 3 * lin(HW, 8, 8) + attn(HW, HW, 8) + lin(HW, 8, 8) /*self*/ +
                       lin(HW, 8, 8) + 2 * lin(L, 8, 8) + attn(HW, L, 8) + lin(HW, 8, 8) /*cross*/ + lin(HW, 8, 16) +
                       lin(HW, 16, 8) /*ff*/ + lin(HW, 8, 8) /*proj_out*/;
  const double unet = conv(HW, 1, 8, 3) + lin(1, 8, temb) + lin(1, temb, temb) /*time*/ + res(8, 8) + block /*down*/ +
                      2 * res(8, 8) /*mid*/ + 2 * (res(16, 8) + block) /*up*/ + conv(HW, 8, 1, 3);
  const double text = lin(L, 8, 24) + attn(L, L, 8) + lin(L, 8, 8) + lin(L, 8, 16) + lin(L, 16, 8);
  const auto j = count_cost(c, 10);
  CHECK(j["flops"]["unet_forward"]["total"].get<double>() == Approx(unet).epsilon(1e-12));
  CHECK(j["flops"]["text_encoder_forward"]["total"].get<double>() == Approx(text).epsilon(1e-12));
  CHECK(j["flops"]["unet_forward"]["attention"].get<double>() == Approx(3 * (attn(HW, HW, 8) + attn(HW, L, 8))));
  // parameters: text = emb + pos + 3 LN + qkv + out + ff
  const double tp = 10 * 8 + 4 * 8 + 3 * 16 + (8 * 24 + 24) + (8 * 8 + 8) + (8 * 16 + 16) + (16 * 8 + 8);
  CHECK(j["params"]["text_encoder"].get<double>() == tp);
  CHECK(j["training"]["flops_per_step"].get<double>() == Approx(3 * (unet + text) * c.train.batch));
}

TEST_CASE("training is bit-identical for a seed; resume reaches the uninterrupted weights", "[engine][train]") {
  test::TempDir tmp;
  test::write_toy_dataset(tmp / "data");
  atomic_write_text(tmp / "tiny.json", test::tiny_config_json(6, 2));
  setenv("MEDSYN_ENGINE_SKIP_COST_TIMING", "1", 1);
  auto opts = [&](const std::string& out) {
    TrainOptions o;
    o.data = {tmp / "data"};
    o.out = tmp / out;
    o.config_path = tmp / "tiny.json";
    return o;
  };
  const auto a = train(opts("a"));
  const auto b = train(opts("b"));
  CHECK(a.weights_sha256 == b.weights_sha256);
  CHECK(std::isfinite(a.final_loss));
  auto c_opt = opts("c");
  c_opt.seed = 99;
  CHECK(train(c_opt).weights_sha256 != a.weights_sha256);

  // interrupted after 4 steps, resumed to 6
  auto first = opts("r");
  first.steps = 4;
  train(first);
  CHECK(read_json_file(tmp / "r/latest.json")["step"] == 4);
  auto again = opts("r");
  again.resume = true;
  again.steps = 6;
  const auto r = train(again);
  CHECK(r.resumed_from == 4);
  CHECK(r.weights_sha256 == a.weights_sha256);
  // run layout and log
  for (const char* f : {"config.json", "vocab.json", "prompts.json", "data.json", "latest.json", "train_log.jsonl", "cost.json"})
    CHECK(fs::exists(tmp / "a" / f));
  const auto log = read_file_text(tmp / "a/train_log.jsonl");
  CHECK(std::count(log.begin(), log.end(), '\n') == 6);
  CHECK(log.find("\"wall_s\"") != std::string::npos);
  const auto state = read_json_file(tmp / "a/checkpoints/step-00000006/state.json");
  CHECK(state["data"][0]["manifest_sha256"] == manifest_hash(tmp / "data"));
  CHECK(state["weights_sha256"] == a.weights_sha256);
  CHECK_FALSE(fs::exists(tmp / "a/checkpoints/step-00000002"));  // keep_checkpoints = 2
  // a second run into the same folder without --resume is refused
  CHECK_THROWS_WITH(train(opts("a")), Catch::Contains("set resume"));
  // resume with a different config is refused
  auto bad = opts("a");
  bad.resume = true;
  bad.batch = 7;
  CHECK_THROWS_WITH(train(bad), Catch::Contains("differs from the run's batch"));

  SECTION("generate: dataset with records; same seed bit-identical; all samplers") {
    GenerateOptions g;
    g.checkpoint = tmp / "a";
    g.prompts = {"alpha scan, big", "beta scan"};
    g.n = 3;
    g.seed = 11;
    g.out = tmp / "g1";
    g.batch = 2;
    const auto ds = generate(g);
    REQUIRE(ds.records.size() == 6);
    CHECK(ds.records[0].modality == "alpha");
    CHECK(*ds.records[0].label == 0);
    CHECK(ds.records[3].modality == "beta");
    CHECK_FALSE(ds.records[3].label);
    const auto extra = json::parse(ds.records[1].extra_json);
    CHECK(extra["seed"] == stats::derive_seed(11, 1));
    CHECK(extra["sampler"]["name"] == "ddim");
    CHECK(read_image(ds.image_path(ds.records[0])).channels == 1);
    g.out = tmp / "g2";
    g.batch = 3;  // batching does not change which noise an image gets
    const auto ds2 = generate(g);
    CHECK(sha256_file(ds.image_path(ds.records[0])) == sha256_file(ds2.image_path(ds2.records[0])));
    for (const std::string s : {"ddpm", "dpmpp2m"}) {
      g.sampler = s;
      g.out = tmp / ("g-" + s);
      CHECK(generate(g).records.size() == 6);
    }
    g.out = tmp / "g2";
    CHECK_THROWS_WITH(generate(g), Catch::Contains("already holds a manifest.jsonl"));
    // native generator = generate
    auto gen = make_native_generator(tmp / "a", GenerateOptions{});
    CHECK(gen->generate({"alpha scan, big"}, 2, 11, tmp / "g3").records.size() == 2);
  }
  SECTION("checkpoint integrity: stray temp folders are ignored; a corrupt newest checkpoint falls back; corrupt weights are reported") {
    ensure_dir(tmp / "r/checkpoints/.tmp-step-00000008-1");
    atomic_write_text(tmp / "r/checkpoints/.tmp-step-00000008-1/model.pt", "garbage");
    auto more = opts("r");
    more.resume = true;
    more.steps = 7;
    CHECK(train(more).resumed_from == 6);
    const fs::path ck7 = tmp / "r/checkpoints/step-00000007";
    CHECK(checkpoint_problem(ck7).empty());
    // The newest checkpoint's weights no longer match its record: resume from step 6 (a warning).
    atomic_write_text(ck7 / "model.pt", "garbage");
    CHECK(checkpoint_problem(ck7).find("model.pt is truncated (7 of") == 0);
    CHECK(train(more).resumed_from == 6);
    CHECK(checkpoint_problem(ck7).empty());  // rewritten by the resumed run
    // A checkpoint written before state.json recorded its files: damage is found by LibTorch.
    auto state = read_json_file(ck7 / "state.json");
    state.erase("files");
    write_json_file(ck7 / "state.json", state);
    atomic_write_text(ck7 / "model.pt", "garbage");
    CHECK(checkpoint_problem(ck7).empty());
    CHECK_THROWS_WITH(train(more), Catch::Contains("model.pt"));
  }
}

TEST_CASE("MEDSYN_THREADS sets the torch threads and a bad value is an error naming the variable", "[engine][runtime]") {
  const char* saved = std::getenv("MEDSYN_THREADS");
  const std::string restore = saved ? saved : "";
  ::unsetenv("MEDSYN_THREADS");
  CHECK(torch_threads_from_environment() == 0);
  ::setenv("MEDSYN_THREADS", "1", 1);
  CHECK(torch_threads_from_environment() == 1);
  init_torch_runtime(0);
  CHECK(torch::get_num_threads() == 1);
  init_torch_runtime(2);  // an explicit count wins over the environment
  CHECK(torch::get_num_threads() == 2);
  for (const char* bad : {"0", "-2", "two", "2x", " "}) {
    ::setenv("MEDSYN_THREADS", bad, 1);
    try {
      init_torch_runtime(0);
      FAIL("MEDSYN_THREADS='" << bad << "' was accepted");
    } catch (const InputError& e) {
      CHECK(std::string(e.what()).find("MEDSYN_THREADS") != std::string::npos);
    }
  }
  if (saved) ::setenv("MEDSYN_THREADS", restore.c_str(), 1); else ::unsetenv("MEDSYN_THREADS");
  init_torch_runtime(0);
}

TEST_CASE("sample-fidelity options match PyTorch (diffusers) references", "[engine][sampler][fidelity]") {
  // References: scripts/fixtures/engine_fixtures.py (float64 PyTorch); tolerance 1e-9 relative for
  // the schedule (float64 both sides), 1e-5 absolute for the float32 tensors here.
  const json ref = read_json_file(test::fixtures_dir() / "engine" / "fidelity_reference.json");
  auto tensor = [](const json& values, const json& shape) {
    std::vector<float> v;
    for (const auto& x : values) v.push_back(x.get<float>());
    std::vector<std::int64_t> s = shape.get<std::vector<std::int64_t>>();
    return torch::tensor(v).view(s);
  };
  SECTION("zero terminal SNR: rescaled cosine alpha_bar, alpha_bar[T-1] = 0, last beta 1") {
    DiffusionConfig dc;
    dc.schedule = "cosine";
    dc.prediction = "v";
    dc.zero_terminal_snr = true;
    const auto s = make_schedule(dc);
    const auto& z = ref["zero_terminal_snr"];
    for (std::size_t i = 0; i < z["timesteps"].size(); ++i) {
      const int t = z["timesteps"][i];
      INFO("t = " << t);
      CHECK(s.alphas_bar[t] == Approx(z["alphas_bar"][i].get<double>()).epsilon(1e-9).margin(1e-15));
    }
    CHECK(s.alphas_bar.back() == 0.0);
    CHECK(s.betas.back() == Approx(z["last_beta"].get<double>()));
    double prod = 1;
    for (int t = 0; t < 999; ++t) prod *= 1 - s.betas[t];
    CHECK(prod == Approx(s.alphas_bar[998]).epsilon(1e-9));
    // The unrescaled cosine ends at alpha_bar ~ 2.4e-9 (beta clipped at 0.999): near, not exactly, zero.
    dc.zero_terminal_snr = false;
    CHECK(make_schedule(dc).alphas_bar.back() > 0.0);
    CHECK(make_schedule(dc).alphas_bar.back() < 1e-8);
  }
  SECTION("guidance rescale = diffusers rescale_noise_cfg; phi 0 = plain CFG") {
    const auto& g = ref["guidance_rescale"];
    auto c = tensor(g["cond"], g["shape"]), u = tensor(g["uncond"], g["shape"]);
    auto out = guide(c, u, g["w"].get<double>(), g["phi"].get<double>());
    CHECK((out - tensor(g["out"], g["shape"])).abs().max().item<double>() < 1e-5);
    CHECK(torch::allclose(guide(c, u, 5.0, 0.0), u + 5.0 * (c - u)));
  }
  SECTION("dynamic thresholding = diffusers _threshold_sample; eps re-derived from the thresholded x0") {
    const auto& d = ref["dynamic_threshold"];
    auto x0 = tensor(d["x0"], d["shape"]);
    // With prediction v at alpha_bar = 0.5, x0 = a x - s v: choose v so the model's x0 is exactly x0.
    const double a = std::sqrt(0.5);
    auto x = torch::randn(x0.sizes());
    auto v = (a * x - x0) / a;
    auto [t0, eps] = to_x0_eps(x, v, 0.5, "v", true, d["p"].get<double>());
    CHECK((t0 - tensor(d["out"], d["shape"])).abs().max().item<double>() < 1e-5);
    CHECK(torch::allclose(eps, (x - a * t0) / a, 1e-5, 1e-6));
  }
}

TEST_CASE("v prediction on a zero-terminal-SNR schedule: samplers recover a one-point distribution", "[engine][sampler][fidelity]") {
  DiffusionConfig dc;
  dc.prediction = "v";
  dc.zero_terminal_snr = true;
  for (const std::string sched : {"linear", "cosine", "scaled_linear"}) {
    dc.schedule = sched;
    const auto s = make_schedule(dc);
    auto target = torch::linspace(-0.9, 0.9, 16).view({1, 1, 4, 4}).repeat({2, 1, 1, 1});
    ModelFn oracle = [&](const torch::Tensor& x, int t) {
      const double ab = s.alphas_bar[t];
      auto eps = (x - std::sqrt(ab) * target) / std::sqrt(1 - ab);
      return std::sqrt(ab) * eps - std::sqrt(1 - ab) * target;
    };
    for (const std::string sampler : {"ddim", "ddpm", "dpmpp2m"}) {
      SamplerSpec spec{sampler, 12, sampler == "ddim" ? 0.5 : 0.0, "v", true};
      std::vector<torch::Generator> gens{cpu_generator(1), cpu_generator(2)};
      auto x = torch::randn({2, 1, 4, 4}, gens[0], torch::kFloat32);
      auto out = run_sampler(spec, s, oracle, x, gens);
      INFO(sched << " " << sampler);
      CHECK(torch::isfinite(out).all().item<bool>());
      CHECK((out - target).abs().max().item<double>() < 1e-3);
    }
  }
}

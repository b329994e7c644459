// Samplers (DDPM, DDIM, DPM-Solver++ 2M), classifier-free guidance, run loading, `generate`,
// and compute accounting (`engine cost`).
#include <ATen/CPUGeneratorImpl.h>

#include <chrono>
#include <cmath>

#include "medsyn/core/error.h"
#include "medsyn/core/option_error.h"
#include "medsyn/core/fs.h"
#include "medsyn/core/hashing.h"
#include "medsyn/core/image_io.h"
#include "medsyn/core/json.h"
#include "medsyn/core/progress.h"
#include "medsyn/core/provenance.h"
#include "medsyn/stats/random.h"
#include "medsyn/torch/runtime.h"
#include "medsyn/torch/tensor.h"
#include "sampling.h"

namespace fs = std::filesystem;

namespace medsyn::engine::detail {

torch::Generator cpu_generator(std::uint64_t seed) { return at::make_generator<at::CPUGeneratorImpl>(seed); }

std::pair<torch::Tensor, torch::Tensor> to_x0_eps(const torch::Tensor& x, const torch::Tensor& out, double ab,
                                                  const std::string& prediction, bool clip, double dynamic_threshold) {
  const double a = std::sqrt(ab), s = std::sqrt(1.0 - ab);
  torch::Tensor x0, eps;
  if (prediction == "v") {
    x0 = a * x - s * out;
    eps = s * x + a * out;
  } else {
    eps = out;
    x0 = (x - s * out) / a;
  }
  if (dynamic_threshold > 0) {
    auto q = torch::quantile(x0.abs().flatten(1), dynamic_threshold, 1).clamp_min(1.0).view({-1, 1, 1, 1});
    x0 = torch::max(torch::min(x0, q), -q) / q;
    eps = (x - a * x0) / s;
  } else if (clip) {
    x0 = x0.clamp(-1.0, 1.0);
    eps = (x - a * x0) / s;
  }
  return {x0, eps};
}

torch::Tensor guide(const torch::Tensor& cond, const torch::Tensor& uncond, double w, double rescale) {
  auto g = uncond + w * (cond - uncond);
  if (rescale <= 0) return g;
  const auto per_image = [](const torch::Tensor& t) { return t.flatten(1).std(1).view({-1, 1, 1, 1}); };
  auto r = g * (per_image(cond) / per_image(g).clamp_min(1e-12));
  return rescale * r + (1 - rescale) * g;
}

namespace {
torch::Tensor noise_like(const torch::Tensor& x, std::vector<torch::Generator>& gens) {
  std::vector<torch::Tensor> rows;
  rows.reserve(gens.size());
  for (auto& g : gens) rows.push_back(torch::randn({x.size(1), x.size(2), x.size(3)}, g, torch::kFloat32));
  return torch::stack(rows).to(x.device());
}
}  // namespace

torch::Tensor run_sampler(const SamplerSpec& spec, const NoiseSchedule& sched, const ModelFn& model, torch::Tensor x,
                          std::vector<torch::Generator>& gens) {
  if (static_cast<std::int64_t>(gens.size()) != x.size(0)) throw std::logic_error("run_sampler: one generator per row");
  const auto ts = sampling_timesteps(sched.size(), spec.steps);
  torch::NoGradGuard ng;
  torch::Tensor x0_prev;
  double h_prev = 0;
  for (std::size_t i = 0; i < ts.size(); ++i) {
    const int t = ts[i];
    const bool last = i + 1 == ts.size();
    const double ab = sched.alphas_bar[t];
    const double ab_p = last ? 1.0 : sched.alphas_bar[ts[i + 1]];
    auto [x0, eps] = to_x0_eps(x, model(x, t), ab, spec.prediction, spec.clip, spec.dynamic_threshold);
    if (last) return x0;
    if (spec.sampler == "ddim") {
      const double sigma = spec.eta * std::sqrt((1 - ab_p) / (1 - ab)) * std::sqrt(1 - ab / ab_p);
      x = std::sqrt(ab_p) * x0 + std::sqrt(std::max(0.0, 1 - ab_p - sigma * sigma)) * eps;
      if (sigma > 0) x = x + sigma * noise_like(x, gens);
    } else if (spec.sampler == "ddpm") {
      const double alpha = ab / ab_p, beta = 1 - alpha;
      x = (std::sqrt(ab_p) * beta / (1 - ab)) * x0 + (std::sqrt(alpha) * (1 - ab_p) / (1 - ab)) * x;
      const double var = beta * (1 - ab_p) / (1 - ab);
      if (var > 0) x = x + std::sqrt(var) * noise_like(x, gens);
    } else if (spec.sampler == "dpmpp2m") {
      const double a_t = std::sqrt(ab), s_t = std::sqrt(1 - ab), a_p = std::sqrt(ab_p), s_p = std::sqrt(1 - ab_p);
      const double h = std::log(a_p / s_p) - std::log(a_t / s_t);
      torch::Tensor D = x0;
      if (x0_prev.defined()) {
        const double r = h_prev / h;
        D = (1 + 1 / (2 * r)) * x0 - (1 / (2 * r)) * x0_prev;
      }
      x = (s_p / s_t) * x - a_p * std::expm1(-h) * D;
      x0_prev = x0;
      h_prev = h;
    } else {
      throw OptionError("sampler", "'" + spec.sampler + "': expected ddim, ddpm or dpmpp2m");
    }
  }
  return x;
}

torch::Tensor encode_prompts(const Tokenizer& tok, const std::vector<std::string>& prompts, int max_tokens) {
  auto ids = torch::empty({static_cast<long>(prompts.size()), max_tokens}, torch::kInt64);
  auto* p = ids.data_ptr<std::int64_t>();
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    const auto v = tok.encode(prompts[i], max_tokens);
    std::copy(v.begin(), v.end(), p + i * max_tokens);
  }
  return ids;
}

void save_autoencoder(const fs::path& run_dir, Autoencoder& ae, double latent_scale, const json& info) {
  const auto p = run_dir / "autoencoder.pt";
  const auto tmp = temp_path_for(p);
  torch::save(ae, tmp.string());
  fs::rename(tmp, p);
  json j = info;
  j["latent_scale"] = latent_scale;
  j["weights_sha256"] = weights_sha256(*ae);
  write_json_file(run_dir / "autoencoder.json", j);
}

std::optional<double> load_autoencoder(const fs::path& run_dir, Autoencoder& ae) {
  const auto p = run_dir / "autoencoder.pt", jp = run_dir / "autoencoder.json";
  if (!fs::exists(p) || !fs::exists(jp)) return std::nullopt;
  const auto j = read_json_file(jp);
  try {
    torch::load(ae, p.string());
  } catch (const c10::Error& e) {
    throw InputError(at_file(p.string(), std::string("cannot load autoencoder weights (architecture mismatch with config.json?): ") + e.what_without_backtrace()));
  }
  if (!j.contains("latent_scale") || !j["latent_scale"].is_number())
    throw InputError(at_file(jp.string(), "field 'latent_scale' is missing"));
  return j["latent_scale"].get<double>();
}

LoadedRun load_run(const fs::path& path, const torch::Device& dev, bool use_ema) {
  LoadedRun r;
  if (!fs::exists(path)) throw OptionError("checkpoint", path.string() + ": no such directory");
  if (fs::exists(path / "latest.json")) {
    r.run_dir = path;
    r.checkpoint_dir = latest_checkpoint(path);
  } else if (fs::exists(path / "state.json")) {
    // A checkpoint chosen by hand is used as it is or refused (no fallback to another one).
    if (const auto why = checkpoint_problem(path); !why.empty())
      throw InputError(at_file(path.string(), "damaged checkpoint: " + why));
    r.checkpoint_dir = path;
    r.run_dir = path.parent_path().parent_path();
  } else {
    throw OptionError("checkpoint", path.string() + ": not a training run (no latest.json) nor a checkpoint folder (no state.json)");
  }
  for (const char* f : {"config.json", "vocab.json", "prompts.json"})
    if (!fs::exists(r.run_dir / f)) throw InputError(at_file((r.run_dir / f).string(), "missing (incomplete run directory)"));
  r.cfg = load_run_config(r.run_dir);
  r.tok = Tokenizer::from_json(read_json_file(r.run_dir / "vocab.json"), (r.run_dir / "vocab.json").string());
  r.prompts = load_prompt_table(r.run_dir);
  r.state = read_json_file(r.checkpoint_dir / "state.json");
  r.model = DiffusionModel(r.cfg, r.tok.vocab_size());
  // EMA weights when asked and the run's sample.use_ema allows (false: the raw weights).
  const auto wp = r.checkpoint_dir / (use_ema && r.cfg.sample.use_ema ? "ema.pt" : "model.pt");
  try {
    torch::load(r.model, wp.string());
  } catch (const c10::Error& e) {
    throw InputError(at_file(wp.string(), std::string("cannot load weights: ") + e.what_without_backtrace()));
  }
  r.model->to(dev);
  r.model->eval();
  if (r.cfg.autoencoder.factor > 1) {
    r.ae = Autoencoder(r.cfg);
    auto s = load_autoencoder(r.run_dir, r.ae);
    if (!s) throw InputError(at_file((r.run_dir / "autoencoder.pt").string(), "missing (latent model without its autoencoder)"));
    r.latent_scale = *s;
    r.ae->to(dev);
    r.ae->eval();
  }
  return r;
}

torch::Tensor sample_images(LoadedRun& run, const std::string& prompt, const std::vector<std::uint64_t>& seeds,
                            const SamplerSpec& spec, double guidance, const torch::Device& dev, double guidance_rescale) {
  const auto& c = run.cfg;
  const int B = static_cast<int>(seeds.size());
  const int h = c.latent_size(), ch = c.latent_channels();
  std::vector<torch::Generator> gens;
  std::vector<torch::Tensor> init;
  for (auto s : seeds) {
    gens.push_back(cpu_generator(s));
    init.push_back(torch::randn({ch, h, h}, gens.back(), torch::kFloat32));
  }
  auto x = torch::stack(init).to(dev);
  auto cond = encode_prompts(run.tok, std::vector<std::string>(B, prompt), c.text.max_tokens).to(dev);
  auto uncond = encode_prompts(run.tok, std::vector<std::string>(B, ""), c.text.max_tokens).to(dev);
  torch::NoGradGuard ng;
  const bool cfg = guidance != 1.0;
  TextOut text_c = run.model->text(cond);
  TextOut text_both;
  if (cfg) {
    TextOut u = run.model->text(uncond);
    text_both = {torch::cat({text_c.tokens, u.tokens}), torch::cat({text_c.mask, u.mask}), torch::cat({text_c.pooled, u.pooled})};
  }
  ModelFn fn = [&](const torch::Tensor& xt, int t) {
    if (!cfg) return run.model->unet(xt, torch::full({B}, static_cast<float>(t), xt.options()), text_c);
    auto out = run.model->unet(torch::cat({xt, xt}), torch::full({2 * B}, static_cast<float>(t), xt.options()), text_both);
    auto parts = out.chunk(2, 0);
    return guide(parts[0], parts[1], guidance, guidance_rescale);
  };
  auto z = run_sampler(spec, make_schedule(c.diffusion), fn, x, gens);
  if (c.autoencoder.factor > 1) z = run.ae->decode(z / run.latent_scale);
  return ((z + 1.0) * 0.5).clamp(0.0, 1.0).to(torch::kCPU);
}

}  // namespace medsyn::engine::detail

namespace medsyn::engine {

using namespace detail;

Dataset generate(const GenerateOptions& opt) {
  if (opt.prompts.empty()) throw OptionError("prompts", "none given (give a prompt or a prompts file)");
  if (opt.n < 1) throw OptionError("n", std::to_string(opt.n) + ": must be >= 1");
  if (fs::exists(opt.out / "manifest.jsonl"))
    throw OptionError("out", opt.out.string() + " already holds a manifest.jsonl; choose an empty folder");
  const auto dev = parse_device(opt.device);
  auto run = load_run(opt.checkpoint, dev, true);
  SamplerSpec spec;
  spec.sampler = opt.sampler.value_or(run.cfg.sample.sampler);
  if (spec.sampler != "ddim" && spec.sampler != "ddpm" && spec.sampler != "dpmpp2m")
    throw OptionError("sampler", "'" + spec.sampler + "': expected ddim, ddpm or dpmpp2m");
  spec.steps = opt.steps.value_or(run.cfg.sample.steps);
  spec.eta = opt.eta.value_or(run.cfg.sample.eta);
  if (spec.eta < 0 || spec.eta > 1) throw OptionError("eta", "must be in [0, 1]");
  spec.prediction = run.cfg.diffusion.prediction;
  spec.clip = run.cfg.diffusion.clip_sample && run.cfg.autoencoder.factor == 1;
  spec.dynamic_threshold = run.cfg.autoencoder.factor == 1 ? run.cfg.sample.dynamic_threshold : 0.0;
  const double rescale = run.cfg.sample.guidance_rescale;
  sampling_timesteps(run.cfg.diffusion.timesteps, spec.steps);  // validates steps
  const double guidance = opt.guidance.value_or(run.cfg.sample.guidance);
  if (guidance < 0) throw OptionError("guidance", "must be >= 0");
  const int batch = opt.batch.value_or(run.cfg.sample.batch);
  if (batch < 1) throw OptionError("batch", "must be >= 1");
  ensure_dir(opt.out / "images");
  const std::string ckpt_hash = run.state.value("weights_sha256", "");
  std::vector<Record> records;
  Progress prog("generate", static_cast<std::int64_t>(opt.prompts.size()) * opt.n, "images");
  const auto t0 = std::chrono::steady_clock::now();
  std::uint64_t k = 0;
  for (const auto& prompt : opt.prompts) {
    const auto info = run.prompts.lookup(prompt);
    int unknown = 0;
    run.tok.encode(prompt, run.cfg.text.max_tokens, nullptr, &unknown);
    if (unknown) log_warn("prompt '" + prompt + "': " + std::to_string(unknown) + " word(s) not in the training vocabulary (encoded as <unk>)");
    for (int start = 0; start < opt.n; start += batch) {
      const int b = std::min(batch, opt.n - start);
      std::vector<std::uint64_t> seeds;
      for (int i = 0; i < b; ++i) seeds.push_back(stats::derive_seed(opt.seed, k + i));
      auto imgs = sample_images(run, prompt, seeds, spec, guidance, dev, rescale);
      for (int i = 0; i < b; ++i, ++k) {
        Image img = tensor_to_image(imgs[i]);
        if (info && info->source_channels == 1 && img.channels != 1) img = to_channels(img, 1);
        char name[32];
        std::snprintf(name, sizeof name, "images/%06llu.png", static_cast<unsigned long long>(k));
        write_png(opt.out / name, img);
        Record r;
        r.path = name;
        r.prompt = prompt;
        r.modality = info ? info->modality : "unknown";
        if (info) {
          r.specialty = info->specialty;
          r.label = info->label;
          r.label_name = info->label_name;
        }
        r.split = "generated";
        r.sha256 = sha256_file(opt.out / name);
        json extra{{"seed", seeds[i]},
                   {"base_seed", opt.seed},
                   {"index", k},
                   {"sampler", {{"name", spec.sampler}, {"steps", spec.steps}, {"guidance", guidance}, {"eta", spec.eta},
                                {"guidance_rescale", rescale}, {"dynamic_threshold", spec.dynamic_threshold}, {"use_ema", run.cfg.sample.use_ema}}},
                   {"generator", "medsynbench-engine"},
                   {"checkpoint_sha256", ckpt_hash}};
        r.extra_json = extra.dump();
        records.push_back(r);
      }
      prog.advance(b);
    }
  }
  prog.finish();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  write_json_file(opt.out / "generation.json",
                  json{{"checkpoint", fs::absolute(run.checkpoint_dir).string()},
                       {"checkpoint_sha256", ckpt_hash},
                       {"prompts", opt.prompts},
                       {"n_per_prompt", opt.n},
                       {"sampler", {{"name", spec.sampler}, {"steps", spec.steps}, {"guidance", guidance}, {"eta", spec.eta}, {"batch", batch},
                                    {"guidance_rescale", rescale}, {"dynamic_threshold", spec.dynamic_threshold}, {"use_ema", run.cfg.sample.use_ema}}},
                       {"seconds", secs},
                       {"seconds_per_image", secs / static_cast<double>(records.size())},
                       {"provenance", provenance_json(json{{"seed", opt.seed}, {"device", dev.str()}})}});
  write_manifest(opt.out, records);
  return load_dataset(opt.out);
}

json count_cost(const EngineConfig& c, int vocab_size) {
  torch::NoGradGuard ng;
  DiffusionModel model(c, vocab_size);
  model->eval();
  json out;
  auto layer_json = [](const FlopCounter& fc) {
    json arr = json::array();
    for (const auto& l : fc.layers) arr.push_back({{"name", l.name}, {"kind", l.kind}, {"flops", l.flops}});
    return arr;
  };
  auto summary = [&](const FlopCounter& fc) {
    return json{{"total", fc.total()}, {"conv", fc.total("conv")}, {"linear", fc.total("linear")},
                {"attention", fc.total("attention")}, {"layers", layer_json(fc)}};
  };
  FlopCounter ftext, funet;
  auto ids = torch::full({1, c.text.max_tokens}, Tokenizer::kBos, torch::kInt64);
  TextOut text;
  {
    CountFlops cf(ftext);
    text = model->text(ids);
  }
  {
    CountFlops cf(funet);
    model->unet(torch::zeros({1, c.latent_channels(), c.latent_size(), c.latent_size()}), torch::zeros({1}), text);
  }
  const double t_params = static_cast<double>(count_params(*model->text));
  const double u_params = static_cast<double>(count_params(*model->unet));
  double ae_params = 0, enc = 0, dec = 0;
  json ae_json = nullptr;
  if (c.autoencoder.factor > 1) {
    Autoencoder ae(c);
    ae_params = static_cast<double>(count_params(*ae));
    FlopCounter fe, fd;
    torch::Tensor z;
    {
      CountFlops cf(fe);
      z = ae->encode(torch::zeros({1, c.channels, c.image_size, c.image_size})).first;
    }
    {
      CountFlops cf(fd);
      ae->decode(z);
    }
    enc = fe.total();
    dec = fd.total();
    ae_json = json{{"encode", summary(fe)}, {"decode", summary(fd)}};
  }
  out["params"] = {{"text_encoder", t_params}, {"unet", u_params}, {"autoencoder", ae_params},
                   {"total", t_params + u_params + ae_params}};
  out["flops"] = {{"convention", "2 x multiply-accumulates of convolutions, linear layers and attention matmuls; batch 1; text at max_tokens"},
                  {"unet_forward", summary(funet)},
                  {"text_encoder_forward", summary(ftext)},
                  {"autoencoder", ae_json}};
  const double fwd = funet.total() + ftext.total();
  const double per_step = 3.0 * fwd * c.train.batch;  // forward + backward (~2x forward)
  const double ae_train = c.autoencoder.factor > 1 && c.autoencoder.pretrained.empty()
                              ? 3.0 * (enc + dec) * c.autoencoder.batch * c.autoencoder.steps : 0.0;
  out["training"] = {{"steps", c.train.steps}, {"batch", c.train.batch},
                     {"flops_per_step", per_step},
                     {"diffusion_flops", per_step * c.train.steps},
                     {"autoencoder_flops", ae_train},
                     {"total_flops", per_step * c.train.steps + ae_train},
                     {"convention", "steps x batch x 3 x forward (backward ~ 2 x forward)"}};
  const double guidance_mult = c.sample.guidance != 1.0 ? 2.0 : 1.0;
  out["sampling"] = {{"sampler", c.sample.sampler}, {"steps", c.sample.steps}, {"guidance", c.sample.guidance},
                     {"flops_per_image", c.sample.steps * guidance_mult * funet.total() + ftext.total() * guidance_mult + dec}};
  return out;
}

}  // namespace medsyn::engine

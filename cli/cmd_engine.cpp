// Commands of the engine module: train, generate, engine cost. Registration and argument
// checking only; the work lives in the engine library (engine/include/medsyn/engine/engine.h).
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

#include "commands.h"
#include "torch_command.h"
#include "medsyn/core/error.h"
#include "medsyn/core/fs.h"
#include "medsyn/core/json.h"
#include "medsyn/engine/engine.h"
#include "medsyn/torch/runtime.h"

namespace fs = std::filesystem;

namespace medsyn::cli {

namespace {

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

std::vector<std::string> read_prompts_file(const fs::path& p) {
  std::vector<std::string> out;
  std::istringstream is(read_file_text(p));
  std::string line;
  while (std::getline(is, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
    std::size_t b = line.find_first_not_of(" \t");
    if (b == std::string::npos || line[b] == '#') continue;
    out.push_back(line.substr(b));
  }
  if (out.empty()) throw InputError(at_file(p.string(), "no prompts (one per line; '#' starts a comment)"));
  return out;
}

std::string fmt_num(double v) {
  std::ostringstream os;
  const char* units[] = {"", "K", "M", "G", "T", "P"};
  int u = 0;
  while (std::abs(v) >= 1000 && u < 5) {
    v /= 1000;
    ++u;
  }
  os << std::fixed << std::setprecision(u ? 2 : 0) << v << units[u];
  return os.str();
}

// Torch intra-op threads: MEDSYN_THREADS when set, else all cores (init_torch_runtime).
void init_runtime() { init_torch_runtime(0); }

}  // namespace

void register_engine_commands(CLI::App& root) {
  // ---- train ----
  struct TrainArgs {
    std::string data, out, modalities, config, device;
    int steps = 0, batch = 0;
    std::uint64_t seed = 0;
    bool resume = false, json = false;
  };
  auto ta = std::make_shared<TrainArgs>();
  CLI::App* train = root.add_subcommand("train", "Train the diffusion engine (autoencoder, then text-conditioned diffusion)");
  train->add_option("--data", ta->data, "Dataset folder(s) with manifest.jsonl; several comma-separated folders are merged")->required();
  train->add_option("--out", ta->out, "Run directory (checkpoints, config, vocab, logs)")->required();
  train->add_option("--modalities", ta->modalities, "Comma-separated modalities to train on (default: all)");
  train->add_option("--config", ta->config, "Engine configuration JSON (default: built-in defaults; see docs/engine.md)");
  auto* steps_opt = train->add_option("--steps", ta->steps, "Diffusion training steps (overrides train.steps)");
  auto* batch_opt = train->add_option("--batch", ta->batch, "Batch size (overrides train.batch)");
  auto* seed_opt = train->add_option("--seed", ta->seed, "Seed (overrides train.seed)");
  train->add_flag("--resume", ta->resume, "Continue from the run's latest checkpoint");
  train->add_flag("--json", ta->json, "Print the result as JSON");
  add_device_option(train, ta->device);
  MEDSYN_TORCH_CALLBACK(train, ta, [ta, steps_opt, batch_opt, seed_opt]() {
    init_runtime();
    engine::TrainOptions o;
    for (const auto& d : split_list(ta->data)) o.data.push_back(d);
    o.out = ta->out;
    o.modalities = split_list(ta->modalities);
    if (!ta->config.empty()) {
      if (!fs::exists(ta->config)) throw InputError("--config " + ta->config + ": no such file");
      o.config_path = ta->config;
    }
    if (steps_opt->count()) {
      if (ta->steps < 1) throw InputError("--steps " + std::to_string(ta->steps) + ": must be >= 1");
      o.steps = ta->steps;
    }
    if (batch_opt->count()) {
      if (ta->batch < 1) throw InputError("--batch " + std::to_string(ta->batch) + ": must be >= 1");
      o.batch = ta->batch;
    }
    if (seed_opt->count()) o.seed = ta->seed;
    o.resume = ta->resume;
    o.device = validate_device(ta->device);
    for (const auto& d : o.data)
      if (!fs::exists(d)) throw InputError("--data " + d.string() + ": no such folder");
    const auto r = engine::train(o);
    const json j{{"run", fs::absolute(o.out).string()}, {"steps", r.steps}, {"resumed_from", r.resumed_from},
                 {"final_loss", r.final_loss}, {"seconds", r.seconds}, {"weights_sha256", r.weights_sha256},
                 {"checkpoint", r.checkpoint.string()}};
    if (ta->json) {
      print_json(j);
    } else {
      std::cout << "trained " << r.steps << " steps" << (r.resumed_from ? " (resumed from " + std::to_string(r.resumed_from) + ")" : "")
                << " in " << std::fixed << std::setprecision(1) << r.seconds << " s; final loss " << std::setprecision(4)
                << r.final_loss << "\ncheckpoint " << r.checkpoint.string() << "\nweights sha256 " << r.weights_sha256 << "\n";
    }
  });

  // ---- generate ----
  struct GenArgs {
    std::string checkpoint, prompt, prompts, out, sampler, device;
    int n = 0, steps = 0, batch = 0;
    double guidance = 0, eta = 0;
    std::uint64_t seed = 0;
    bool json = false;
  };
  auto ga = std::make_shared<GenArgs>();
  CLI::App* gen = root.add_subcommand("generate", "Sample images from a trained run into a dataset (PNGs + manifest.jsonl)");
  gen->add_option("--checkpoint", ga->checkpoint, "Run directory written by `train` (or one checkpoint folder)")->required();
  auto* p1 = gen->add_option("--prompt", ga->prompt, "Prompt text");
  auto* p2 = gen->add_option("--prompts", ga->prompts, "File with one prompt per line");
  p1->excludes(p2);
  gen->add_option("--n", ga->n, "Images per prompt")->required();
  gen->add_option("--out", ga->out, "Output dataset folder")->required();
  gen->add_option("--seed", ga->seed, "Seed (image k uses mix(seed, k))")->capture_default_str();
  auto* steps_o = gen->add_option("--steps", ga->steps, "Sampling steps (default: the run's sample.steps, 50)");
  auto* sampler_o = gen->add_option("--sampler", ga->sampler, "ddim | ddpm | dpmpp2m (default: the run's sample.sampler)");
  auto* guid_o = gen->add_option("--guidance", ga->guidance, "Classifier-free guidance scale (1 = none; default 4.0)");
  auto* eta_o = gen->add_option("--eta", ga->eta, "DDIM eta (0 = deterministic)");
  auto* batch_o = gen->add_option("--batch", ga->batch, "Images per forward batch");
  gen->add_flag("--json", ga->json, "Print a JSON summary");
  add_device_option(gen, ga->device);
  MEDSYN_TORCH_CALLBACK(gen, ga, [ga, p1, p2, steps_o, sampler_o, guid_o, eta_o, batch_o]() {
    init_runtime();
    if (!p1->count() && !p2->count()) throw InputError("generate: give --prompt TEXT or --prompts FILE");
    engine::GenerateOptions o;
    o.checkpoint = ga->checkpoint;
    o.prompts = p1->count() ? std::vector<std::string>{ga->prompt} : read_prompts_file(ga->prompts);
    if (ga->n < 1) throw InputError("--n " + std::to_string(ga->n) + ": must be >= 1");
    o.n = ga->n;
    o.out = ga->out;
    o.seed = ga->seed;
    if (steps_o->count()) o.steps = ga->steps;
    if (sampler_o->count()) {
      if (ga->sampler != "ddim" && ga->sampler != "ddpm" && ga->sampler != "dpmpp2m")
        throw InputError("--sampler '" + ga->sampler + "': expected ddim, ddpm or dpmpp2m");
      o.sampler = ga->sampler;
    }
    if (guid_o->count()) o.guidance = ga->guidance;
    if (eta_o->count()) o.eta = ga->eta;
    if (batch_o->count()) {
      if (ga->batch < 1) throw InputError("--batch " + std::to_string(ga->batch) + ": must be >= 1");
      o.batch = ga->batch;
    }
    o.device = validate_device(ga->device);
    const auto ds = engine::generate(o);
    if (ga->json) {
      print_json(json{{"out", fs::absolute(o.out).string()}, {"images", ds.records.size()}, {"prompts", o.prompts}});
    } else {
      std::cout << "wrote " << ds.records.size() << " images to " << o.out.string() << "\n";
    }
  });

  // ---- engine cost ----
  CLI::App* eng = group(root, "engine", "Diffusion engine utilities");
  struct CostArgs {
    std::string checkpoint, config, device;
    int measure_steps = 3;
    bool json = false, no_measure = false;
  };
  auto ca = std::make_shared<CostArgs>();
  CLI::App* cost = eng->add_subcommand("cost", "Parameters, per-layer FLOPs, training FLOPs and measured s/step, s/image");
  auto* c1 = cost->add_option("--checkpoint", ca->checkpoint, "Run directory");
  auto* c2 = cost->add_option("--config", ca->config, "Engine configuration JSON");
  c1->excludes(c2);
  cost->add_option("--measure-steps", ca->measure_steps, "Training steps to time (config mode)")->capture_default_str();
  cost->add_flag("--no-measure", ca->no_measure, "Skip the timing measurements");
  cost->add_flag("--json", ca->json, "Print JSON (includes the per-layer list)");
  add_device_option(cost, ca->device);
  MEDSYN_TORCH_CALLBACK(cost, ca, [ca, c1, c2]() {
    init_runtime();
    if (!c1->count() && !c2->count()) throw InputError("engine cost: give --checkpoint RUN_DIR or --config engine.json");
    engine::CostOptions o;
    if (c1->count()) o.checkpoint = ca->checkpoint;
    if (c2->count()) {
      if (!fs::exists(ca->config)) throw InputError("--config " + ca->config + ": no such file");
      o.config_path = ca->config;
    }
    o.measure = !ca->no_measure;
    if (ca->measure_steps < 1) throw InputError("--measure-steps: must be >= 1");
    o.measure_steps = ca->measure_steps;
    o.device = validate_device(ca->device);
    const json j = engine::engine_cost(o);
    if (ca->json) {
      print_json(j);
      return;
    }
    const auto& p = j["params"];
    const auto& f = j["flops"];
    std::cout << "parameters: text encoder " << fmt_num(p["text_encoder"]) << ", unet " << fmt_num(p["unet"])
              << ", autoencoder " << fmt_num(p["autoencoder"]) << ", total " << fmt_num(p["total"]) << "\n";
    const auto& u = f["unet_forward"];
    std::cout << "unet forward (1 image): " << fmt_num(u["total"]) << "FLOPs (conv " << fmt_num(u["conv"]) << ", linear "
              << fmt_num(u["linear"]) << ", attention " << fmt_num(u["attention"]) << "; " << u["layers"].size() << " layers)\n";
    std::cout << "text encoder forward: " << fmt_num(f["text_encoder_forward"]["total"]) << "FLOPs\n";
    if (!f["autoencoder"].is_null())
      std::cout << "autoencoder encode / decode: " << fmt_num(f["autoencoder"]["encode"]["total"]) << " / "
                << fmt_num(f["autoencoder"]["decode"]["total"]) << "FLOPs\n";
    const auto& t = j["training"];
    std::cout << "training: " << t["steps"] << " steps x batch " << t["batch"] << " = " << fmt_num(t["total_flops"]) << "FLOPs\n";
    std::cout << "sampling: " << fmt_num(j["sampling"]["flops_per_image"]) << "FLOPs per image\n";
    const auto& m = j["measured"];
    if (m.contains("train_s_per_step")) std::cout << "measured: " << m["train_s_per_step"].get<double>() << " s/train step\n";
    if (m.contains("sample_s_per_image")) std::cout << "measured: " << m["sample_s_per_image"].get<double>() << " s/sampled image\n";
  });
}

}  // namespace medsyn::cli

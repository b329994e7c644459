#pragma once
// Internal (torch): diffusion maths on tensors, samplers, and loading a run directory.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "medsyn/engine/engine.h"
#include "medsyn/engine/schedule.h"
#include "medsyn/engine/tokenizer.h"
#include "model.h"

namespace medsyn::engine::detail {

// Model output (eps or v, already guidance-combined) for a batch x at integer timestep t.
using ModelFn = std::function<torch::Tensor(const torch::Tensor& x, int t)>;

struct SamplerSpec {
  std::string sampler = "ddim";  // ddim | ddpm | dpmpp2m
  int steps = 50;
  double eta = 0.0;
  std::string prediction = "eps";
  bool clip = true;  // clamp predicted x0 to [-1, 1]
  double dynamic_threshold = 0;  // quantile p of |x0| per image (Saharia et al. 2022); 0 = off, else replaces clip
};

// Classifier-free guidance of one model output pair, with guidance rescale phi (Lin et al. 2024,
// eq. 15-16): g = u + w (c - u); g' = g * std(c) / std(g) per image (over C, H, W); phi g' + (1 - phi) g.
torch::Tensor guide(const torch::Tensor& cond, const torch::Tensor& uncond, double w, double rescale);

// (x0, eps) from a model output at timestep t (eps or v parameterisation), x0 clipped if asked
// (eps then re-derived from the clipped x0). dynamic_threshold p > 0: per image s = max(1, quantile_p |x0|),
// x0 = clamp(x0, -s, s) / s instead of the plain clip.
std::pair<torch::Tensor, torch::Tensor> to_x0_eps(const torch::Tensor& x, const torch::Tensor& out, double alpha_bar,
                                                  const std::string& prediction, bool clip, double dynamic_threshold = 0);

// Runs the sampler from x_T (B x C x H x W). `gens` holds one CPU generator per batch row, used for
// the ancestral noise (DDPM, DDIM eta>0), so a row's result does not depend on its batch mates.
// The last step lands on alpha_bar = 1 and returns the predicted x0.
torch::Tensor run_sampler(const SamplerSpec& spec, const NoiseSchedule& sched, const ModelFn& model, torch::Tensor x,
                          std::vector<torch::Generator>& gens);

torch::Generator cpu_generator(std::uint64_t seed);

// Token ids of prompts as a B x L int64 tensor.
torch::Tensor encode_prompts(const Tokenizer& tok, const std::vector<std::string>& prompts, int max_tokens);

struct LoadedRun {
  std::filesystem::path run_dir, checkpoint_dir;
  EngineConfig cfg;
  Tokenizer tok;
  PromptTable prompts;
  DiffusionModel model{nullptr};
  Autoencoder ae{nullptr};
  double latent_scale = 1.0;
  nlohmann::json state;  // checkpoint state.json
};
// `path`: a run dir (latest.json) or a checkpoint folder. Loads EMA weights when use_ema and the
// run's sample.use_ema (the raw weights otherwise).
LoadedRun load_run(const std::filesystem::path& path, const torch::Device& dev, bool use_ema);

// Samples images in [0,1] (B x C x H x W, CPU) for one prompt, one seed per image.
torch::Tensor sample_images(LoadedRun& run, const std::string& prompt, const std::vector<std::uint64_t>& seeds,
                            const SamplerSpec& spec, double guidance, const torch::Device& dev, double guidance_rescale = 0);

// Writes/reads the autoencoder with its latent scale (RUN/autoencoder.pt + autoencoder.json).
void save_autoencoder(const std::filesystem::path& run_dir, Autoencoder& ae, double latent_scale, const nlohmann::json& info);
std::optional<double> load_autoencoder(const std::filesystem::path& run_dir, Autoencoder& ae);

}  // namespace medsyn::engine::detail

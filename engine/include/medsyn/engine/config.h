#pragma once
// Engine configuration (engine.json): plain structs, parsed with errors that name the file and the
// field ("engine.json: field 'unet.channels': expected a non-empty array of positive integers").
// Unknown fields are errors, so a typo never silently falls back to a default.
//
// Conventions used throughout the engine:
//  - Images enter the model as N x C x H x W float32 in [-1, 1] (dataset pixels p in [0,1] map to
//    2p-1); `channels` is the model's channel count (1 = gray, 3 = RGB; gray sources are replicated
//    to 3 channels, RGB sources converted to luma for 1).
//  - Resolutions (`*_attention_resolutions`) are spatial sizes of the UNet's input grid, i.e. the
//    latent grid (image_size / autoencoder.factor) and its halvings.
//  - Timesteps are integers 0..timesteps-1 (DDPM convention); alpha_bar[t] = prod_{s<=t} (1-beta_s).
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace medsyn::engine {

struct AutoencoderConfig {
  int factor = 1;                    // spatial downsampling factor: 1 = pixel space (no autoencoder), 2, 4, 8
  int latent_channels = 4;
  std::vector<int> channels{32, 64};  // encoder width per level (log2(factor) downsamplings)
  int groups = 8;                    // GroupNorm groups
  double kl_weight = 1e-6;
  int steps = 2000;                  // autoencoder training steps (before diffusion)
  int batch = 32;
  double lr = 1e-3;
  std::string pretrained;            // run dir whose autoencoder.pt to reuse (skips AE training)
};

struct UNetConfig {
  std::vector<int> channels{32, 64, 64};  // width per level; level l runs at res/2^l
  int res_blocks = 1;                     // residual blocks per level (down path; up path has +1)
  std::vector<int> self_attention_resolutions{7};
  std::vector<int> cross_attention_resolutions{7, 14};
  bool mid_attention = true;              // self+cross attention in the middle block
  int heads = 4;
  int groups = 8;
  int ff_mult = 2;                        // feed-forward width multiplier in attention blocks
  bool pooled_text = true;                // add the pooled text embedding to the time embedding
  double dropout = 0.0;
};

struct TextConfig {
  int dim = 64;
  int layers = 2;
  int heads = 4;
  int max_tokens = 16;  // including the leading <bos>; longer prompts are truncated (logged)
  int ff_mult = 2;
};

struct DiffusionConfig {
  std::string schedule = "cosine";  // linear | scaled_linear | cosine
  int timesteps = 1000;
  double beta_start = 1e-4;         // linear / scaled_linear
  double beta_end = 0.02;
  double cosine_s = 0.008;
  std::string prediction = "eps";   // eps | v
  bool clip_sample = true;          // clamp predicted x0 to [-1,1] when sampling (pixel space only)
  // Rescale the schedule so alpha_bar[T-1] = 0 exactly (Lin et al. 2024, Algorithm 1); needs
  // prediction "v" (eps cannot give x0 at zero signal). See docs/engine.md "Sample fidelity".
  bool zero_terminal_snr = false;
};

struct TrainConfig {
  int steps = 1000;
  int batch = 32;
  double lr = 1e-3;
  int warmup = 100;            // linear LR warm-up steps
  double weight_decay = 0.0;
  double grad_clip = 1.0;      // global L2 norm; 0 = off
  double ema_decay = 0.999;    // effective decay min(ema_decay, (1+k)/(10+k))
  double cond_drop = 0.1;      // probability of replacing the prompt by the empty prompt (CFG)
  int checkpoint_every = 200;  // steps between checkpoints (and at the end)
  int keep_checkpoints = 2;
  std::uint64_t seed = 0;
  std::string balance = "modality";  // none | modality | prompt: how training images are drawn
  std::vector<std::string> splits{"train"};  // records used (empty = all; falls back to all when none match)
  bool hflip = false;          // random horizontal flips
};

struct SampleConfig {
  std::string sampler = "ddim";  // ddim | ddpm | dpmpp2m
  int steps = 50;
  double guidance = 4.0;
  double eta = 0.0;              // DDIM
  bool use_ema = true;
  int batch = 64;
  // Guidance rescale phi (Lin et al. 2024, eq. 15-16): the guided output's per-image std is pulled
  // back to the conditional output's, blended by phi in [0, 1]; 0 = plain classifier-free guidance.
  double guidance_rescale = 0.0;
  // Dynamic thresholding (Saharia et al. 2022): per image, s = max(1, quantile p of |x0|), x0 is
  // clamped to [-s, s] and divided by s; 0 = off (then clip_sample applies). Pixel space only.
  double dynamic_threshold = 0.0;
};

struct EngineConfig {
  std::string name = "engine";
  int image_size = 28;
  int channels = 3;
  AutoencoderConfig autoencoder;
  UNetConfig unet;
  TextConfig text;
  DiffusionConfig diffusion;
  TrainConfig train;
  SampleConfig sample;

  int latent_size() const { return image_size / autoencoder.factor; }
  int latent_channels() const { return autoencoder.factor == 1 ? channels : autoencoder.latent_channels; }
};

// `where` names the source in messages (a file path or "--config").
EngineConfig config_from_json(const nlohmann::json& j, const std::string& where);
EngineConfig load_config(const std::filesystem::path& path);  // InputError naming the file/field
nlohmann::json config_to_json(const EngineConfig& c);
// Structural checks (sizes divisible, groups divide channels, ...); InputError naming the field.
void validate_config(const EngineConfig& c, const std::string& where);

}  // namespace medsyn::engine

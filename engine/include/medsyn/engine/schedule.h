#pragma once
// Noise schedules, computed in float64 without LibTorch.
//   linear:        beta_t = linspace(beta_start, beta_end, T)
//   scaled_linear: beta_t = linspace(sqrt(beta_start), sqrt(beta_end), T)^2   (Stable Diffusion)
//   cosine:        alpha_bar(t) = f(t)/f(0), f(t) = cos^2(((t/T) + s)/(1 + s) * pi/2)  (Nichol & Dhariwal);
//                  beta_t = min(1 - f(t+1)/f(t), 0.999), so alpha_bar[t] = prod_{s<=t}(1-beta_s)
//                  equals f(t+1)/f(0) wherever the clip is inactive.
//   zero_terminal_snr (any schedule): sqrt(alpha_bar) shifted and scaled to end at exactly 0 with
//                  alpha_bar[0] unchanged (Lin et al. 2024); the last beta is then 1.
#include <string>
#include <vector>

#include "medsyn/engine/config.h"

namespace medsyn::engine {

struct NoiseSchedule {
  std::vector<double> betas;      // T
  std::vector<double> alphas_bar; // T, cumulative products of (1 - beta)
  int size() const { return static_cast<int>(betas.size()); }
};

NoiseSchedule make_schedule(const DiffusionConfig& c);

// Sampling timesteps: `steps` integers from T-1 down to 0, evenly spaced ("trailing" spacing, so
// the first step starts at the noisiest timestep). InputError when steps < 1 or > T.
std::vector<int> sampling_timesteps(int T, int steps);

}  // namespace medsyn::engine

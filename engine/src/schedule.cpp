#include <algorithm>
#include <cmath>

#include "medsyn/core/error.h"
#include "medsyn/core/option_error.h"
#include "medsyn/engine/schedule.h"

namespace medsyn::engine {

NoiseSchedule make_schedule(const DiffusionConfig& c) {
  const int T = c.timesteps;
  NoiseSchedule s;
  s.betas.resize(T);
  if (c.schedule == "linear" || c.schedule == "scaled_linear") {
    const bool scaled = c.schedule == "scaled_linear";
    const double a = scaled ? std::sqrt(c.beta_start) : c.beta_start;
    const double b = scaled ? std::sqrt(c.beta_end) : c.beta_end;
    for (int t = 0; t < T; ++t) {
      const double v = T == 1 ? a : a + (b - a) * t / (T - 1);
      s.betas[t] = scaled ? v * v : v;
    }
  } else if (c.schedule == "cosine") {
    const double pi = 3.14159265358979323846;
    auto f = [&](double t) {
      const double x = std::cos((t / T + c.cosine_s) / (1 + c.cosine_s) * pi / 2);
      return x * x;
    };
    for (int t = 0; t < T; ++t) s.betas[t] = std::min(1.0 - f(t + 1) / f(t), 0.999);
  } else {
    throw InputError("diffusion.schedule: unknown schedule '" + c.schedule + "' (linear, scaled_linear, cosine)");
  }
  s.alphas_bar.resize(T);
  double prod = 1.0;
  for (int t = 0; t < T; ++t) {
    prod *= 1.0 - s.betas[t];
    s.alphas_bar[t] = prod;
  }
  if (c.zero_terminal_snr) {
    // Lin et al. 2024, Algorithm 1: shift and scale sqrt(alpha_bar) so the last is 0 and the first
    // unchanged, then recover the betas from the ratios (the last beta becomes 1).
    const double a0 = std::sqrt(s.alphas_bar.front()), aT = std::sqrt(s.alphas_bar.back());
    if (a0 - aT <= 0) throw InputError("diffusion.zero_terminal_snr: the schedule's alpha_bar does not decrease");
    for (auto& ab : s.alphas_bar) {
      const double r = (std::sqrt(ab) - aT) * a0 / (a0 - aT);
      ab = r * r;
    }
    s.alphas_bar.back() = 0.0;  // exact, not a rounding residue
    for (int t = 0; t < T; ++t) s.betas[t] = 1.0 - (t == 0 ? s.alphas_bar[0] : s.alphas_bar[t] / s.alphas_bar[t - 1]);
  }
  return s;
}

std::vector<int> sampling_timesteps(int T, int steps) {
  if (steps < 1 || steps > T)
    throw OptionError("steps", std::to_string(steps) + ": must be in [1, " + std::to_string(T) + "] (the model's timesteps)");
  std::vector<int> ts(steps);
  for (int i = 0; i < steps; ++i) {
    // trailing spacing: T-1, ..., evenly to T/steps - 1
    const double v = static_cast<double>(T) * (steps - i) / steps - 1.0;
    ts[i] = std::clamp(static_cast<int>(std::llround(v)), 0, T - 1);
  }
  return ts;
}

}  // namespace medsyn::engine

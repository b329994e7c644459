// bench_engine: diffusion engine speed on CPU (or --device via MEDSYN_BENCH_DEVICE).
//   BM_TrainStep/32 and /64:  one optimisation step (text encoder + UNet forward, backward, AdamW)
//                             at 32x32 / 64x64, batch 32, the medmnist-cpu UNet (channels 32-64-64).
//   BM_Sample/32 and /64:     DPM-Solver++ 2M, 20 steps, guidance 3 (2 UNet passes per step),
//                             batch 32; items/s = images per second.
// The same model in PyTorch: scripts/bench/engine_pytorch.py (ratio reported in docs/engine.md).
#include <benchmark/benchmark.h>

#include <malloc.h>

#include <climits>
#include <cstdlib>

#include "medsyn/core/json.h"
#include "medsyn/engine/config.h"
#include "medsyn/torch/runtime.h"
#include "medsyn/torch/tensor.h"
#include "model.h"
#include "sampling.h"

using namespace medsyn;
using namespace medsyn::engine;
using namespace medsyn::engine::detail;

namespace {

// Same allocator settings as the medsynbench executable (cli/main.cpp): big tensors off mmap.
const bool kMallocTuned = [] {
  mallopt(M_MMAP_THRESHOLD, INT_MAX);
  mallopt(M_TRIM_THRESHOLD, INT_MAX);
  return true;
}();

EngineConfig bench_config(int size) {
  EngineConfig c;
  c.image_size = size;
  c.channels = 3;
  c.unet.channels = {32, 64, 64};
  c.unet.self_attention_resolutions = {size / 4};
  c.unet.cross_attention_resolutions = {size / 4, size / 2};
  c.text.max_tokens = 12;
  c.train.batch = 32;
  validate_config(c, "bench");
  return c;
}

torch::Device device() {
  const char* d = std::getenv("MEDSYN_BENCH_DEVICE");
  return parse_device(d ? d : "cpu");
}

void BM_TrainStep(benchmark::State& st) {
  init_torch_runtime();
  const int size = static_cast<int>(st.range(0));
  const auto c = bench_config(size);
  const auto dev = device();
  torch::manual_seed(0);
  DiffusionModel m(c, 16);
  m->to(dev);
  torch::optim::AdamW opt(m->parameters(), torch::optim::AdamWOptions(1e-4));
  auto x = torch::randn({32, 3, size, size}).to(dev);
  auto t = torch::randint(0, 1000, {32}).to(torch::kFloat32).to(dev);
  auto ids = torch::randint(3, 16, {32, 12}, torch::kInt64).to(dev);
  auto target = torch::randn_like(x);
  // One untimed step first: the first step allocates the optimizer state and the allocator's
  // working set (measured ~1.5x a warm step), which would otherwise weigh on the few timed ones.
  {
    opt.zero_grad();
    torch::mse_loss(m->forward(x, t, ids), target).backward();
    opt.step();
  }
  for (auto _ : st) {
    opt.zero_grad();
    auto loss = torch::mse_loss(m->forward(x, t, ids), target);
    loss.backward();
    opt.step();
    benchmark::DoNotOptimize(loss.item<float>());
  }
  st.SetItemsProcessed(st.iterations() * 32);
}

void BM_Sample(benchmark::State& st) {
  init_torch_runtime();
  const int size = static_cast<int>(st.range(0));
  const auto c = bench_config(size);
  const auto dev = device();
  torch::manual_seed(0);
  DiffusionModel m(c, 16);
  m->to(dev);
  m->eval();
  const auto sched = make_schedule(c.diffusion);
  auto ids = torch::cat({torch::randint(3, 16, {32, 12}, torch::kInt64), torch::full({32, 12}, 0, torch::kInt64)}).to(dev);
  {  // untimed warm-up pass (allocator working set), as in BM_TrainStep
    torch::NoGradGuard ng;
    m->unet(torch::randn({64, 3, size, size}).to(dev), torch::full({64}, 500.0f).to(dev), m->text(ids));
  }
  for (auto _ : st) {
    torch::NoGradGuard ng;
    auto text = m->text(ids);
    ModelFn fn = [&](const torch::Tensor& xt, int ts) {
      auto out = m->unet(torch::cat({xt, xt}), torch::full({64}, static_cast<float>(ts), xt.options()), text);
      auto p = out.chunk(2, 0);
      return p[1] + 3.0 * (p[0] - p[1]);
    };
    std::vector<torch::Generator> gens;
    for (int i = 0; i < 32; ++i) gens.push_back(cpu_generator(i));
    auto x = torch::randn({32, 3, size, size}).to(dev);
    auto out = run_sampler({"dpmpp2m", 20, 0.0, "eps", true}, sched, fn, x, gens);
    benchmark::DoNotOptimize(out.sum().item<float>());
  }
  st.SetItemsProcessed(st.iterations() * 32);
}

}  // namespace

// Repetitions: single runs on a 2-core machine vary by 10-20%; compare medians.
BENCHMARK(BM_TrainStep)->Arg(32)->Arg(64)->Unit(benchmark::kMillisecond)->MinTime(2.0)->Repetitions(5);
BENCHMARK(BM_Sample)->Arg(32)->Arg(64)->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK_MAIN();

#pragma once
// The diffusion engine's entry points: train, generate, cost. Plain structs only (no LibTorch in
// this header); the torch code lives in engine/src/model.cpp (networks), train.cpp (training,
// checkpoints, `engine cost` with timing) and sample.cpp (samplers, generation, FLOP accounting).
//
// Run directory layout (written by train, read by generate/cost/NativeGenerator):
//   RUN/config.json            resolved EngineConfig (after --steps/--batch/--seed overrides)
//   RUN/vocab.json             tokenizer vocabulary (from the training prompts)
//   RUN/prompts.json           prompt table: prompt -> modality, specialty, label, label_name, count
//   RUN/data.json              dataset dirs, their manifest hashes, images used per modality
//   RUN/autoencoder.pt         KL autoencoder (absent in pixel space, factor 1)
//   RUN/checkpoints/step-NNNNNNNN/{model.pt, ema.pt, optim.pt, state.json, train_log.jsonl}
//   RUN/latest.json            points at the newest complete checkpoint (written last, atomically)
//   RUN/train_log.jsonl        loss, lr and wall time per step up to the newest checkpoint
//   RUN/cost.json              compute accounting (params, FLOPs, measured s/step)
// A checkpoint folder is written under a temporary name and renamed when complete, then
// latest.json is replaced atomically: a killed run never leaves a checkpoint that looks complete.
// state.json records the size and sha256 of the other four files ("files"), so a checkpoint
// damaged later (a copy cut short, a full disk) is recognised and skipped (latest_checkpoint).
//
// Determinism: every random draw of training step k (batch indices, prompt dropout, timesteps,
// noise, flips) comes from a generator seeded with mix(seed, k), and sampling noise for output
// image i from mix(seed, i). Resuming from step k therefore replays exactly the draws an
// uninterrupted run makes; on CPU with the same thread count the final weights are bit-identical.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "medsyn/core/manifest.h"
#include "medsyn/engine/config.h"

namespace medsyn::engine {

struct TrainOptions {
  std::vector<std::filesystem::path> data;  // one or more dataset folders (merged)
  std::filesystem::path out;                // run directory
  std::vector<std::string> modalities;      // empty = all
  std::optional<std::filesystem::path> config_path;
  std::optional<int> steps, batch;
  std::optional<std::uint64_t> seed;
  bool resume = false;
  std::string device = "cpu";
};

struct TrainResult {
  int steps = 0;               // diffusion steps completed (total, including resumed ones)
  int resumed_from = 0;        // step loaded from a checkpoint (0 = fresh)
  double final_loss = 0;       // mean loss over the last min(50, steps) steps
  double seconds = 0;          // wall time of this invocation
  std::string weights_sha256;  // of the final (non-EMA and EMA) parameters, in order
  std::filesystem::path checkpoint;
};

TrainResult train(const TrainOptions& opt);

// One row of the prompt table saved with a checkpoint.
struct PromptInfo {
  std::string prompt, modality, specialty, label_name;
  std::optional<long> label;
  int source_channels = 1;  // channels of the training images (generated images are written so)
  long count = 0;           // training images with this prompt
};

class PromptTable {
 public:
  void add(const PromptInfo& p);
  // Exact prompt (case/whitespace-insensitive) first; else the modality whose prompts share the
  // text before the first comma (e.g. "chest x-ray" alone -> chest_xray, no label).
  std::optional<PromptInfo> lookup(const std::string& prompt) const;
  const std::vector<PromptInfo>& rows() const { return rows_; }
  nlohmann::json to_json() const;
  static PromptTable from_json(const nlohmann::json& j, const std::string& where);

 private:
  std::vector<PromptInfo> rows_;
};

PromptTable load_prompt_table(const std::filesystem::path& run_dir);
// Prompt matching key: lower case, runs of whitespace collapsed to one space, trimmed.
std::string normalise_prompt(const std::string& prompt);
EngineConfig load_run_config(const std::filesystem::path& run_dir);
// Why the checkpoint folder cannot be used, or "" when it is intact. Intact: state.json parses
// with an integer "step", and every file its "files" record lists (model.pt, ema.pt, optim.pt,
// train_log.jsonl) is a regular file with the recorded size ("bytes", checked first, so a
// truncated file costs no reading) and sha256. Checkpoints written before the record existed
// need those four files present and non-empty (a damaged one then fails when LibTorch loads it).
// No LibTorch.
std::string checkpoint_problem(const std::filesystem::path& checkpoint_dir);
// The checkpoint folder to use for run_dir: the one run_dir/latest.json names when it is intact.
// InputError naming latest.json when the field is missing or the path leaves the run folder
// (absolute, "..", NUL): a run folder must never make the tool read elsewhere. When the named
// checkpoint is damaged (checkpoint_problem, e.g. a truncated ema.pt), the newest intact earlier
// one (real folders run_dir/checkpoints/step-N with a smaller N) is returned with a warning naming
// the damaged folder and why; InputError naming run_dir when none is intact.
std::filesystem::path latest_checkpoint(const std::filesystem::path& run_dir);

struct GenerateOptions {
  std::filesystem::path checkpoint;    // run directory (uses latest.json) or a checkpoint folder
  std::vector<std::string> prompts;
  int n = 1;                           // images per prompt
  std::filesystem::path out;
  std::uint64_t seed = 0;
  std::optional<int> steps;
  std::optional<std::string> sampler;  // ddim | ddpm | dpmpp2m
  std::optional<double> guidance, eta;
  std::optional<int> batch;
  std::string device = "cpu";
};

// Writes OUT/images/NNNNNN.png, OUT/manifest.jsonl and OUT/generation.json; returns the dataset.
// Image k (global index over prompts x n) uses noise from mix(seed, k) and records that seed.
Dataset generate(const GenerateOptions& opt);

struct CostOptions {
  std::optional<std::filesystem::path> checkpoint;  // run dir
  std::optional<std::filesystem::path> config_path;
  bool measure = true;       // time training steps and sampling
  int measure_steps = 3;     // timed training steps (after one warm-up)
  std::string device = "cpu";
};

// {"params": {...}, "flops": {...}, "training": {...}, "measured": {...}}; see docs/engine.md.
nlohmann::json engine_cost(const CostOptions& opt);
// FLOPs and parameters only (no timing), counted by running one forward of each component
// with per-layer counters enabled.
nlohmann::json count_cost(const EngineConfig& c, int vocab_size);

}  // namespace medsyn::engine

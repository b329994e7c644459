#pragma once
// Generators behind one interface, for suites: the native engine (a training run directory) and
// an external command template. (A folder of pre-generated images needs no generator: the suite
// runner's generate stage selects its records by modality.)
//
// Contract: generate(prompts, n_per_prompt, seed, out_dir) fills out_dir with a dataset
// (images + manifest.jsonl) holding exactly n_per_prompt images for every prompt, in prompt
// order, each record carrying its `prompt` and, where known, modality/label. It returns the
// loaded dataset. out_dir must not already hold a manifest.jsonl (InputError), so results are
// never mixed with an older run.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "medsyn/core/manifest.h"
#include "medsyn/engine/engine.h"

namespace medsyn::engine {

class Generator {
 public:
  virtual ~Generator() = default;
  virtual std::string id() const = 0;  // e.g. "native:/runs/gen", "folder:/data/x", "command:..."
  virtual Dataset generate(const std::vector<std::string>& prompts, int n_per_prompt, std::uint64_t seed,
                           const std::filesystem::path& out_dir) = 0;
};

// Samples from a training run (see engine.h). `base` supplies sampler settings/device; its
// checkpoint, prompts, n, seed and out fields are ignored.
std::unique_ptr<Generator> make_native_generator(const std::filesystem::path& run_dir, GenerateOptions base = {});

// Runs `command_template` through /bin/sh once per prompt, with {prompt} {seed} {n} {out}
// replaced by single-quoted values (do not quote them yourself); {out} is a fresh folder
// OUT/pNNN. The seed passed for prompt p is stats::derive_seed(seed, p). Afterwards the folder must be a
// dataset (manifest.jsonl with >= n records) or hold >= n raster images (a manifest is then
// written, with the prompt and, via `prompts` when given, modality/label; modality "unknown"
// otherwise). A non-zero exit status is an InputError quoting the command and its status.
std::unique_ptr<Generator> make_command_generator(const std::string& command_template,
                                                  std::optional<PromptTable> prompts = std::nullopt);

// Replaces {prompt} {seed} {n} {out} with shell-quoted values (exposed for tests).
std::string expand_command_template(const std::string& tmpl, const std::string& prompt, std::uint64_t seed, int n,
                                    const std::filesystem::path& out);
std::string sh_quote(const std::string& s);

}  // namespace medsyn::engine

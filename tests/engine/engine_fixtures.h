#pragma once
// Small synthetic datasets and a tiny engine config for fast engine specs.
#include <filesystem>
#include <string>

namespace medsyn::test {

// Two modalities of 8x8 gray images ("alpha": bright top half, "beta": bright bottom half, with
// noise), `per_modality` images each, prompts "alpha scan, big|small" / "beta scan, big|small",
// split "train". Writes DIR/images/*.png and DIR/manifest.jsonl.
void write_toy_dataset(const std::filesystem::path& dir, int per_modality = 12);

// A tiny engine.json (8x8 pixel space, 2-level UNet with attention at 4x4) as text.
std::string tiny_config_json(int steps = 6, int checkpoint_every = 2, const std::string& extra_train = "");

}  // namespace medsyn::test

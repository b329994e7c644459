// Stage train: engine::train for every model with source "train" (resumable: a killed unit
// continues from its newest checkpoint when the run is resumed).
#include "medsyn/core/hashing.h"
#include "medsyn/engine/engine.h"
#include "../run_context.h"

namespace fs = std::filesystem;

namespace medsyn::suites {

ojson compute_train(const UnitDescription& d, RunContext& c, const fs::path& w) {
  engine::TrainOptions o;
  for (const auto& dir : d.locations.at("data")) o.data.push_back(c.resolve(dir));
  o.out = w;
  if (!d.spec["steps"].is_null()) o.steps = d.spec["steps"].get<int>();
  // A checkpoint left in the partial unit (kept only when resuming) continues with the stored
  // configuration (same config, batch and seed: they are part of this unit's key).
  o.resume = true;
  if (!fs::exists(w / "latest.json")) {
    if (!d.locations.at("config").is_null()) o.config_path = c.resolve(d.locations.at("config"));
    if (!d.spec["batch"].is_null()) o.batch = d.spec["batch"].get<int>();
    o.seed = d.spec["seed"].get<std::uint64_t>();
  }
  o.device = c.device;
  const auto r = engine::train(o);
  return ojson{{"steps", r.steps}, {"resumed_from", r.resumed_from}, {"final_loss", r.final_loss},
               {"seconds", r.seconds}, {"weights_sha256", r.weights_sha256}};
}

void plan_train(RunContext& c) {
  std::vector<const ModelSpec*> todo;
  for (const auto& m : c.suite.models)
    if (m.source == "train") todo.push_back(&m);
  if (todo.empty()) return;
  Progress prog("stage train", static_cast<std::int64_t>(todo.size()), "models");
  for (const ModelSpec* m : todo) {
    ojson data = ojson::array(), dirs = ojson::array();
    for (const auto& mod : m->modalities) {
      data.push_back({{"modality", mod}, {"manifest", c.real.at(mod).real_hash}});
      dirs.push_back(c.location(c.real.at(mod).real_dir));
    }
    const std::uint64_t seed = m->seed ? *m->seed : c.seed_for("train:" + m->name);
    const ojson spec = {{"config", m->path.empty() ? std::string("default") : sha256_file(m->path)},
                        {"steps", m->steps ? ojson(*m->steps) : ojson(nullptr)},
                        {"batch", m->batch ? ojson(*m->batch) : ojson(nullptr)},
                        {"seed", seed}};
    const ojson locations = {{"data", dirs}, {"config", m->path.empty() ? ojson(nullptr) : ojson(c.location(m->path))}};
    c.trained[m->name] = c.run(make_unit("train", m->name, spec, {{"data", data}, {"device", c.device}}, locations,
                                         /*resumable=*/true));
    prog.advance();
  }
}

}  // namespace medsyn::suites

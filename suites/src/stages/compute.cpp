// Stage compute: engine cost accounting (params, FLOPs, measured time) of every engine model.
#include "medsyn/core/hashing.h"
#include "medsyn/core/json.h"
#include "medsyn/engine/engine.h"
#include "../run_context.h"

namespace fs = std::filesystem;

namespace medsyn::suites {

ojson compute_compute(const UnitDescription& d, RunContext& c, const fs::path& w) {
  engine::CostOptions o = to_options(compute_spec_from_json(json::parse(d.spec.dump()), d.id() + " spec"));
  o.checkpoint = c.resolve(d.locations.at("run"));
  o.device = c.device;
  write_json_file(w / "cost.json", engine::engine_cost(o));
  return ojson{{"ok", true}};
}

void plan_compute(RunContext& c) {
  const ojson spec = unit_spec_json(*c.suite.evaluations.compute, "compute");
  Progress prog("stage compute", static_cast<std::int64_t>(c.suite.models.size()), "models");
  for (const auto& m : c.suite.models) {
    if (m.source == "train" || m.source == "native") {  // other sources have no known training cost
      const bool trained = m.source == "train";
      const ojson in = {{"run", trained ? c.trained.at(m.name).key : sha256_file(m.path / "latest.json")}, {"device", c.device}};
      const fs::path run = trained ? c.trained.at(m.name).dir : m.path;
      c.compute[m.name] = c.run(make_unit("compute", m.name, spec, in, {{"run", c.location(run)}}));
    }
    prog.advance();
  }
}

}  // namespace medsyn::suites

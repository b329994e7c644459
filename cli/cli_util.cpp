#include <iomanip>
#include <iostream>
#include <sstream>

#include "commands.h"
#include "medsyn/core/estimate.h"
#include "medsyn/core/json.h"

namespace medsyn::cli {

namespace {
int g_exit_code = 0;
}

void set_exit_code(int code) { g_exit_code = code; }
int exit_code() { return g_exit_code; }

void print_json(const nlohmann::json& j) { std::cout << j.dump(2) << std::endl; }

std::string format_estimate(const Estimate& e, int precision) {
  std::ostringstream os;
  if (!e.has_value()) {
    os << "null" << (e.note.empty() ? "" : " (" + e.note + ")");
    return os.str();
  }
  os << std::fixed << std::setprecision(precision) << e.value;
  if (e.has_ci()) os << " [" << e.ci_low << ", " << e.ci_high << "] (" << std::defaultfloat << 100 * e.ci_level << "% CI)";
  return os.str();
}

CLI::Option* add_device_option(CLI::App* cmd, std::string& device) {
  device = "cpu";
  return cmd->add_option("--device", device, "Compute device: cpu | cuda | cuda:N")
      ->capture_default_str();
}

}  // namespace medsyn::cli

namespace medsyn::cli {
CLI::App* group(CLI::App& root, const std::string& name, const std::string& description) {
  for (auto* sub : root.get_subcommands([](CLI::App*) { return true; }))
    if (sub->get_name() == name) return sub;
  auto* g = root.add_subcommand(name, description);
  g->require_subcommand(1);
  return g;
}
}  // namespace medsyn::cli

// Commands of the metrics module. Registration only; the work lives in the metrics library.
#include "commands.h"

namespace medsyn::cli {

void register_metrics_commands(CLI::App& root) { (void)root; }

}  // namespace medsyn::cli

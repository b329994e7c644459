// `medsynbench features extract` and `metrics fidelity`.
#include "commands.h"

namespace medsyn::cli {

void register_features_commands(CLI::App& root) { (void)root; }

}  // namespace medsyn::cli

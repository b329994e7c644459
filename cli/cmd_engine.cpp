// Commands of the engine module. Registration only; the work lives in the engine library.
#include "commands.h"

namespace medsyn::cli {

void register_engine_commands(CLI::App& root) { (void)root; }

}  // namespace medsyn::cli

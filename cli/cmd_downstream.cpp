// Commands of the downstream module. Registration only; the work lives in the downstream library.
#include "commands.h"

namespace medsyn::cli {

void register_downstream_commands(CLI::App& root) { (void)root; }

}  // namespace medsyn::cli

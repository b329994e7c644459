// Commands of the memorization module. Registration only; the work lives in the memorization library.
#include "commands.h"

namespace medsyn::cli {

void register_memorization_commands(CLI::App& root) { (void)root; }

}  // namespace medsyn::cli

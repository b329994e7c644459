// Commands of the suites module. Registration only; the work lives in the suites library.
#include "commands.h"

namespace medsyn::cli {

void register_suite_commands(CLI::App& root) { (void)root; }

}  // namespace medsyn::cli

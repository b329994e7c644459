#pragma once
// Commands that always need LibTorch (train, generate, engine cost, memorization, downstream,
// run) are registered in both executables with the same options and help, so `medsynbench X
// --help` needs no LibTorch. In the torch-free `medsynbench` (built with MEDSYN_CLI_LITE) their
// bodies are not even compiled: running one throws NeedsTorch, and main() runs the same command
// line in medsynbench-torch (docs/architecture.md "Two executables").
// `args` is the shared_ptr that holds the variables the command's options write to: the callback
// keeps it alive in both builds (the options point into it).
#include "medsyn/core/torch_bridge.h"

#ifdef MEDSYN_CLI_LITE
#define MEDSYN_TORCH_CALLBACK(command, args, ...)                     \
  (command)->callback([name = (command)->get_name(), keep = (args)] { \
    (void)keep;                                                       \
    throw ::medsyn::NeedsTorch("`" + name + "`");                     \
  })
#else
#define MEDSYN_TORCH_CALLBACK(command, args, ...) (command)->callback(__VA_ARGS__)
#endif

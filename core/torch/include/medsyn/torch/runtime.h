#pragma once
// LibTorch runtime set-up, shared by every torch-using module. This header does not include
// <torch/torch.h>; torch types live in tensor.h.
#include <string>

#include "medsyn/core/torch_bridge.h"  // validate_device: LibTorch's check is installed behind it

namespace medsyn {

// Threads for intra-op parallelism: num_threads when > 0; else the environment variable
// MEDSYN_THREADS when set (a positive integer, else InputError naming it); else all cores (the
// default LibTorch picks is 1 in some builds). On a CPU shared with other jobs, 1 thread can be far
// faster than 2 busy-waiting OpenMP threads (docs/engine.md "Threads").
// Also keeps big allocations off mmap (a 2-4x speed-up on CPU training steps).
void init_torch_runtime(int num_threads = 0);

// The intra-op thread count the last init_torch_runtime call set (0 before any call). Recorded
// with each suite unit: floating-point results of parallel reductions (BLAS, training) can differ
// in the last bits between thread counts.
int torch_runtime_threads();

// MEDSYN_THREADS as a thread count (0 when unset); throws InputError when it is not a positive integer.
int torch_threads_from_environment();

std::string torch_version_string();

}  // namespace medsyn

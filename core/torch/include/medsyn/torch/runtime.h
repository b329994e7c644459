#pragma once
// LibTorch runtime set-up, shared by every torch-using module. This header does not include
// <torch/torch.h>; torch types live in tensor.h.
#include <string>

namespace medsyn {

// Threads for intra-op parallelism (0 = all cores, the default LibTorch picks 1 in some builds),
// and keeps big allocations off mmap (a 2-4x speed-up on CPU training steps).
void init_torch_runtime(int num_threads = 0);

// Validates a --device string ("cpu", "cuda", "cuda:N"); throws InputError if it is malformed or
// the device is not available in this build/machine. Returns the canonical spelling.
std::string validate_device(const std::string& spec);

std::string torch_version_string();

}  // namespace medsyn

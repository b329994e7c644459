#pragma once
// The seam between the torch-free libraries and LibTorch (docs/architecture.md "Two executables").
//
// `medsynbench` links no LibTorch so that the commands most often called in loops (metrics on
// features, stats, report, compare, suite validate, data info) start in milliseconds. Some of its
// code paths reach LibTorch only for some inputs (a TorchScript extractor, --device cuda). Those
// ask through this header: where LibTorch is linked (medsynbench-torch, tests, the Python module's
// torch part), medsyn_torch installs the real implementation at start-up; where it is not, the
// call throws NeedsTorch, and the torch-free executable answers that by running the same command
// line in medsynbench-torch. Code throws NeedsTorch before it writes anything.
#include <stdexcept>
#include <string>

namespace medsyn {

class NeedsTorch : public std::runtime_error {
 public:
  explicit NeedsTorch(const std::string& what_needs_it)
      : std::runtime_error(what_needs_it + " needs LibTorch") {}
};

// Canonical device spelling ("cpu", "cuda:0"). OptionError("device", ...) when malformed or, with
// LibTorch, when the device is not available. Without LibTorch "cpu" is answered here and any
// well-formed CUDA device throws NeedsTorch.
std::string validate_device(const std::string& spec);

// The syntax of a device spec, checked without LibTorch: -1 for "cpu", else the CUDA index
// ("cuda" = 0). OptionError("device", ...) when malformed. validate_device and LibTorch's
// parse_device both start here, so they agree on what is well-formed.
int parse_device_index(const std::string& spec);

// Whether the LibTorch runtime (medsyn_torch) is linked into this process.
bool torch_available();

// Called once by medsyn_torch at start-up (a static initialiser in torch_runtime.cpp).
using DeviceValidator = std::string (*)(const std::string& spec);
void install_device_validator(DeviceValidator validator);

}  // namespace medsyn

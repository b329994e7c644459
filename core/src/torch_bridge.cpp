#include "medsyn/core/torch_bridge.h"

#include <regex>

#include "medsyn/core/option_error.h"

namespace medsyn {

namespace {
// Constant-initialised, so it is null before any static initialiser runs and set by the one in
// torch_runtime.cpp regardless of initialisation order.
DeviceValidator g_device_validator = nullptr;
}  // namespace

void install_device_validator(DeviceValidator validator) { g_device_validator = validator; }

bool torch_available() { return g_device_validator != nullptr; }

std::string validate_device(const std::string& spec) {
  if (g_device_validator) return g_device_validator(spec);
  // The same syntax check as LibTorch's path, so a typo is reported here without starting LibTorch.
  static const std::regex re(R"(^(cpu|cuda)(:(\d+))?$)");
  std::smatch m;
  if (!std::regex_match(spec, m, re)) throw OptionError("device", "'" + spec + "': expected cpu, cuda or cuda:N");
  if (m[1] == "cpu") return "cpu";
  throw NeedsTorch("--device " + spec);
}

}  // namespace medsyn

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

int parse_device_index(const std::string& spec) {
  static const std::regex re(R"(^(cpu|cuda)(:(\d+))?$)");
  std::smatch m;
  if (!std::regex_match(spec, m, re)) throw OptionError("device", "'" + spec + "': expected cpu, cuda or cuda:N");
  if (m[1] == "cpu") return -1;
  if (!m[3].matched) return 0;
  if (m[3].length() > 4) throw OptionError("device", "'" + spec + "': CUDA device index out of range");
  return std::stoi(m[3]);
}

std::string validate_device(const std::string& spec) {
  if (g_device_validator) return g_device_validator(spec);
  // A typo is reported here, without starting LibTorch; a CUDA device is LibTorch's to check.
  if (parse_device_index(spec) < 0) return "cpu";
  throw NeedsTorch("--device " + spec);
}

}  // namespace medsyn

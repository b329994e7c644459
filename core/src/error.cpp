#include "medsyn/core/error.h"

namespace medsyn {

std::string at_file(const std::string& file, const std::string& message) { return file + ": " + message; }

std::string at_line(const std::string& file, long line, const std::string& message) {
  return file + ":" + std::to_string(line) + ": " + message;
}

}  // namespace medsyn

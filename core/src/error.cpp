#include "medsyn/core/error.h"

#include <utility>

#include "medsyn/core/option_error.h"

namespace medsyn {

std::string at_file(const std::string& file, const std::string& message) { return file + ": " + message; }

std::string at_line(const std::string& file, long line, const std::string& message) {
  return file + ":" + std::to_string(line) + ": " + message;
}

OptionError::OptionError(std::string field, std::string problem)
    : InputError(field + ": " + problem), field_(std::move(field)), problem_(std::move(problem)) {}

std::string flag_name(const std::string& field) {
  std::string flag = "--" + field;
  for (char& c : flag)
    if (c == '_') c = '-';
  return flag;
}

std::string flag_message(const OptionError& e) { return flag_name(e.field()) + ": " + e.problem(); }

}  // namespace medsyn

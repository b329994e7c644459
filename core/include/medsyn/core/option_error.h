#pragma once
// An error about one option's value, named by the option's field, never by a CLI flag.
//
// The same option reaches a library from the CLI (a flag) and from a suite file (a JSON path), so a
// library cannot know how the user spelled it. It throws OptionError(field, problem): what() is
// "field: problem" (e.g. "png_bits: expected 8 or 16, got 3"). The CLI prints the flag instead
// ("--png-bits: expected 8 or 16, got 3": flag_message, cli/main.cpp); the suite runner may put the
// value's JSON path in front. Field names are the snake_case twins of the flags (png_bits <->
// --png-bits). Other options mentioned inside `problem` are named the same way, as plain words.
#include <string>

#include "medsyn/core/error.h"

namespace medsyn {

class OptionError : public InputError {
 public:
  OptionError(std::string field, std::string problem);
  const std::string& field() const { return field_; }
  const std::string& problem() const { return problem_; }

 private:
  std::string field_;
  std::string problem_;
};

std::string flag_name(const std::string& field);  // "png_bits" -> "--png-bits"
std::string flag_message(const OptionError& e);    // "--png-bits: expected 8 or 16, got 3"

}  // namespace medsyn

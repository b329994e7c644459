#pragma once
// Errors and exit codes shared by every MedSynBench command.
//
// Convention (the CLI maps exceptions to exit codes in one place, cli/main.cpp):
//   exit 0  success
//   exit 1  CheckFailed: a check, comparison or gate failed (the inputs were fine)
//   exit 2  InputError: bad usage or bad input. The message names the file (and line or field)
//           and says what is wrong, e.g. "manifest.jsonl:12: field 'path' is missing".
//   exit 3  anything else (a bug or an environment failure)
#include <stdexcept>
#include <string>

namespace medsyn {

enum class ExitCode : int { ok = 0, check_failed = 1, bad_input = 2, internal = 3 };

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Bad usage or bad input data. Always say which file/field and what is wrong.
class InputError : public Error {
 public:
  using Error::Error;
};

// A check, comparison or regression gate failed.
class CheckFailed : public Error {
 public:
  using Error::Error;
};

// Helper to build "FILE: message" and "FILE:LINE: message" texts consistently.
std::string at_file(const std::string& file, const std::string& message);
std::string at_line(const std::string& file, long line, const std::string& message);

}  // namespace medsyn

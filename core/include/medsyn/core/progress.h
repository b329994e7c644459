#pragma once
// Progress on stderr. On a terminal: a bar with count, rate and ETA, redrawn in place.
// Not a terminal (CI logs): one line every few seconds (and at the end), so logs stay readable.
// MEDSYN_QUIET=1 silences it.
#include <chrono>
#include <cstdint>
#include <string>

namespace medsyn {

class Progress {
 public:
  Progress(std::string label, std::int64_t total, std::string unit = "items");
  ~Progress();  // finishes the line
  void advance(std::int64_t n = 1);
  void set(std::int64_t done);
  void finish();

 private:
  void draw(bool force);
  std::string label_, unit_;
  std::int64_t total_, done_ = 0;
  bool tty_, quiet_, finished_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

// Log line on stderr: "[medsynbench] message". Silenced by MEDSYN_QUIET=1 only for info.
void log_info(const std::string& msg);
void log_warn(const std::string& msg);

}  // namespace medsyn

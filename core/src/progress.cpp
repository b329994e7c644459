#include "medsyn/core/progress.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

namespace medsyn {

namespace {
bool quiet_env() {
  const char* q = std::getenv("MEDSYN_QUIET");
  return q && *q && std::string(q) != "0";
}
std::string fmt_secs(double s) {
  char b[32];
  if (s < 60) std::snprintf(b, sizeof b, "%.0fs", s);
  else if (s < 3600) std::snprintf(b, sizeof b, "%dm%02ds", int(s) / 60, int(s) % 60);
  else std::snprintf(b, sizeof b, "%dh%02dm", int(s) / 3600, (int(s) % 3600) / 60);
  return b;
}
}  // namespace

Progress::Progress(std::string label, std::int64_t total, std::string unit)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total), tty_(::isatty(2)), quiet_(quiet_env()),
      start_(std::chrono::steady_clock::now()), last_draw_(start_) {}

Progress::~Progress() { finish(); }

void Progress::advance(std::int64_t n) {
  done_ += n;
  draw(false);
}
void Progress::set(std::int64_t done) {
  done_ = done;
  draw(false);
}
void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  draw(true);
  if (!quiet_ && tty_) std::cerr << "\n";
}

void Progress::draw(bool force) {
  if (quiet_) return;
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_draw_).count();
  if (!force && since < (tty_ ? 0.1 : 5.0)) return;
  last_draw_ = now;
  const double el = std::chrono::duration<double>(now - start_).count();
  const double rate = el > 0 ? done_ / el : 0.0;
  char line[256];
  std::string eta = (rate > 0 && total_ > 0) ? fmt_secs((total_ - done_) / rate) : "?";
  if (tty_) {
    const int width = 24;
    const int filled = total_ > 0 ? static_cast<int>(width * std::min<double>(1.0, double(done_) / total_)) : 0;
    std::string bar(filled, '#');
    bar.resize(width, '.');
    std::snprintf(line, sizeof line, "\r%s [%s] %lld/%lld %s  %.1f %s/s  ETA %s   ", label_.c_str(), bar.c_str(),
                  (long long)done_, (long long)total_, unit_.c_str(), rate, unit_.c_str(), eta.c_str());
    std::cerr << line << std::flush;
  } else {
    std::snprintf(line, sizeof line, "[medsynbench] %s: %lld/%lld %s (%.1f %s/s, elapsed %s, ETA %s)", label_.c_str(),
                  (long long)done_, (long long)total_, unit_.c_str(), rate, unit_.c_str(), fmt_secs(el).c_str(),
                  eta.c_str());
    std::cerr << line << std::endl;
  }
}

void log_info(const std::string& msg) {
  if (!quiet_env()) std::cerr << "[medsynbench] " << msg << std::endl;
}
void log_warn(const std::string& msg) { std::cerr << "[medsynbench] warning: " << msg << std::endl; }

}  // namespace medsyn

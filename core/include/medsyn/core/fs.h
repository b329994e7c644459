#pragma once
// File-system helpers. Every write in MedSynBench goes through atomic_write_*:
// the bytes go to "<path>.tmp.<pid>.<n>" in the same folder, are flushed, then renamed over
// `path`, so readers and resumed runs never see a half-written file.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace medsyn {

void atomic_write_bytes(const std::filesystem::path& path, const void* data, std::size_t size);
void atomic_write_text(const std::filesystem::path& path, const std::string& text);
inline void atomic_write_bytes(const std::filesystem::path& path, const std::vector<std::uint8_t>& b) {
  atomic_write_bytes(path, b.data(), b.size());
}

// Whole-file reads. InputError if missing, unreadable, or not a regular file: a FIFO, a device
// (/dev/zero, also through a symbolic link) or a socket is refused before any byte is read, so
// no read can block forever or never end.
std::vector<std::uint8_t> read_file_bytes(const std::filesystem::path& path);
std::string read_file_text(const std::filesystem::path& path);

// Opens `path` read-only after checking (on the open descriptor) that it is a regular file;
// returns the descriptor (the caller closes it). `what` names the purpose in messages
// ("reading", "hashing"). O_NONBLOCK on the open, so a FIFO cannot block the open itself.
int open_regular_file(const std::filesystem::path& path, const char* what = "reading");

// Bytes available to an unprivileged writer on the file system holding `dir` (or its nearest
// existing parent). Returns UINT64_MAX when it cannot be determined.
std::uint64_t free_disk_bytes(const std::filesystem::path& dir);
// InputError naming `dir` when fewer than `needed` bytes are free ("<what> needs about N MB, ...").
void require_free_space(const std::filesystem::path& dir, std::uint64_t needed, const std::string& what);

// All-or-nothing output folder. The work is written into the sibling "<final>.partial" (a stale
// one left by a killed run is removed first); commit() moves it to `final` in one rename,
// replacing an existing `final` whole (no stale files survive). Destroyed without commit(), the
// partial folder is removed, so a failure leaves nothing behind (and no "*.tmp.*" files).
// Deciding whether `final` may be replaced is the caller's business (see manifest.h).
class StagedDir {
 public:
  explicit StagedDir(std::filesystem::path final_dir);
  ~StagedDir();
  StagedDir(const StagedDir&) = delete;
  StagedDir& operator=(const StagedDir&) = delete;
  const std::filesystem::path& path() const { return partial_; }
  void commit();

 private:
  std::filesystem::path final_, partial_;
  bool committed_ = false;
};

// a * b and a + b, or InputError("<what>: ... overflows") when the result does not fit in 64 bits.
// For sizes computed from file headers, before anything is allocated.
std::uint64_t checked_mul(std::uint64_t a, std::uint64_t b, const std::string& what);
std::uint64_t checked_add(std::uint64_t a, std::uint64_t b, const std::string& what);

// A temporary path next to `path` for tools that must write a file themselves then rename it.
std::filesystem::path temp_path_for(const std::filesystem::path& path);

// Creates the folder (and parents); InputError naming it on failure.
void ensure_dir(const std::filesystem::path& dir);

// True if `rel` is a relative path that stays inside its base folder (no "..", not absolute,
// no NUL byte).
bool is_safe_relative_path(const std::string& rel);

}  // namespace medsyn

#include "medsyn/core/fs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <cstdint>
#include <limits>

#include "medsyn/core/error.h"

namespace fs = std::filesystem;

namespace medsyn {

fs::path temp_path_for(const fs::path& path) {
  static std::atomic<unsigned> counter{0};
  return fs::path(path.string() + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++));
}

void ensure_dir(const fs::path& dir) {
  std::error_code ec;
  if (dir.empty()) return;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir))
    throw InputError(at_file(dir.string(), "cannot create folder (" + ec.message() + ")"));
}

void atomic_write_bytes(const fs::path& path, const void* data, std::size_t size) {
  if (path.has_parent_path()) ensure_dir(path.parent_path());
  const fs::path tmp = temp_path_for(path);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw InputError(at_file(path.string(), std::string("cannot write: ") + std::strerror(errno)));
  const char* p = static_cast<const char*>(data);
  std::size_t left = size;
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      const std::string why = std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      throw InputError(at_file(path.string(), "write failed: " + why));
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  // No fsync: the temp-file + rename protocol already guarantees that a killed process (kill -9,
  // Ctrl-C, OOM) never leaves a half-written file, which is what resume relies on. fsync per file
  // would add milliseconds per image (a MedMNIST import writes thousands) and only helps against
  // power loss.
  if (::close(fd) != 0) {  // delayed write errors (full disk, quota) surface here
    const std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    throw InputError(at_file(path.string(), "write failed: " + why));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    throw InputError(at_file(path.string(), "cannot rename temporary file into place: " + why));
  }
}

void atomic_write_text(const fs::path& path, const std::string& text) {
  atomic_write_bytes(path, text.data(), text.size());
}

namespace {

const char* file_kind(mode_t m) {
  if (S_ISFIFO(m)) return "a FIFO (named pipe)";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISSOCK(m)) return "a socket";
  if (S_ISDIR(m)) return "a folder";
  return "not a regular file";
}

}  // namespace

int open_regular_file(const fs::path& path, const char* what) {
  const std::string name = path.string();
  if (name.find('\0') != std::string::npos)
    throw InputError(at_file(name, "the path contains a NUL byte"));
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    const int e = errno;
    if (e == ENOENT) throw InputError(at_file(name, "file does not exist"));
    if (e == ELOOP) throw InputError(at_file(name, "symbolic link loop"));
    throw InputError(at_file(name, std::string("cannot open for ") + what + ": " + std::strerror(e)));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    const mode_t m = st.st_mode;
    ::close(fd);
    if (S_ISDIR(m)) throw InputError(at_file(name, "is a folder, expected a file"));
    throw InputError(at_file(name, std::string("is ") + file_kind(m) + ", not a regular file; refusing to read it"));
  }
  // Back to blocking reads (only regular files get here, for which O_NONBLOCK is meaningless).
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  return fd;
}

std::vector<std::uint8_t> read_file_bytes(const fs::path& path) {
  const int fd = open_regular_file(path, "reading");
  struct stat st {};
  ::fstat(fd, &st);
  std::vector<std::uint8_t> bytes;
  bytes.reserve(static_cast<std::size_t>(st.st_size));
  std::uint8_t buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      const std::string why = std::strerror(errno);
      ::close(fd);
      throw InputError(at_file(path.string(), "read failed: " + why));
    }
    if (n == 0) break;
    bytes.insert(bytes.end(), buf, buf + n);
  }
  ::close(fd);
  return bytes;
}

std::uint64_t free_disk_bytes(const fs::path& dir_in) {
  fs::path dir = dir_in.empty() ? fs::path(".") : dir_in;
  std::error_code ec;
  while (!fs::exists(dir, ec) && dir.has_parent_path() && dir.parent_path() != dir) dir = dir.parent_path();
  struct statvfs v {};
  if (::statvfs(dir.c_str(), &v) != 0) return std::numeric_limits<std::uint64_t>::max();
  return static_cast<std::uint64_t>(v.f_bavail) * static_cast<std::uint64_t>(v.f_frsize);
}

void require_free_space(const fs::path& dir, std::uint64_t needed, const std::string& what) {
  const std::uint64_t free = free_disk_bytes(dir);
  if (free >= needed) return;
  auto mb = [](std::uint64_t b) { return std::to_string((b + (1u << 20) - 1) >> 20) + " MB"; };
  throw InputError(at_file(dir.string(), what + " needs about " + mb(needed) + " of disk space, only " + mb(free) +
                                             " are free there"));
}

StagedDir::StagedDir(fs::path final_dir) {
  // "out/", "./out" and "." all name a folder whose sibling must hold the partial copy.
  fs::path f = fs::absolute(final_dir).lexically_normal();
  if (f.filename().empty()) f = f.parent_path();
  final_ = f;
  partial_ = fs::path(f.string() + ".partial");
  std::error_code ec;
  fs::remove_all(partial_, ec);  // left by a killed run
  ensure_dir(partial_);
}

StagedDir::~StagedDir() {
  if (committed_) return;
  std::error_code ec;
  fs::remove_all(partial_, ec);
}

void StagedDir::commit() {
  std::error_code ec;
  fs::path old;
  if (fs::exists(fs::symlink_status(final_, ec))) {
    // Move the old folder aside first: rename() cannot replace a non-empty folder, and the new
    // one must never be mixed with it.
    old = fs::path(final_.string() + ".old." + std::to_string(::getpid()));
    fs::remove_all(old, ec);
    if (::rename(final_.c_str(), old.c_str()) != 0)
      throw InputError(at_file(final_.string(), std::string("cannot move the old folder aside: ") + std::strerror(errno)));
  }
  if (::rename(partial_.c_str(), final_.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    if (!old.empty()) ::rename(old.c_str(), final_.c_str());
    throw InputError(at_file(final_.string(), "cannot move the finished folder into place: " + why));
  }
  committed_ = true;
  if (!old.empty()) fs::remove_all(old, ec);
}

std::uint64_t checked_mul(std::uint64_t a, std::uint64_t b, const std::string& what) {
  std::uint64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r))
    throw InputError(what + ": " + std::to_string(a) + " x " + std::to_string(b) + " overflows 64 bits");
  return r;
}

std::uint64_t checked_add(std::uint64_t a, std::uint64_t b, const std::string& what) {
  std::uint64_t r = 0;
  if (__builtin_add_overflow(a, b, &r))
    throw InputError(what + ": " + std::to_string(a) + " + " + std::to_string(b) + " overflows 64 bits");
  return r;
}

std::string read_file_text(const fs::path& path) {
  auto b = read_file_bytes(path);
  return std::string(b.begin(), b.end());
}

bool is_safe_relative_path(const std::string& rel) {
  if (rel.empty() || rel.find('\0') != std::string::npos) return false;
  fs::path p(rel);
  if (p.is_absolute() || rel[0] == '/' || rel[0] == '\\') return false;
  for (const auto& part : p) {
    if (part == "..") return false;
  }
  return true;
}

}  // namespace medsyn

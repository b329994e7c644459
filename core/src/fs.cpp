#include "medsyn/core/fs.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

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
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    throw InputError(at_file(path.string(), "cannot rename temporary file into place: " + why));
  }
}

void atomic_write_text(const fs::path& path, const std::string& text) {
  atomic_write_bytes(path, text.data(), text.size());
}

std::vector<std::uint8_t> read_file_bytes(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw InputError(at_file(path.string(), "file does not exist"));
  if (fs::is_directory(path, ec)) throw InputError(at_file(path.string(), "is a folder, expected a file"));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(at_file(path.string(), "cannot open for reading"));
  in.seekg(0, std::ios::end);
  const auto size = static_cast<std::size_t>(in.tellg());
  in.seekg(0);
  std::vector<std::uint8_t> bytes(size);
  if (size && !in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size)))
    throw InputError(at_file(path.string(), "read failed"));
  return bytes;
}

std::string read_file_text(const fs::path& path) {
  auto b = read_file_bytes(path);
  return std::string(b.begin(), b.end());
}

bool is_safe_relative_path(const std::string& rel) {
  if (rel.empty()) return false;
  fs::path p(rel);
  if (p.is_absolute() || rel[0] == '/' || rel[0] == '\\') return false;
  for (const auto& part : p) {
    if (part == "..") return false;
  }
  return true;
}

}  // namespace medsyn

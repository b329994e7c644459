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

std::vector<std::uint8_t> read_file_bytes(const std::filesystem::path& path);  // InputError if unreadable
std::string read_file_text(const std::filesystem::path& path);

// A temporary path next to `path` for tools that must write a file themselves then rename it.
std::filesystem::path temp_path_for(const std::filesystem::path& path);

// Creates the folder (and parents); InputError naming it on failure.
void ensure_dir(const std::filesystem::path& dir);

// True if `rel` is a relative path that stays inside its base folder (no "..", not absolute).
bool is_safe_relative_path(const std::string& rel);

}  // namespace medsyn

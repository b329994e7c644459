#pragma once
// JSON helpers on top of nlohmann/json: reading files with errors that name the file, and
// atomic pretty-printed writes. Include this (not <nlohmann/json.hpp>) in .cpp files.
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

namespace medsyn {

using json = nlohmann::json;
using ordered_json = nlohmann::ordered_json;

json read_json_file(const std::filesystem::path& path);  // InputError with file and parse position
void write_json_file(const std::filesystem::path& path, const json& j, int indent = 2);  // atomic
void write_json_file(const std::filesystem::path& path, const ordered_json& j, int indent = 2);

// Replaces NaN/Inf (which JSON cannot hold) with null.
json finite_or_null(double v);

}  // namespace medsyn

#pragma once
// JSON helpers on top of nlohmann/json: reading files with errors that name the file, and
// atomic pretty-printed writes. Include this (not <nlohmann/json.hpp>) in .cpp files.
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

namespace medsyn {

using json = nlohmann::json;
using ordered_json = nlohmann::ordered_json;

// Strict reads for files from users. InputError naming `where` (a file, or "FILE:LINE") for:
//   - syntax errors: "invalid JSON at line L, column C (after $.a.b): <parser message>"
//   - numbers that overflow a double (1e400): "... number overflow parsing '1e400'"
//   - a key repeated in one object: "duplicate key 'k' in $.a (a key may appear once)" -- parsers
//     disagree on which copy wins (nlohmann keeps the first, Python the last), so it is refused.
json parse_json_strict(const std::string& text, const std::string& where);
ordered_json parse_ordered_json_strict(const std::string& text, const std::string& where);
json read_json_file(const std::filesystem::path& path);  // parse_json_strict of the file's text
void write_json_file(const std::filesystem::path& path, const json& j, int indent = 2);  // atomic
void write_json_file(const std::filesystem::path& path, const ordered_json& j, int indent = 2);

// Replaces NaN/Inf (which JSON cannot hold) with null.
json finite_or_null(double v);

}  // namespace medsyn

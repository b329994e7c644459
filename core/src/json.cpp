#include "medsyn/core/json.h"

#include <cmath>

#include "medsyn/core/error.h"
#include "medsyn/core/fs.h"

namespace medsyn {

json read_json_file(const std::filesystem::path& path) {
  const std::string text = read_file_text(path);
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    throw InputError(at_file(path.string(), std::string("invalid JSON: ") + e.what()));
  }
}

void write_json_file(const std::filesystem::path& path, const json& j, int indent) {
  atomic_write_text(path, j.dump(indent) + "\n");
}
void write_json_file(const std::filesystem::path& path, const ordered_json& j, int indent) {
  atomic_write_text(path, j.dump(indent) + "\n");
}

json finite_or_null(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

}  // namespace medsyn

// CSV and number-list readers for the stats commands; every error names file:line.
#include <cerrno>
#include <clocale>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "medsyn/core/error.h"
#include "medsyn/core/fs.h"
#include "medsyn/stats/csv.h"

namespace medsyn::stats {

namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

// Splits one CSV line into fields (double-quoted fields may hold commas; "" is a quote).
std::vector<std::string> split_line(const std::string& line, const std::string& file, long lineno) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false, was_quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < line.size() && line[i + 1] == '"') {
          cur += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        cur += c;
      }
    } else if (was_quoted && c != ',') {
      if (c != ' ' && c != '\t') throw InputError(at_line(file, lineno, "text after a closing quote"));
    } else if (c == '"') {
      if (!trim(cur).empty()) throw InputError(at_line(file, lineno, "stray quote inside a field"));
      cur.clear();
      quoted = was_quoted = true;
    } else if (c == ',') {
      out.push_back(was_quoted ? cur : trim(cur));
      cur.clear();
      was_quoted = false;
    } else {
      cur += c;
    }
  }
  if (quoted) throw InputError(at_line(file, lineno, "unterminated quoted field"));
  out.push_back(was_quoted ? cur : trim(cur));
  return out;
}

// Parses a finite number (the whole field); false otherwise.
bool parse_number(const std::string& text, double& value) {
  const std::string s = trim(text);
  if (s.empty()) return false;
  // strtod honours the C locale only; MedSynBench never calls setlocale, so '.' is the separator.
  errno = 0;
  char* end = nullptr;
  value = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size()) return false;
  if (errno == ERANGE && std::fabs(value) > 1.0) return false;
  return std::isfinite(value);
}

}  // namespace

std::size_t CsvTable::column(const std::string& name) const {
  for (std::size_t j = 0; j < columns.size(); ++j)
    if (columns[j] == name) return j;
  std::string list;
  for (const auto& c : columns) list += (list.empty() ? "" : ", ") + c;
  throw InputError(at_file(file, "no column '" + name + "' (columns: " + list + ")"));
}

std::vector<double> CsvTable::numeric(const std::string& name) const {
  const std::size_t j = column(name);
  std::vector<double> out(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i)
    if (!parse_number(rows[i][j], out[i]))
      throw InputError(at_line(file, lines[i], "column '" + name + "': '" + rows[i][j] + "' is not a finite number"));
  return out;
}

std::vector<int> CsvTable::binary_labels(const std::string& name) const {
  const std::size_t j = column(name);
  std::vector<int> out(rows.size());
  std::size_t pos = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    double v = 0;
    if (!parse_number(rows[i][j], v) || (v != 0.0 && v != 1.0))
      throw InputError(at_line(file, lines[i], "column '" + name + "': label '" + rows[i][j] + "' is not 0 or 1"));
    out[i] = v == 1.0 ? 1 : 0;
    pos += out[i];
  }
  if (rows.empty()) throw InputError(at_file(file, "no data rows"));
  if (pos == 0 || pos == rows.size())
    throw InputError(at_file(file, "column '" + name + "' has only one class (all " + (pos == 0 ? "0" : "1") +
                                       "); AUROC needs cases (1) and controls (0)"));
  return out;
}

CsvTable parse_csv(const std::string& text, const std::string& file) {
  CsvTable t;
  t.file = file;
  std::istringstream in(text);
  std::string line;
  long lineno = 0;
  bool have_header = false;
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (trim(line).empty()) continue;
    auto fields = split_line(line, file, lineno);
    if (!have_header) {
      if (lineno == 1 && line.size() >= 3 && line.compare(0, 3, "\xEF\xBB\xBF") == 0)  // UTF-8 BOM
        fields = split_line(line.substr(3), file, lineno);
      for (std::size_t j = 0; j < fields.size(); ++j) {
        if (fields[j].empty()) throw InputError(at_line(file, lineno, "header: column " + std::to_string(j + 1) + " has no name"));
        for (std::size_t k = 0; k < j; ++k)
          if (fields[k] == fields[j]) throw InputError(at_line(file, lineno, "header: duplicate column '" + fields[j] + "'"));
      }
      t.columns = std::move(fields);
      have_header = true;
      continue;
    }
    if (fields.size() != t.columns.size())
      throw InputError(at_line(file, lineno, "expected " + std::to_string(t.columns.size()) + " fields (as the header), got " +
                                                 std::to_string(fields.size())));
    t.rows.push_back(std::move(fields));
    t.lines.push_back(lineno);
  }
  if (!have_header) throw InputError(at_file(file, "empty CSV file (expected a header line)"));
  if (t.rows.empty()) throw InputError(at_file(file, "no data rows after the header"));
  return t;
}

CsvTable read_csv(const std::filesystem::path& path) { return parse_csv(read_file_text(path), path.string()); }

std::vector<double> parse_number_list(const std::string& text, const std::string& file) {
  std::vector<double> out;
  std::istringstream in(text);
  std::string line;
  long lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    const std::string s = trim(line);
    if (s.empty() || s[0] == '#') continue;
    double v = 0;
    if (!parse_number(s, v)) throw InputError(at_line(file, lineno, "'" + s + "' is not a finite number"));
    out.push_back(v);
  }
  if (out.empty()) throw InputError(at_file(file, "no numbers (expected one number per line)"));
  return out;
}

std::vector<double> read_number_list(const std::filesystem::path& path) {
  return parse_number_list(read_file_text(path), path.string());
}

}  // namespace medsyn::stats

#pragma once
// Reading the small text inputs of the `stats` commands, with errors that name file:line.
//
// CSV dialect: comma-separated, first line is the header (column names, surrounding spaces
// trimmed), one record per line, every record has as many fields as the header. Fields may be
// double-quoted ("a,b"; "" inside quotes is a quote). Blank lines and a trailing '\r' are
// ignored. No embedded newlines. Numbers are parsed with the C locale (strtod: 0.5, 1e-3, nan is
// rejected, inf is rejected).
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace medsyn::stats {

struct CsvTable {
  std::string file;                             // as given, used in error messages
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;   // rows[i][j]: record i, column j
  std::vector<long> lines;                      // 1-based line number of each record

  // Index of column `name`; InputError "FILE: no column 'x' (columns: a, b, c)" if absent.
  std::size_t column(const std::string& name) const;
  // Every value of `name` as a finite double; InputError "FILE:LINE: column 'x': 'abc' is not a
  // number" otherwise.
  std::vector<double> numeric(const std::string& name) const;
  // Binary labels: each value must be a number equal to 0 or 1 ("1", "1.0", "0"); InputError
  // "FILE:LINE: column 'y': label '2' is not 0 or 1". Also fails when only one class occurs
  // ("FILE: column 'y' has only one class (all 1); AUROC needs cases and controls").
  std::vector<int> binary_labels(const std::string& name) const;
};

// Reads a CSV file (InputError naming the file if unreadable, empty, or malformed with file:line).
CsvTable read_csv(const std::filesystem::path& path);
// Parses CSV text; `file` is only used for messages.
CsvTable parse_csv(const std::string& text, const std::string& file);

// One finite number per line (blank lines and lines starting with '#' skipped), for
// `stats paired`. InputError "FILE:LINE: 'abc' is not a number" / "FILE: no numbers".
std::vector<double> read_number_list(const std::filesystem::path& path);
std::vector<double> parse_number_list(const std::string& text, const std::string& file);

}  // namespace medsyn::stats

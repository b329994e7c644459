// Reading and checking ratings files (analysis.h): the page's JSON export and the CSV format.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <set>

#include "medsyn/core/error.h"
#include "medsyn/core/json.h"
#include "medsyn/readerstudy/analysis.h"
#include "medsyn/stats/csv.h"

namespace medsyn::readerstudy {

namespace fs = std::filesystem;

namespace {

bool asks(const Study& s, const std::string& q) { return std::find(s.questions.begin(), s.questions.end(), q) != s.questions.end(); }

// Checks one answer against the study; `where` is "FILE" or "FILE:LINE".
void check_answer(const Study& study, const Answer& a, const std::string& where) {
  if (!study.find(a.image_id))
    throw InputError(where + ": image id '" + a.image_id + "' is not in this study (ratings of another study, or an edited file)");
  if (!a.real_or_synthetic.empty() && !asks(study, "real_or_synthetic"))
    throw InputError(where + ": image " + a.image_id + ": answers real_or_synthetic, which this study does not ask");
  if (a.realism != 0 && !asks(study, "realism"))
    throw InputError(where + ": image " + a.image_id + ": answers realism, which this study does not ask");
  if (!a.prompt_match.empty() && !asks(study, "prompt_match"))
    throw InputError(where + ": image " + a.image_id + ": answers prompt_match, which this study does not ask");
}

ReaderRatings read_json_ratings(const Study& study, const fs::path& file) {
  const std::string f = file.string();
  const auto j = read_json_file(file);
  if (!j.is_object()) throw InputError(at_file(f, "not a ratings file (a JSON object is expected)"));
  if (j.value("format", "") != kRatingsFormat)
    throw InputError(at_file(f, std::string("not a ratings file of the reader study page (format must be ") + kRatingsFormat + ")"));
  if (!j.contains("study") || !j["study"].is_string()) throw InputError(at_file(f, "field 'study' is missing"));
  if (j["study"] != study.hash)
    throw InputError(at_file(f, "ratings of another study (study " + j["study"].get<std::string>() + "; this study is " + study.hash + ")"));
  if (!j.contains("reader") || !j["reader"].is_string() || j["reader"].get<std::string>().empty())
    throw InputError(at_file(f, "field 'reader' is missing or empty"));
  if (!j.contains("answers") || !j["answers"].is_array()) throw InputError(at_file(f, "field 'answers' is missing or not an array"));
  ReaderRatings r;
  r.reader = j["reader"].get<std::string>();
  r.file = file;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < j["answers"].size(); ++i) {
    const auto& e = j["answers"][i];
    const std::string where = f + ": answers[" + std::to_string(i) + "]";
    if (!e.is_object() || !e.contains("image_id") || !e["image_id"].is_string()) throw InputError(where + ": image_id is missing");
    Answer a;
    a.image_id = e["image_id"].get<std::string>();
    if (e.contains("real_or_synthetic") && !e["real_or_synthetic"].is_null()) {
      if (!e["real_or_synthetic"].is_string() || (e["real_or_synthetic"] != "R" && e["real_or_synthetic"] != "S"))
        throw InputError(where + ": real_or_synthetic must be \"R\", \"S\" or null, got " + e["real_or_synthetic"].dump());
      a.real_or_synthetic = e["real_or_synthetic"].get<std::string>();
    }
    if (e.contains("realism") && !e["realism"].is_null()) {
      const auto& v = e["realism"];
      if (!v.is_number_integer() || v.get<int>() < 1 || v.get<int>() > 5)
        throw InputError(where + ": realism must be an integer 1-5 or null, got " + v.dump());
      a.realism = v.get<int>();
    }
    if (e.contains("prompt_match") && !e["prompt_match"].is_null()) {
      if (!e["prompt_match"].is_string() || (e["prompt_match"] != "Y" && e["prompt_match"] != "N"))
        throw InputError(where + ": prompt_match must be \"Y\", \"N\" or null, got " + e["prompt_match"].dump());
      a.prompt_match = e["prompt_match"].get<std::string>();
    }
    if (e.contains("time_ms") && !e["time_ms"].is_null()) {
      if (!e["time_ms"].is_number() || !(e["time_ms"].get<double>() >= 0)) throw InputError(where + ": time_ms must be a number >= 0");
      a.time_ms = e["time_ms"].get<double>();
    }
    check_answer(study, a, where);
    if (!seen.insert(a.image_id).second) throw InputError(where + ": image " + a.image_id + " is answered twice by reader '" + r.reader + "'");
    r.answers.push_back(a);
  }
  return r;
}

std::vector<ReaderRatings> read_csv_ratings(const Study& study, const fs::path& file) {
  const std::string f = file.string();
  const auto t = stats::read_csv(file);
  const std::vector<std::string> header = {"reader", "image_id", "real_or_synthetic", "realism", "prompt_match"};
  if (t.columns != header)
    throw InputError(at_line(f, 1, "the header must be exactly reader,image_id,real_or_synthetic,realism,prompt_match"));
  std::vector<ReaderRatings> out;
  std::map<std::string, std::size_t> index;
  std::map<std::string, std::set<std::string>> seen;
  for (std::size_t i = 0; i < t.rows.size(); ++i) {
    const auto& row = t.rows[i];
    const std::string where = f + ":" + std::to_string(t.lines[i]);
    if (row[0].empty()) throw InputError(where + ": reader is empty");
    Answer a;
    a.image_id = row[1];
    if (!row[2].empty()) {
      if (row[2] != "R" && row[2] != "S") throw InputError(where + ": real_or_synthetic must be R, S or empty, got '" + row[2] + "'");
      a.real_or_synthetic = row[2];
    }
    if (!row[3].empty()) {
      if (row[3].size() != 1 || row[3][0] < '1' || row[3][0] > '5') throw InputError(where + ": realism must be 1-5 or empty, got '" + row[3] + "'");
      a.realism = row[3][0] - '0';
    }
    if (!row[4].empty()) {
      if (row[4] != "Y" && row[4] != "N") throw InputError(where + ": prompt_match must be Y, N or empty, got '" + row[4] + "'");
      a.prompt_match = row[4];
    }
    check_answer(study, a, where);
    if (!seen[row[0]].insert(a.image_id).second) throw InputError(where + ": image " + a.image_id + " is answered twice by reader '" + row[0] + "'");
    auto it = index.find(row[0]);
    if (it == index.end()) {
      it = index.emplace(row[0], out.size()).first;
      out.push_back({row[0], file, {}});
    }
    out[it->second].answers.push_back(a);
  }
  if (out.empty()) throw InputError(at_file(f, "no ratings (only a header)"));
  return out;
}

}  // namespace

std::vector<ReaderRatings> read_ratings(const Study& study, const std::vector<fs::path>& files) {
  if (files.empty()) throw InputError("no ratings files given");
  std::vector<ReaderRatings> all;
  std::map<std::string, fs::path> reader_file;
  for (const auto& file : files) {
    if (!fs::is_regular_file(file)) throw InputError(at_file(file.string(), "no such file"));
    std::string ext = file.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::vector<ReaderRatings> rs;
    if (ext == ".json") rs.push_back(read_json_ratings(study, file));
    else if (ext == ".csv") rs = read_csv_ratings(study, file);
    else throw InputError(at_file(file.string(), "ratings must be .json (the page's export) or .csv"));
    for (auto& r : rs) {
      if (auto it = reader_file.find(r.reader); it != reader_file.end())
        throw InputError(at_file(file.string(), "reader '" + r.reader + "' also appears in " + it->second.string() +
                                                    " (duplicate reader: nothing is merged; remove one of the files)"));
      reader_file[r.reader] = file;
      all.push_back(std::move(r));
    }
  }
  return all;
}

}  // namespace medsyn::readerstudy

// CLIP-style alignment score from user embeddings (clip_score.h).
#include "medsyn/metrics/clip_score.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "medsyn/core/error.h"
#include "medsyn/core/fs.h"
#include "medsyn/core/json.h"
#include "medsyn/stats/intervals.h"
#include "medsyn/stats/random.h"

namespace fs = std::filesystem;

namespace medsyn::metrics {

namespace {

std::string quoted(const std::string& s) {
  std::string t = s.size() > 80 ? s.substr(0, 77) + "..." : s;
  return "'" + t + "'";
}

void add_prompt(PromptEmbeddings& pe, const std::string& prompt, std::vector<double> v, const std::string& where) {
  if (prompt.empty()) throw InputError(where + ": empty prompt");
  if (pe.index.count(prompt)) throw InputError(where + ": prompt " + quoted(prompt) + " is given twice");
  if (pe.dim == 0) pe.dim = static_cast<int>(v.size());
  if (v.empty()) throw InputError(where + ": the vector of prompt " + quoted(prompt) + " is empty");
  if (static_cast<int>(v.size()) != pe.dim)
    throw InputError(where + ": the vector of prompt " + quoted(prompt) + " has " + std::to_string(v.size()) +
                     " values, the first prompt's has " + std::to_string(pe.dim) + " (dimension mismatch)");
  double ss = 0;
  for (std::size_t j = 0; j < v.size(); ++j) {
    if (!std::isfinite(v[j]))
      throw InputError(where + ": the vector of prompt " + quoted(prompt) + " has a non-finite value at index " +
                       std::to_string(j));
    ss += v[j] * v[j];
  }
  if (!(ss > 0)) throw InputError(where + ": the vector of prompt " + quoted(prompt) + " is all zeros (no direction)");
  pe.index[prompt] = pe.prompts.size();
  pe.prompts.push_back(prompt);
  pe.vectors.push_back(std::move(v));
}

std::vector<std::string> read_prompt_list(const fs::path& file) {
  const std::string text = read_file_text(file);
  std::vector<std::string> out;
  if (file.extension() == ".json") {
    json j;
    try {
      j = json::parse(text);
    } catch (const json::parse_error& e) {
      throw InputError(at_file(file.string(), std::string("invalid JSON: ") + e.what()));
    }
    if (!j.is_array()) throw InputError(at_file(file.string(), "expected a JSON array of prompt strings"));
    for (std::size_t i = 0; i < j.size(); ++i) {
      if (!j[i].is_string())
        throw InputError(at_file(file.string(), "$[" + std::to_string(i) + "]: expected a string (a prompt)"));
      out.push_back(j[i].get<std::string>());
    }
    return out;
  }
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    out.push_back(line);
    start = end + 1;
  }
  return out;
}

}  // namespace

PromptEmbeddings read_prompt_embeddings(const fs::path& file, const fs::path& prompts_file) {
  PromptEmbeddings pe;
  pe.file = file;
  if (!fs::exists(file)) throw InputError(at_file(file.string(), "prompt embedding file does not exist"));
  const std::string ext = file.extension().string();
  if (ext == ".json") {
    if (!prompts_file.empty())
      throw InputError(at_file(file.string(), "a JSON embedding file names its prompts itself: drop --prompts " +
                                                  prompts_file.string()));
    json j;
    try {
      j = json::parse(read_file_text(file));
    } catch (const json::parse_error& e) {
      throw InputError(at_file(file.string(), std::string("invalid JSON: ") + e.what()));
    }
    if (!j.is_object() || j.empty())
      throw InputError(at_file(file.string(), "expected a non-empty JSON object {\"prompt\": [numbers], ...}"));
    for (auto it = j.begin(); it != j.end(); ++it) {
      const std::string where = file.string() + ": $[" + json(it.key()).dump() + "]";
      if (!it->is_array()) throw InputError(where + ": expected an array of numbers (the prompt's embedding)");
      std::vector<double> v;
      for (std::size_t k = 0; k < it->size(); ++k) {
        if (!(*it)[k].is_number())
          throw InputError(where + "[" + std::to_string(k) + "]: expected a number, got " + (*it)[k].dump());
        v.push_back((*it)[k].get<double>());
      }
      add_prompt(pe, it.key(), std::move(v), where);
    }
    return pe;
  }
  if (ext != ".npy")
    throw InputError(at_file(file.string(), "expected a .npy (N x d, with a prompt list) or a .json {prompt: vector} file"));
  pe.prompts_file = prompts_file.empty() ? fs::path(file.string() + ".prompts.txt") : prompts_file;
  if (!fs::exists(pe.prompts_file))
    throw InputError(at_file(file.string(), "no prompt list: give --prompts FILE (one prompt per line) or write " +
                                                pe.prompts_file.string()));
  const NpyArray a = read_npy(file);
  if (a.shape.size() != 2)
    throw InputError(at_file(file.string(), "expected a 2-D array (N prompts x d), got " +
                                                std::to_string(a.shape.size()) + " dimensions"));
  std::vector<std::string> prompts = read_prompt_list(pe.prompts_file);
  if (!prompts.empty() && prompts.back().empty() && static_cast<std::int64_t>(prompts.size()) == a.shape[0] + 1)
    prompts.pop_back();  // a final newline
  if (static_cast<std::int64_t>(prompts.size()) != a.shape[0])
    throw InputError(at_file(pe.prompts_file.string(), "lists " + std::to_string(prompts.size()) + " prompts but " +
                                                           file.string() + " has " + std::to_string(a.shape[0]) +
                                                           " rows (one row per prompt, in order)"));
  const std::vector<double> values = a.as_f64();
  const std::size_t d = static_cast<std::size_t>(a.shape[1]);
  for (std::size_t i = 0; i < prompts.size(); ++i)
    add_prompt(pe, prompts[i], std::vector<double>(values.begin() + i * d, values.begin() + (i + 1) * d),
               file.string() + ": row " + std::to_string(i) + " (" + pe.prompts_file.filename().string() + " line " +
                   std::to_string(i + 1) + ")");
  return pe;
}

std::vector<ClipScoreGroup> clip_scores(const ClipScoreInput& in, const PromptEmbeddings& pe,
                                        const ClipScoreOptions& opt) {
  const std::size_t n = static_cast<std::size_t>(in.features.rows);
  if (n == 0) throw InputError("clip score: no images");
  if (in.prompts.size() != n || in.modalities.size() != n || in.labels.size() != n || in.names.size() != n)
    throw InputError("clip score: prompts, modalities, labels and names must have one entry per image row");
  if (in.features.cols != pe.dim)
    throw InputError(pe.file.string() + ": prompt embeddings have dimension " + std::to_string(pe.dim) +
                     ", the image embeddings " + std::to_string(in.features.cols) +
                     " (dimension mismatch: use the image tower that belongs to this text tower)");
  if (opt.bootstrap < 0) throw InputError("clip score: bootstrap replicates must be >= 0");
  if (!(opt.ci_level > 0 && opt.ci_level < 1)) throw InputError("clip score: the CI level must be in (0, 1)");
  // Per image cosine with its prompt's vector (float64).
  std::vector<double> cosine(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (in.prompts[i].empty()) throw InputError(in.names[i] + ": the image has no prompt (manifest field 'prompt')");
    const auto it = pe.index.find(in.prompts[i]);
    if (it == pe.index.end())
      throw InputError(pe.file.string() + ": no embedding for the prompt " + quoted(in.prompts[i]) + " of image " +
                       in.names[i]);
    const std::vector<double>& t = pe.vectors[it->second];
    const float* x = in.features.row(static_cast<std::int64_t>(i));
    double dot = 0, xx = 0, tt = 0;
    for (int j = 0; j < pe.dim; ++j) {
      if (!std::isfinite(x[j]))
        throw InputError(in.names[i] + ": the image embedding has a non-finite value at index " + std::to_string(j));
      dot += x[j] * t[j];
      xx += static_cast<double>(x[j]) * x[j];
      tt += t[j] * t[j];
    }
    if (!(xx > 0)) throw InputError(in.names[i] + ": the image embedding is all zeros (no direction)");
    cosine[i] = dot / (std::sqrt(xx) * std::sqrt(tt));
  }
  // Groups: modality (first seen), then its classes sorted.
  std::vector<std::string> mods;
  for (const auto& m : in.modalities)
    if (std::find(mods.begin(), mods.end(), m) == mods.end()) mods.push_back(m);
  std::vector<ClipScoreGroup> out;
  auto score = [&](const std::string& mod, const std::string& label, const std::vector<std::size_t>& rows) {
    ClipScoreGroup g;
    g.modality = mod;
    g.label = label;
    g.n = static_cast<std::int64_t>(rows.size());
    std::vector<double> s;
    double csum = 0;
    for (std::size_t r : rows) {
      s.push_back(100.0 * std::max(cosine[r], 0.0));
      csum += cosine[r];
    }
    g.mean_cosine = csum / static_cast<double>(rows.size());
    double mean = 0;
    for (double v : s) mean += v;
    mean /= static_cast<double>(s.size());
    if (opt.bootstrap > 0 && s.size() >= 2) {
      stats::BootstrapOptions bo;
      bo.replicates = opt.bootstrap;
      bo.level = opt.ci_level;
      // One stream per group, so adding a class does not move another group's interval.
      std::uint64_t h = 1469598103934665603ull;  // FNV-1a of "modality/label"
      for (char c : mod + "/" + label) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
      bo.seed = stats::derive_seed(opt.seed, h);
      g.clip_score = stats::bootstrap_mean(s, bo);
    } else {
      g.clip_score = Estimate::point(mean, g.n);
      g.clip_score.note = opt.bootstrap == 0 ? "no interval (bootstrap 0)" : "no interval: one image in the group";
    }
    g.clip_score.value = mean;
    g.clip_score.n = g.n;
    g.clip_score.estimand = "mean over images of 100 x max(cos(image, prompt), 0) (CLIPScore, w = 100)";
    g.clip_score_w25 = g.clip_score;
    for (double* v : {&g.clip_score_w25.value, &g.clip_score_w25.ci_low, &g.clip_score_w25.ci_high, &g.clip_score_w25.se})
      *v *= 0.025;
    g.clip_score_w25.estimand = "mean over images of 2.5 x max(cos(image, prompt), 0) (CLIP-S, Hessel et al. 2021)";
    out.push_back(std::move(g));
  };
  for (const auto& mod : mods) {
    std::vector<std::size_t> rows;
    std::set<std::string> labels;
    for (std::size_t i = 0; i < n; ++i)
      if (in.modalities[i] == mod) {
        rows.push_back(i);
        if (!in.labels[i].empty()) labels.insert(in.labels[i]);
      }
    score(mod, "", rows);
    for (const auto& l : labels) {
      std::vector<std::size_t> lr;
      for (std::size_t r : rows)
        if (in.labels[r] == l) lr.push_back(r);
      score(mod, l, lr);
    }
  }
  return out;
}

nlohmann::json clip_score_group_to_json(const ClipScoreGroup& g) {
  json j;
  j["n"] = g.n;
  j["clip_score"] = json::parse(to_json(g.clip_score).dump());
  j["clip_score_w25"] = json::parse(to_json(g.clip_score_w25).dump());
  j["mean_cosine"] = g.mean_cosine;
  return j;
}

}  // namespace medsyn::metrics

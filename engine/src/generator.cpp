// Generator implementations: native run and external command. (A folder of pre-generated images
// needs no generator: the suite runner selects its records by modality in its generate stage.)
#include "medsyn/engine/generator.h"

#include <sys/wait.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "medsyn/core/error.h"
#include "medsyn/core/fs.h"
#include "medsyn/core/image_io.h"
#include "medsyn/core/json.h"
#include "medsyn/core/progress.h"
#include "medsyn/stats/random.h"

namespace fs = std::filesystem;

namespace medsyn::engine {

namespace {


void require_fresh(const fs::path& out) {
  if (fs::exists(out / "manifest.jsonl"))
    throw InputError(out.string() + ": already holds a manifest.jsonl; generators need a fresh output folder");
}

class NativeGenerator : public Generator {
 public:
  NativeGenerator(fs::path run, GenerateOptions base) : run_(std::move(run)), base_(std::move(base)) {}
  std::string id() const override { return "native:" + run_.string(); }
  Dataset generate(const std::vector<std::string>& prompts, int n, std::uint64_t seed, const fs::path& out) override {
    require_fresh(out);
    GenerateOptions o = base_;
    o.checkpoint = run_;
    o.prompts = prompts;
    o.n = n;
    o.seed = seed;
    o.out = out;
    return engine::generate(o);
  }

 private:
  fs::path run_;
  GenerateOptions base_;
};

class CommandGenerator : public Generator {
 public:
  CommandGenerator(std::string tmpl, std::optional<PromptTable> prompts) : tmpl_(std::move(tmpl)), table_(std::move(prompts)) {
    if (tmpl_.find("{out}") == std::string::npos)
      throw InputError("command template '" + tmpl_ + "': must contain {out} (the folder the command writes)");
  }
  std::string id() const override { return "command:" + tmpl_; }
  Dataset generate(const std::vector<std::string>& prompts, int n, std::uint64_t seed, const fs::path& out) override {
    if (n < 1) throw InputError("command generator: n_per_prompt must be >= 1");
    require_fresh(out);
    ensure_dir(out);
    std::vector<Record> all;
    for (std::size_t p = 0; p < prompts.size(); ++p) {
      char sub[32];
      std::snprintf(sub, sizeof sub, "p%03zu", p);
      const fs::path dir = out / sub;
      fs::remove_all(dir);
      ensure_dir(dir);
      const std::uint64_t s = stats::derive_seed(seed, p);
      const std::string cmd = expand_command_template(tmpl_, prompts[p], s, n, dir);
      log_info("running: " + cmd);
      const int status = std::system(("/bin/sh -c " + sh_quote(cmd)).c_str());
      const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      if (code != 0)
        throw InputError("command generator: `" + cmd + "` exited with status " + std::to_string(code));
      std::vector<Record> recs;
      const std::optional<PromptInfo> info = table_ ? table_->lookup(prompts[p]) : std::nullopt;
      if (fs::exists(dir / "manifest.jsonl")) {
        const Dataset ds = load_dataset(dir);
        recs = ds.records;
        for (auto& r : recs) {
          if (!fs::exists(ds.image_path(r)))
            throw InputError(at_file((dir / "manifest.jsonl").string(), "image '" + r.path + "' listed but not written"));
          if (r.prompt.empty()) r.prompt = prompts[p];
        }
      } else {
        std::vector<fs::path> files;
        for (const auto& e : fs::recursive_directory_iterator(dir))
          if (e.is_regular_file() && is_raster_image_file(e.path())) files.push_back(e.path());
        std::sort(files.begin(), files.end());
        for (const auto& f : files) {
          read_image(f);  // must decode
          Record r;
          r.path = fs::relative(f, dir).generic_string();
          r.prompt = prompts[p];
          r.modality = info ? info->modality : "unknown";
          if (info) {
            r.specialty = info->specialty;
            r.label = info->label;
            r.label_name = info->label_name;
          }
          r.split = "generated";
          recs.push_back(r);
        }
      }
      if (static_cast<int>(recs.size()) < n)
        throw InputError("command generator: `" + cmd + "` wrote " + std::to_string(recs.size()) + " image(s) to " +
                         dir.string() + ", " + std::to_string(n) + " requested");
      recs.resize(static_cast<std::size_t>(n));
      for (auto& r : recs) {
        r.path = std::string(sub) + "/" + r.path;
        auto extra = json::parse(r.extra_json);
        extra["seed"] = s;
        extra["base_seed"] = seed;
        extra["generator"] = "command";
        r.extra_json = extra.dump();
        all.push_back(r);
      }
    }
    write_manifest(out, all);
    return load_dataset(out);
  }

 private:
  std::string tmpl_;
  std::optional<PromptTable> table_;
};

}  // namespace

std::string sh_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out.push_back(c);
  }
  return out + "'";
}

std::string expand_command_template(const std::string& tmpl, const std::string& prompt, std::uint64_t seed, int n,
                                    const fs::path& out) {
  std::string r;
  for (std::size_t i = 0; i < tmpl.size();) {
    auto try_sub = [&](const char* key, const std::string& val) {
      const std::string k = key;
      if (tmpl.compare(i, k.size(), k) == 0) {
        r += sh_quote(val);
        i += k.size();
        return true;
      }
      return false;
    };
    if (try_sub("{prompt}", prompt) || try_sub("{seed}", std::to_string(seed)) || try_sub("{n}", std::to_string(n)) ||
        try_sub("{out}", out.string()))
      continue;
    r.push_back(tmpl[i++]);
  }
  return r;
}

std::unique_ptr<Generator> make_native_generator(const fs::path& run_dir, GenerateOptions base) {
  if (!fs::exists(run_dir / "latest.json") && !fs::exists(run_dir / "state.json"))
    throw InputError(run_dir.string() + ": not a training run (no latest.json)");
  return std::make_unique<NativeGenerator>(run_dir, std::move(base));
}
std::unique_ptr<Generator> make_command_generator(const std::string& command_template, std::optional<PromptTable> prompts) {
  return std::make_unique<CommandGenerator>(command_template, std::move(prompts));
}

}  // namespace medsyn::engine

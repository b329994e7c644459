// Trainer (autoencoder then diffusion), checkpoints and resume, and `engine cost` with timing.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include <unistd.h>

#include "medsyn/core/error.h"
#include "medsyn/core/option_error.h"
#include "medsyn/core/fs.h"
#include "medsyn/core/hashing.h"
#include "medsyn/core/image_io.h"
#include "medsyn/core/json.h"
#include "medsyn/core/progress.h"
#include "medsyn/core/provenance.h"
#include "medsyn/stats/random.h"
#include "medsyn/torch/runtime.h"
#include "medsyn/torch/tensor.h"
#include "sampling.h"

namespace fs = std::filesystem;

namespace medsyn::engine {
using namespace detail;

namespace {

using Clock = std::chrono::steady_clock;

struct TrainData {
  torch::Tensor images;                  // N x C x H x W in [-1, 1] (CPU); latents when factor > 1
  std::vector<int> prompt_of;            // per image
  std::vector<std::string> prompts;      // unique prompts, first-seen order
  std::vector<std::vector<int>> groups;  // sampling groups (by modality / prompt / all)
  torch::Tensor prompt_tokens;           // P x L
  json info;
  PromptTable table;
};

std::string record_prompt(const Record& r) {
  if (!r.prompt.empty()) return r.prompt;
  std::string p = r.modality;
  std::replace(p.begin(), p.end(), '_', ' ');
  return p;
}

TrainData load_training_data(const TrainOptions& opt, const EngineConfig& c) {
  if (opt.data.empty()) throw OptionError("data", "at least one dataset folder is required");
  TrainData d;
  std::vector<Image> imgs;
  std::map<std::string, int> prompt_index;
  std::map<std::string, long> per_modality;
  std::set<std::string> wanted(opt.modalities.begin(), opt.modalities.end()), seen_mod;
  json sources = json::array();
  std::map<std::string, int> prompt_channels;
  bool resized = false;
  for (const auto& dir : opt.data) {
    Dataset ds = load_dataset(dir);
    for (const auto& r : ds.records) seen_mod.insert(r.modality);
    std::vector<const Record*> use;
    for (const auto& r : ds.records) {
      if (!wanted.empty() && !wanted.count(r.modality)) continue;
      if (!c.train.splits.empty() && std::find(c.train.splits.begin(), c.train.splits.end(), r.split) == c.train.splits.end())
        continue;
      use.push_back(&r);
    }
    if (use.empty() && !c.train.splits.empty()) {  // no split info: use all records of the wanted modalities
      bool any_split = false;
      for (const auto& r : ds.records) any_split = any_split || !r.split.empty();
      if (!any_split)
        for (const auto& r : ds.records)
          if (wanted.empty() || wanted.count(r.modality)) use.push_back(&r);
    }
    Progress prog("load " + dir.filename().string(), static_cast<std::int64_t>(use.size()), "images");
    for (const Record* r : use) {
      Image img = read_image(ds.image_path(*r));
      const std::string p = record_prompt(*r);
      if (!prompt_index.count(p)) {
        prompt_index[p] = static_cast<int>(d.prompts.size());
        d.prompts.push_back(p);
        PromptInfo info{p, r->modality, r->specialty, r->label_name, r->label, img.channels, 0};
        d.table.add(info);
      }
      img = to_channels(img, c.channels);
      if (img.height != c.image_size || img.width != c.image_size) {
        img = resize(img, c.image_size, c.image_size, ResizeFilter::bilinear, true);
        resized = true;
      }
      imgs.push_back(std::move(img));
      d.prompt_of.push_back(prompt_index[p]);
      ++per_modality[r->modality];
      prog.advance();
    }
    sources.push_back({{"dir", fs::absolute(dir).string()}, {"manifest_sha256", manifest_hash(dir)}, {"images_used", use.size()}});
  }
  for (const auto& m : wanted)
    if (!seen_mod.count(m)) {
      std::string have;
      for (const auto& s : seen_mod) have += (have.empty() ? "" : ", ") + s;
      throw OptionError("modalities", "'" + m + "' is not in the data (have: " + have + ")");
    }
  if (imgs.empty()) throw OptionError("data", "no training images after filtering (modalities/splits)");
  // prompt counts
  {
    PromptTable t;
    std::vector<long> counts(d.prompts.size(), 0);
    for (int p : d.prompt_of) ++counts[p];
    for (std::size_t i = 0; i < d.prompts.size(); ++i) {
      auto row = d.table.rows()[i];
      row.count = counts[i];
      t.add(row);
    }
    d.table = t;
  }
  d.images = images_to_tensor(imgs).mul_(2.0).sub_(1.0);
  // sampling groups
  if (c.train.balance == "none") {
    d.groups.emplace_back(imgs.size());
    for (std::size_t i = 0; i < imgs.size(); ++i) d.groups[0][i] = static_cast<int>(i);
  } else {
    std::map<std::string, int> gi;
    for (std::size_t i = 0; i < imgs.size(); ++i) {
      const auto& row = d.table.rows()[d.prompt_of[i]];
      const std::string key = c.train.balance == "modality" ? row.modality : row.prompt;
      if (!gi.count(key)) {
        gi[key] = static_cast<int>(d.groups.size());
        d.groups.emplace_back();
      }
      d.groups[gi[key]].push_back(static_cast<int>(i));
    }
  }
  json pm = json::object();
  for (const auto& [m, n] : per_modality) pm[m] = n;
  d.info = {{"sources", sources}, {"images", imgs.size()}, {"per_modality", pm}, {"prompts", d.prompts.size()},
            {"modalities_filter", opt.modalities}, {"splits", c.train.splits},
            {"preprocessing", {{"channels", c.channels}, {"size", c.image_size},
                               {"resize", resized ? "bilinear, antialias" : "none"}, {"range", "[-1, 1]"}}}};
  return d;
}

// All random draws of step k come from these two generators.
struct StepRng {
  std::mt19937_64 rng;
  torch::Generator gen;
  StepRng(std::uint64_t seed, std::uint64_t k) : rng(stats::derive_seed(seed, 2 * k)), gen(cpu_generator(stats::derive_seed(seed, 2 * k + 1))) {}
  double uniform() { return static_cast<double>(rng() >> 11) * (1.0 / 9007199254740992.0); }
  std::size_t below(std::size_t n) { return static_cast<std::size_t>(rng() % n); }
};

// One batch: images (B x C x H x W) and prompt indices (-1 = dropped prompt).
std::pair<torch::Tensor, std::vector<int>> draw_batch(const TrainData& d, int B, double cond_drop, bool hflip,
                                                      StepRng& r) {
  std::vector<std::int64_t> idx(B);
  std::vector<int> prompts(B);
  std::vector<bool> flip(B);
  for (int i = 0; i < B; ++i) {
    const auto& g = d.groups[r.below(d.groups.size())];
    idx[i] = g[r.below(g.size())];
    prompts[i] = r.uniform() < cond_drop ? -1 : d.prompt_of[idx[i]];
    flip[i] = hflip && (r.rng() & 1);
  }
  auto x = d.images.index_select(0, torch::tensor(idx, torch::kInt64));
  for (int i = 0; i < B; ++i)
    if (flip[i]) x[i] = x[i].flip({2});
  return {x, prompts};
}

struct StepResult {
  double loss, lr;
};

class DiffusionTrainer {
 public:
  DiffusionTrainer(const EngineConfig& c, std::int64_t vocab, const torch::Device& dev, std::uint64_t seed)
      : c_(c), dev_(dev), seed_(seed) {
    torch::manual_seed(stats::derive_seed(seed, 0xA11CE));  // parameter initialisation
    model = DiffusionModel(c, vocab);
    ema = DiffusionModel(c, vocab);
    copy_weights(*ema, *model);
    model->to(dev);
    ema->to(dev);
    for (auto& p : ema->parameters()) p.requires_grad_(false);
    opt = std::make_unique<torch::optim::AdamW>(
        model->parameters(), torch::optim::AdamWOptions(c.train.lr).weight_decay(c.train.weight_decay));
    const auto s = make_schedule(c.diffusion);
    ab_ = torch::tensor(std::vector<float>(s.alphas_bar.begin(), s.alphas_bar.end()), torch::kFloat32);
    uncond_ = encode_prompts(Tokenizer(), {""}, c.text.max_tokens);
  }

  // One optimisation step `k` (0-based) on a batch drawn from `d` (prompt tokens from `tokens`).
  StepResult step(int k, const TrainData& d, int B) {
    model->train();
    StepRng r(seed_, static_cast<std::uint64_t>(k));
    if (c_.unet.dropout > 0) torch::manual_seed(stats::derive_seed(seed_, 0xD00D0000ULL + k));
    auto [x0, prompts] = draw_batch(d, B, c_.train.cond_drop, c_.train.hflip, r);
    std::vector<torch::Tensor> rows;
    for (int p : prompts) rows.push_back(p < 0 ? uncond_[0] : d.prompt_tokens[p]);
    auto ids = torch::stack(rows).to(dev_);
    auto t = torch::randint(0, c_.diffusion.timesteps, {B}, r.gen, torch::kInt64);
    auto noise = torch::randn(x0.sizes(), r.gen, torch::kFloat32);
    auto ab = ab_.index_select(0, t).view({B, 1, 1, 1});
    auto a = ab.sqrt(), s = (1 - ab).sqrt();
    auto xt = (a * x0 + s * noise).to(dev_);
    auto target = (c_.diffusion.prediction == "v" ? a * noise - s * x0 : noise).to(dev_);
    const double lr = c_.train.lr * std::min(1.0, (k + 1.0) / std::max(1, c_.train.warmup));
    for (auto& g : opt->param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
    opt->zero_grad();
    auto out = model->forward(xt, t.to(torch::kFloat32).to(dev_), ids);
    auto loss = torch::mse_loss(out, target);
    loss.backward();
    if (c_.train.grad_clip > 0) torch::nn::utils::clip_grad_norm_(model->parameters(), c_.train.grad_clip);
    opt->step();
    {
      torch::NoGradGuard ng;
      const double decay = std::min(c_.train.ema_decay, (1.0 + k) / (10.0 + k));
      auto ep = ema->parameters();
      auto mp = model->parameters();
      for (std::size_t i = 0; i < ep.size(); ++i) ep[i].mul_(decay).add_(mp[i].detach(), 1.0 - decay);
    }
    return {loss.item<double>(), lr};
  }

  DiffusionModel model{nullptr}, ema{nullptr};
  std::unique_ptr<torch::optim::AdamW> opt;

 private:
  EngineConfig c_;
  torch::Device dev_;
  std::uint64_t seed_;
  torch::Tensor ab_, uncond_;
};

struct LogRow {
  int step;
  double loss, lr, wall_s;
};
std::string log_text(const std::vector<LogRow>& log) {
  std::ostringstream os;
  for (const auto& r : log)
    os << json{{"step", r.step}, {"loss", r.loss}, {"lr", r.lr}, {"wall_s", r.wall_s}}.dump() << "\n";
  return os.str();
}
std::vector<LogRow> parse_log(const fs::path& p) {
  std::vector<LogRow> out;
  std::istringstream is(read_file_text(p));
  std::string line;
  long n = 0;
  while (std::getline(is, line)) {
    ++n;
    if (line.empty()) continue;
    try {
      auto j = json::parse(line);
      out.push_back({j.at("step").get<int>(), j.at("loss").get<double>(), j.at("lr").get<double>(), j.at("wall_s").get<double>()});
    } catch (const std::exception& e) {
      throw InputError(at_line(p.string(), n, std::string("bad training log line: ") + e.what()));
    }
  }
  return out;
}

std::string step_name(int step) {
  char b[32];
  std::snprintf(b, sizeof b, "step-%08d", step);
  return b;
}

void save_module(const fs::path& p, torch::nn::Module& m) {
  torch::serialize::OutputArchive ar;
  m.save(ar);
  ar.save_to(p.string());
}

std::string combined_hash(DiffusionTrainer& tr) {
  return sha256_hex(weights_sha256(*tr.model) + weights_sha256(*tr.ema));
}

void write_checkpoint(const fs::path& out, int step, DiffusionTrainer& tr, const std::vector<LogRow>& log,
                      const json& state_extra, int keep) {
  const auto ckdir = out / "checkpoints";
  ensure_dir(ckdir);
  const auto final_dir = ckdir / step_name(step);
  const auto tmp = ckdir / (".tmp-" + step_name(step) + "-" + std::to_string(::getpid()));
  fs::remove_all(tmp);
  ensure_dir(tmp);
  save_module(tmp / "model.pt", *tr.model);
  save_module(tmp / "ema.pt", *tr.ema);
  {
    torch::serialize::OutputArchive ar;
    tr.opt->save(ar);
    ar.save_to((tmp / "optim.pt").string());
  }
  json state = state_extra;
  state["step"] = step;
  state["weights_sha256"] = combined_hash(tr);
  state["model_sha256"] = weights_sha256(*tr.model);
  state["ema_sha256"] = weights_sha256(*tr.ema);
  // "mix_seed" is the historical name of stats::derive_seed (same function); the text is kept so
  // train_state.json stays byte-identical.
  state["rng"] = {{"scheme", "per-step: mt19937_64(mix_seed(seed, 2k)) for indices/dropout/flips, CPU torch generator mix_seed(seed, 2k+1) for timesteps and noise"},
                  {"next_step", step}};
  state["written_at"] = utc_now_iso8601();
  atomic_write_text(tmp / "train_log.jsonl", log_text(log));
  // Size and sha256 of every other file: latest_checkpoint (prompts.cpp) checks them before use,
  // so a truncated or corrupted newest checkpoint is detected without LibTorch and skipped.
  json files = json::object();
  for (const char* f : {"model.pt", "ema.pt", "optim.pt", "train_log.jsonl"})
    files[f] = {{"bytes", static_cast<std::uint64_t>(fs::file_size(tmp / f))}, {"sha256", sha256_file(tmp / f)}};
  state["files"] = files;
  write_json_file(tmp / "state.json", state);
  fs::remove_all(final_dir);
  fs::rename(tmp, final_dir);
  write_json_file(out / "latest.json", json{{"checkpoint", "checkpoints/" + step_name(step)}, {"step", step},
                                            {"weights_sha256", state["weights_sha256"]}});
  atomic_write_text(out / "train_log.jsonl", log_text(log));
  // prune old checkpoints (never the newest)
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(ckdir))
    if (e.is_directory() && e.path().filename().string().rfind("step-", 0) == 0) dirs.push_back(e.path());
  std::sort(dirs.begin(), dirs.end());
  for (std::size_t i = 0; i + keep < dirs.size(); ++i)
    if (dirs[i] != final_dir) fs::remove_all(dirs[i]);
}

void load_module(const fs::path& p, torch::nn::Module& m) {
  try {
    torch::serialize::InputArchive ar;
    ar.load_from(p.string());
    m.load(ar);
  } catch (const c10::Error& e) {
    throw InputError(at_file(p.string(), std::string("cannot load checkpoint: ") + e.what_without_backtrace()));
  }
}

// Trains the KL autoencoder; returns the latent scale (1 / std of the latents).
double train_autoencoder(Autoencoder& ae, const EngineConfig& c, const TrainData& d, const torch::Device& dev,
                         std::uint64_t seed, json& info) {
  const auto& a = c.autoencoder;
  torch::optim::Adam opt(ae->parameters(), torch::optim::AdamOptions(a.lr));
  Progress prog("train autoencoder", a.steps, "steps");
  double last = 0;
  const auto t0 = Clock::now();
  for (int k = 0; k < a.steps; ++k) {
    StepRng r(stats::derive_seed(seed, 0xAE), static_cast<std::uint64_t>(k));
    auto x = draw_batch(d, a.batch, 0.0, c.train.hflip, r).first.to(dev);
    auto [mean, logvar] = ae->encode(x);
    auto eps = torch::randn(mean.sizes(), r.gen, torch::kFloat32).to(dev);
    auto z = mean + (0.5 * logvar).exp() * eps;
    auto rec = ae->decode(z);
    auto kl = 0.5 * (mean.pow(2) + logvar.exp() - 1 - logvar).sum({1, 2, 3}).mean();
    auto loss = (rec - x).abs().mean() + torch::mse_loss(rec, x) + a.kl_weight * kl;
    opt.zero_grad();
    loss.backward();
    opt.step();
    last = loss.item<double>();
    prog.advance();
  }
  prog.finish();
  // latent scale from (up to) 1024 training images
  torch::NoGradGuard ng;
  ae->eval();
  const auto n = std::min<std::int64_t>(1024, d.images.size(0));
  auto z = ae->encode(d.images.slice(0, 0, n).to(dev)).first;
  const double std = z.std().item<double>();
  info = {{"steps", a.steps}, {"final_loss", last}, {"seconds", std::chrono::duration<double>(Clock::now() - t0).count()},
          {"latent_std", std}};
  return std > 0 ? 1.0 / std : 1.0;
}

EngineConfig resolve_config(const TrainOptions& opt, bool& from_run) {
  from_run = false;
  const auto stored = opt.out / "config.json";
  EngineConfig c;
  if (opt.resume && fs::exists(opt.out / "latest.json")) {
    c = load_config(stored);
    from_run = true;
    if (opt.config_path) {
      const auto given = load_config(*opt.config_path);
      auto a = config_to_json(given), b = config_to_json(c);
      a["train"].erase("steps");
      b["train"].erase("steps");
      if (a != b)
        throw OptionError("config", opt.config_path->string() + " differs from the run's " + stored.string() +
                                      " (resume uses the stored configuration; only steps may change)");
    }
    if (opt.batch && *opt.batch != c.train.batch)
      throw OptionError("batch", std::to_string(*opt.batch) + " differs from the run's batch " + std::to_string(c.train.batch));
    if (opt.seed && *opt.seed != c.train.seed)
      throw OptionError("seed", std::to_string(*opt.seed) + " differs from the run's seed " + std::to_string(c.train.seed));
  } else {
    c = opt.config_path ? load_config(*opt.config_path) : EngineConfig{};
    if (opt.batch) c.train.batch = *opt.batch;
    if (opt.seed) c.train.seed = *opt.seed;
  }
  if (opt.steps) c.train.steps = *opt.steps;
  if (c.train.batch < 1) throw OptionError("batch", "must be >= 1");
  if (c.train.steps < 1) throw OptionError("steps", "must be >= 1");
  validate_config(c, opt.config_path ? opt.config_path->string() : "config");
  return c;
}

}  // namespace

TrainResult train(const TrainOptions& opt) {
  const auto wall0 = Clock::now();
  const auto dev = parse_device(opt.device);
  if (opt.out.empty()) throw OptionError("out", "a run directory is required");
  if (!opt.resume && fs::exists(opt.out / "latest.json"))
    throw OptionError("out", opt.out.string() + " already holds a training run (latest.json); resume it (set resume) or choose a new folder");
  bool from_run = false;
  EngineConfig c = resolve_config(opt, from_run);
  ensure_dir(opt.out);
  const std::uint64_t seed = c.train.seed;

  TrainData data = load_training_data(opt, c);
  // Vocabulary and prompt table: from the training prompts (stored ones win on resume).
  Tokenizer tok = Tokenizer::build(data.prompts);
  if (from_run) {
    const auto stored = Tokenizer::from_json(read_json_file(opt.out / "vocab.json"), (opt.out / "vocab.json").string());
    if (stored.words() != tok.words())
      throw OptionError("data", "the training prompts' vocabulary differs from the run's vocab.json (different data?)");
    const auto dj = read_json_file(opt.out / "data.json");
    if (dj.value("sources", json::array()) != data.info["sources"])
      throw OptionError("data", "datasets or their manifest hashes differ from the run's data.json; resume needs the same data");
  }
  data.prompt_tokens = encode_prompts(tok, data.prompts, c.text.max_tokens);
  for (const auto& p : data.prompts) {
    bool trunc = false;
    tok.encode(p, c.text.max_tokens, &trunc);
    if (trunc) log_warn("prompt '" + p + "' is longer than text.max_tokens=" + std::to_string(c.text.max_tokens) + " and is truncated");
  }
  if (!from_run) {
    write_json_file(opt.out / "config.json", config_to_json(c));
    write_json_file(opt.out / "vocab.json", tok.to_json());
    write_json_file(opt.out / "prompts.json", data.table.to_json());
    write_json_file(opt.out / "data.json", data.info);
  } else if (opt.steps) {
    write_json_file(opt.out / "config.json", config_to_json(c));  // extended step count
  }

  // ---- autoencoder ----
  double latent_scale = 1.0;
  if (c.autoencoder.factor > 1) {
    Autoencoder ae(c);
    const fs::path src = c.autoencoder.pretrained.empty() ? opt.out : fs::path(c.autoencoder.pretrained);
    auto s = load_autoencoder(src, ae);
    if (!s && !c.autoencoder.pretrained.empty())
      throw InputError("autoencoder.pretrained: " + src.string() + " has no autoencoder.pt/autoencoder.json");
    if (!s) {
      torch::manual_seed(stats::derive_seed(seed, 0xAE0));
      ae = Autoencoder(c);
      ae->to(dev);
      json info;
      latent_scale = train_autoencoder(ae, c, data, dev, seed, info);
      save_autoencoder(opt.out, ae, latent_scale, info);
    } else {
      latent_scale = *s;
      if (src != opt.out) save_autoencoder(opt.out, ae, latent_scale, {{"pretrained", fs::absolute(src).string()}});
    }
    ae->to(dev);
    ae->eval();
    torch::NoGradGuard ng;
    std::vector<torch::Tensor> zs;
    for (std::int64_t i = 0; i < data.images.size(0); i += 256)
      zs.push_back(ae->encode(data.images.slice(0, i, std::min<std::int64_t>(i + 256, data.images.size(0))).to(dev)).first.to(torch::kCPU));
    data.images = torch::cat(zs) * latent_scale;
  }

  // ---- diffusion ----
  DiffusionTrainer tr(c, tok.vocab_size(), dev, seed);
  std::vector<LogRow> log;
  int start = 0;
  double wall_offset = 0;
  if (from_run) {
    const fs::path ck = latest_checkpoint(opt.out);
    load_module(ck / "model.pt", *tr.model);
    load_module(ck / "ema.pt", *tr.ema);
    try {
      torch::serialize::InputArchive ar;
      ar.load_from((ck / "optim.pt").string());
      tr.opt->load(ar);
    } catch (const c10::Error& e) {
      throw InputError(at_file((ck / "optim.pt").string(), std::string("cannot load optimizer state: ") + e.what_without_backtrace()));
    }
    const auto st = read_json_file(ck / "state.json");
    start = st.at("step").get<int>();
    if (st.value("weights_sha256", "") != combined_hash(tr))
      throw InputError(at_file((ck / "state.json").string(), "weights do not match the recorded weights_sha256 (corrupt checkpoint)"));
    log = parse_log(ck / "train_log.jsonl");
    if (!log.empty()) wall_offset = log.back().wall_s;
    log_info("resuming " + opt.out.string() + " from step " + std::to_string(start));
  }
  const char* abort_env = std::getenv("MEDSYN_ENGINE_ABORT_AFTER_STEP");  // tests: simulate a kill
  const int abort_after = abort_env ? std::atoi(abort_env) : -1;
  const json state_extra{{"seed", seed}, {"config_sha256", sha256_hex(config_to_json(c).dump())},
                         {"vocab_sha256", sha256_hex(tok.to_json().dump())},
                         {"data", data.info["sources"]}, {"latent_scale", latent_scale}, {"device", dev.str()},
                         {"provenance", provenance_json(json{{"seed", seed}, {"device", dev.str()}, {"command", "train"}})}};
  Progress prog("train diffusion", c.train.steps, "steps");
  prog.set(start);
  const auto seg0 = Clock::now();
  for (int k = start; k < c.train.steps; ++k) {
    const auto r = tr.step(k, data, c.train.batch);
    if (!std::isfinite(r.loss))
      throw CheckFailed("training diverged at step " + std::to_string(k + 1) + " (loss " + std::to_string(r.loss) + "); lower train.lr");
    log.push_back({k + 1, r.loss, r.lr, wall_offset + std::chrono::duration<double>(Clock::now() - seg0).count()});
    prog.advance();
    const bool last = k + 1 == c.train.steps;
    if ((k + 1) % c.train.checkpoint_every == 0 || last)
      write_checkpoint(opt.out, k + 1, tr, log, state_extra, c.train.keep_checkpoints);
    if (abort_after == k + 1) std::_Exit(137);
  }
  prog.finish();
  if (start >= c.train.steps && !fs::exists(opt.out / "latest.json"))
    write_checkpoint(opt.out, start, tr, log, state_extra, c.train.keep_checkpoints);

  TrainResult res;
  res.steps = c.train.steps;
  res.resumed_from = start;
  const std::size_t tail = std::min<std::size_t>(50, log.size());
  for (std::size_t i = log.size() - tail; i < log.size(); ++i) res.final_loss += log[i].loss / static_cast<double>(tail);
  res.weights_sha256 = combined_hash(tr);
  res.checkpoint = opt.out / "checkpoints" / step_name(c.train.steps);
  res.seconds = std::chrono::duration<double>(Clock::now() - wall0).count();
  // compute accounting recorded with the run
  CostOptions co;
  co.checkpoint = opt.out;
  co.device = opt.device;
  co.measure = std::getenv("MEDSYN_ENGINE_SKIP_COST_TIMING") == nullptr;
  co.measure_steps = 0;  // training time comes from the log
  write_json_file(opt.out / "cost.json", engine_cost(co));
  return res;
}

json engine_cost(const CostOptions& opt) {
  const auto dev = parse_device(opt.device);
  LoadedRun run;
  bool have_run = false;
  if (opt.checkpoint) {
    run = load_run(*opt.checkpoint, dev, true);
    have_run = true;
  } else if (opt.config_path) {
    run.cfg = load_config(*opt.config_path);
    run.tok = Tokenizer::build({"chest x-ray, pneumonia", "breast ultrasound, malignant", "fundus photograph, diabetic retinopathy grade 2"});
  } else {
    throw InputError("engine cost: give a checkpoint (a run folder) or a config (engine.json)");
  }
  const auto& c = run.cfg;
  json out = count_cost(c, static_cast<int>(run.tok.vocab_size()));
  out["config"] = config_to_json(c);
  out["source"] = have_run ? fs::absolute(run.run_dir).string() : fs::absolute(*opt.config_path).string();
  json measured = json::object();
  measured["device"] = dev.str();
  measured["threads"] = torch::get_num_threads();
  if (have_run && fs::exists(run.run_dir / "train_log.jsonl")) {
    const auto log = parse_log(run.run_dir / "train_log.jsonl");
    if (log.size() >= 2) {
      measured["train_s_per_step"] = (log.back().wall_s - log.front().wall_s) / static_cast<double>(log.size() - 1);
      measured["train_s_per_step_source"] = "training log (" + std::to_string(log.size()) + " steps)";
      measured["train_wall_s"] = log.back().wall_s;
    }
  }
  if (opt.measure) {
    if (!measured.contains("train_s_per_step") && opt.measure_steps > 0) {
      TrainData d;
      auto g = cpu_generator(1);
      const int n = std::max(2, c.train.batch);
      d.images = torch::rand({n, c.latent_channels(), c.latent_size(), c.latent_size()}, g) * 2 - 1;
      d.prompts = {"chest x-ray, pneumonia"};
      d.prompt_of.assign(n, 0);
      d.groups.emplace_back();
      for (int i = 0; i < n; ++i) d.groups[0].push_back(i);
      d.prompt_tokens = encode_prompts(run.tok, d.prompts, c.text.max_tokens);
      DiffusionTrainer tr(c, run.tok.vocab_size(), dev, 0);
      tr.step(0, d, c.train.batch);  // warm-up
      const auto t0 = Clock::now();
      for (int k = 1; k <= opt.measure_steps; ++k) tr.step(k, d, c.train.batch);
      measured["train_s_per_step"] = std::chrono::duration<double>(Clock::now() - t0).count() / opt.measure_steps;
      measured["train_s_per_step_source"] = "timed " + std::to_string(opt.measure_steps) + " steps on random data, batch " + std::to_string(c.train.batch);
    }
    if (!have_run) {
      torch::manual_seed(0);
      run.model = DiffusionModel(c, run.tok.vocab_size());
      run.model->to(dev);
      run.model->eval();
      if (c.autoencoder.factor > 1) {
        run.ae = Autoencoder(c);
        run.ae->to(dev);
        run.ae->eval();
      }
    }
    SamplerSpec spec;
    spec.sampler = c.sample.sampler;
    spec.steps = c.sample.steps;
    spec.eta = c.sample.eta;
    spec.prediction = c.diffusion.prediction;
    spec.dynamic_threshold = c.autoencoder.factor == 1 ? c.sample.dynamic_threshold : 0.0;
    const int n = std::min(8, c.sample.batch);
    std::vector<std::uint64_t> seeds;
    for (int i = 0; i < n; ++i) seeds.push_back(static_cast<std::uint64_t>(i));
    const auto t0 = Clock::now();
    sample_images(run, "chest x-ray, pneumonia", seeds, spec, c.sample.guidance, dev, c.sample.guidance_rescale);
    measured["sample_s_per_image"] = std::chrono::duration<double>(Clock::now() - t0).count() / n;
    measured["sample_s_per_image_source"] = "sampled " + std::to_string(n) + " images in one batch, " + spec.sampler + " " +
                                            std::to_string(spec.steps) + " steps, guidance " + std::to_string(c.sample.guidance);
  }
  out["measured"] = measured;
  out["provenance"] = provenance_json(json{{"device", dev.str()}});
  return out;
}

}  // namespace medsyn::engine

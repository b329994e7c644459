// EngineConfig <-> JSON with field-naming errors, and structural validation.
#include <set>

#include "medsyn/core/error.h"
#include "medsyn/core/json.h"
#include "medsyn/engine/config.h"

namespace medsyn::engine {
namespace {

struct Reader {
  const json& obj;
  std::string where, prefix;
  std::set<std::string> seen;

  Reader(const json& o, std::string w, std::string p) : obj(o), where(std::move(w)), prefix(std::move(p)) {
    if (!obj.is_object()) fail("", "expected an object");
  }
  [[noreturn]] void fail(const std::string& key, const std::string& msg) const {
    const std::string f = prefix.empty() ? key : (key.empty() ? prefix : prefix + "." + key);
    throw InputError(where + ": field '" + f + "': " + msg);
  }
  const json* get(const std::string& key) {
    seen.insert(key);
    auto it = obj.find(key);
    return it == obj.end() ? nullptr : &*it;
  }
  void integer(const std::string& key, int& v, int lo, int hi) {
    if (auto* p = get(key)) {
      if (!p->is_number_integer()) fail(key, "expected an integer");
      const long long x = p->get<long long>();
      if (x < lo || x > hi) fail(key, "must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " + std::to_string(x));
      v = static_cast<int>(x);
    }
  }
  void u64(const std::string& key, std::uint64_t& v) {
    if (auto* p = get(key)) {
      if (!p->is_number_integer() || p->get<long long>() < 0) fail(key, "expected a non-negative integer");
      v = p->get<std::uint64_t>();
    }
  }
  void number(const std::string& key, double& v, double lo, double hi) {
    if (auto* p = get(key)) {
      if (!p->is_number()) fail(key, "expected a number");
      const double x = p->get<double>();
      if (!(x >= lo && x <= hi)) fail(key, "must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
      v = x;
    }
  }
  void boolean(const std::string& key, bool& v) {
    if (auto* p = get(key)) {
      if (!p->is_boolean()) fail(key, "expected true or false");
      v = p->get<bool>();
    }
  }
  void string(const std::string& key, std::string& v, const std::vector<std::string>& allowed = {}) {
    if (auto* p = get(key)) {
      if (!p->is_string()) fail(key, "expected a string");
      const auto s = p->get<std::string>();
      if (!allowed.empty()) {
        bool ok = false;
        std::string list;
        for (const auto& a : allowed) {
          ok = ok || a == s;
          list += (list.empty() ? "" : ", ") + a;
        }
        if (!ok) fail(key, "'" + s + "' is not one of: " + list);
      }
      v = s;
    }
  }
  void ints(const std::string& key, std::vector<int>& v, bool allow_empty) {
    if (auto* p = get(key)) {
      if (!p->is_array() || (!allow_empty && p->empty())) fail(key, std::string("expected ") + (allow_empty ? "an" : "a non-empty") + " array of positive integers");
      std::vector<int> out;
      for (const auto& e : *p) {
        if (!e.is_number_integer() || e.get<long long>() < 1 || e.get<long long>() > 65536) fail(key, "expected an array of positive integers");
        out.push_back(e.get<int>());
      }
      v = out;
    }
  }
  void strings(const std::string& key, std::vector<std::string>& v) {
    if (auto* p = get(key)) {
      if (!p->is_array()) fail(key, "expected an array of strings");
      std::vector<std::string> out;
      for (const auto& e : *p) {
        if (!e.is_string()) fail(key, "expected an array of strings");
        out.push_back(e.get<std::string>());
      }
      v = out;
    }
  }
  Reader sub(const std::string& key) {
    static const json empty = json::object();
    const json* p = get(key);
    return Reader(p ? *p : empty, where, prefix.empty() ? key : prefix + "." + key);
  }
  void done() const {
    for (auto it = obj.begin(); it != obj.end(); ++it)
      if (!seen.count(it.key())) fail(it.key(), "unknown field (check the spelling; see docs/engine.md)");
  }
};

}  // namespace

EngineConfig config_from_json(const json& j, const std::string& where) {
  EngineConfig c;
  Reader r(j, where, "");
  r.string("name", c.name);
  r.integer("image_size", c.image_size, 4, 4096);
  r.integer("channels", c.channels, 1, 4);
  {
    auto a = r.sub("autoencoder");
    auto& x = c.autoencoder;
    a.integer("factor", x.factor, 1, 64);
    a.integer("latent_channels", x.latent_channels, 1, 64);
    a.ints("channels", x.channels, false);
    a.integer("groups", x.groups, 1, 1024);
    a.number("kl_weight", x.kl_weight, 0, 1e3);
    a.integer("steps", x.steps, 0, 100000000);
    a.integer("batch", x.batch, 1, 65536);
    a.number("lr", x.lr, 0, 10);
    a.string("pretrained", x.pretrained);
    a.done();
  }
  {
    auto u = r.sub("unet");
    auto& x = c.unet;
    u.ints("channels", x.channels, false);
    u.integer("res_blocks", x.res_blocks, 1, 16);
    u.ints("self_attention_resolutions", x.self_attention_resolutions, true);
    u.ints("cross_attention_resolutions", x.cross_attention_resolutions, true);
    u.boolean("mid_attention", x.mid_attention);
    u.integer("heads", x.heads, 1, 64);
    u.integer("groups", x.groups, 1, 1024);
    u.integer("ff_mult", x.ff_mult, 1, 16);
    u.boolean("pooled_text", x.pooled_text);
    u.number("dropout", x.dropout, 0, 0.99);
    u.done();
  }
  {
    auto t = r.sub("text");
    auto& x = c.text;
    t.integer("dim", x.dim, 1, 8192);
    t.integer("layers", x.layers, 0, 64);
    t.integer("heads", x.heads, 1, 64);
    t.integer("max_tokens", x.max_tokens, 2, 1024);
    t.integer("ff_mult", x.ff_mult, 1, 16);
    t.done();
  }
  {
    auto d = r.sub("diffusion");
    auto& x = c.diffusion;
    d.string("schedule", x.schedule, {"linear", "scaled_linear", "cosine"});
    d.integer("timesteps", x.timesteps, 2, 100000);
    d.number("beta_start", x.beta_start, 1e-8, 0.5);
    d.number("beta_end", x.beta_end, 1e-8, 0.999);
    d.number("cosine_s", x.cosine_s, 0, 1);
    d.string("prediction", x.prediction, {"eps", "v"});
    d.boolean("clip_sample", x.clip_sample);
    d.boolean("zero_terminal_snr", x.zero_terminal_snr);
    d.done();
  }
  {
    auto t = r.sub("train");
    auto& x = c.train;
    t.integer("steps", x.steps, 0, 100000000);
    t.integer("batch", x.batch, 1, 65536);
    t.number("lr", x.lr, 0, 10);
    t.integer("warmup", x.warmup, 0, 100000000);
    t.number("weight_decay", x.weight_decay, 0, 10);
    t.number("grad_clip", x.grad_clip, 0, 1e6);
    t.number("ema_decay", x.ema_decay, 0, 1);
    t.number("cond_drop", x.cond_drop, 0, 1);
    t.integer("checkpoint_every", x.checkpoint_every, 1, 100000000);
    t.integer("keep_checkpoints", x.keep_checkpoints, 1, 1000);
    t.u64("seed", x.seed);
    t.string("balance", x.balance, {"none", "modality", "prompt"});
    t.strings("splits", x.splits);
    t.boolean("hflip", x.hflip);
    t.done();
  }
  {
    auto s = r.sub("sample");
    auto& x = c.sample;
    s.string("sampler", x.sampler, {"ddim", "ddpm", "dpmpp2m"});
    s.integer("steps", x.steps, 1, 100000);
    s.number("guidance", x.guidance, 0, 100);
    s.number("eta", x.eta, 0, 1);
    s.boolean("use_ema", x.use_ema);
    s.integer("batch", x.batch, 1, 65536);
    s.number("guidance_rescale", x.guidance_rescale, 0, 1);
    s.number("dynamic_threshold", x.dynamic_threshold, 0, 1);
    s.done();
  }
  r.done();
  validate_config(c, where);
  return c;
}

EngineConfig load_config(const std::filesystem::path& path) {
  return config_from_json(read_json_file(path), path.string());
}

json config_to_json(const EngineConfig& c) {
  const auto& a = c.autoencoder;
  const auto& u = c.unet;
  const auto& t = c.text;
  const auto& d = c.diffusion;
  const auto& tr = c.train;
  const auto& s = c.sample;
  return json{{"name", c.name},
              {"image_size", c.image_size},
              {"channels", c.channels},
              {"autoencoder",
               {{"factor", a.factor}, {"latent_channels", a.latent_channels}, {"channels", a.channels},
                {"groups", a.groups}, {"kl_weight", a.kl_weight}, {"steps", a.steps}, {"batch", a.batch},
                {"lr", a.lr}, {"pretrained", a.pretrained}}},
              {"unet",
               {{"channels", u.channels}, {"res_blocks", u.res_blocks},
                {"self_attention_resolutions", u.self_attention_resolutions},
                {"cross_attention_resolutions", u.cross_attention_resolutions}, {"mid_attention", u.mid_attention},
                {"heads", u.heads}, {"groups", u.groups}, {"ff_mult", u.ff_mult}, {"pooled_text", u.pooled_text},
                {"dropout", u.dropout}}},
              {"text", {{"dim", t.dim}, {"layers", t.layers}, {"heads", t.heads}, {"max_tokens", t.max_tokens}, {"ff_mult", t.ff_mult}}},
              {"diffusion",
               {{"schedule", d.schedule}, {"timesteps", d.timesteps}, {"beta_start", d.beta_start},
                {"beta_end", d.beta_end}, {"cosine_s", d.cosine_s}, {"prediction", d.prediction},
                {"clip_sample", d.clip_sample}, {"zero_terminal_snr", d.zero_terminal_snr}}},
              {"train",
               {{"steps", tr.steps}, {"batch", tr.batch}, {"lr", tr.lr}, {"warmup", tr.warmup},
                {"weight_decay", tr.weight_decay}, {"grad_clip", tr.grad_clip}, {"ema_decay", tr.ema_decay},
                {"cond_drop", tr.cond_drop}, {"checkpoint_every", tr.checkpoint_every},
                {"keep_checkpoints", tr.keep_checkpoints}, {"seed", tr.seed}, {"balance", tr.balance},
                {"splits", tr.splits}, {"hflip", tr.hflip}}},
              {"sample",
               {{"sampler", s.sampler}, {"steps", s.steps}, {"guidance", s.guidance}, {"eta", s.eta},
                {"use_ema", s.use_ema}, {"batch", s.batch}, {"guidance_rescale", s.guidance_rescale},
                {"dynamic_threshold", s.dynamic_threshold}}}};
}

void validate_config(const EngineConfig& c, const std::string& where) {
  auto fail = [&](const std::string& field, const std::string& msg) {
    throw InputError(where + ": field '" + field + "': " + msg);
  };
  const int f = c.autoencoder.factor;
  if (f & (f - 1)) fail("autoencoder.factor", "must be a power of two (1 = pixel space), got " + std::to_string(f));
  if (c.image_size % f) fail("autoencoder.factor", "image_size " + std::to_string(c.image_size) + " is not divisible by " + std::to_string(f));
  if (f > 1) {
    int levels = 0;
    for (int x = f; x > 1; x /= 2) ++levels;
    if (static_cast<int>(c.autoencoder.channels.size()) < levels)
      fail("autoencoder.channels", "needs at least log2(factor) = " + std::to_string(levels) + " entries");
    for (int ch : c.autoencoder.channels)
      if (ch % c.autoencoder.groups) fail("autoencoder.groups", std::to_string(c.autoencoder.groups) + " does not divide channel count " + std::to_string(ch));
  }
  const int levels = static_cast<int>(c.unet.channels.size());
  const int res = c.latent_size();
  const int div = 1 << (levels - 1);
  if (res % div)
    fail("unet.channels", std::to_string(levels) + " levels halve the " + std::to_string(res) + "x" + std::to_string(res) +
                              " grid " + std::to_string(levels - 1) + " times; the size must be divisible by " + std::to_string(div));
  for (int ch : c.unet.channels) {
    if (ch % c.unet.groups) fail("unet.groups", std::to_string(c.unet.groups) + " does not divide channel count " + std::to_string(ch));
    if (ch % c.unet.heads) fail("unet.heads", std::to_string(c.unet.heads) + " does not divide channel count " + std::to_string(ch));
  }
  auto check_res = [&](const std::vector<int>& list, const std::string& field) {
    for (int r : list) {
      bool ok = false;
      for (int l = 0; l < levels; ++l) ok = ok || (res >> l) == r;
      if (!ok) fail(field, "resolution " + std::to_string(r) + " is not one of the UNet's grid sizes (" + std::to_string(res) + " halved per level)");
    }
  };
  check_res(c.unet.self_attention_resolutions, "unet.self_attention_resolutions");
  check_res(c.unet.cross_attention_resolutions, "unet.cross_attention_resolutions");
  if (c.text.dim % c.text.heads) fail("text.heads", std::to_string(c.text.heads) + " does not divide text.dim " + std::to_string(c.text.dim));
  if (c.diffusion.beta_end < c.diffusion.beta_start) fail("diffusion.beta_end", "must be >= beta_start");
  if (c.sample.steps > c.diffusion.timesteps) fail("sample.steps", "exceeds diffusion.timesteps");
  if (c.diffusion.zero_terminal_snr && c.diffusion.prediction != "v")
    fail("diffusion.zero_terminal_snr", "needs prediction \"v\" (an eps model cannot recover x0 at zero signal)");
}

}  // namespace medsyn::engine

// Model definitions (see model.h): autoencoder, UNet, text encoder, FLOP counting.
#include "model.h"

#include <algorithm>
#include <cmath>

#include "medsyn/core/hashing.h"

namespace medsyn::engine::detail {

namespace {
thread_local FlopCounter* g_counter = nullptr;
void count(const std::string& name, const char* kind, double flops) {
  if (g_counter) g_counter->layers.push_back({name, kind, flops});
}
namespace F = torch::nn::functional;
// Submodule names may not contain dots; layer names (for FLOP reports) keep them.
std::string key(std::string n) {
  std::replace(n.begin(), n.end(), '.', '_');
  return n;
}
}  // namespace

double FlopCounter::total(const std::string& kind) const {
  double s = 0;
  for (const auto& l : layers)
    if (kind.empty() || l.kind == kind) s += l.flops;
  return s;
}
CountFlops::CountFlops(FlopCounter& c) : prev_(g_counter) { g_counter = &c; }
CountFlops::~CountFlops() { g_counter = prev_; }

// ---- Conv / Linear -----------------------------------------------------------------------------
ConvImpl::ConvImpl(const std::string& n, int cin, int cout, int k, int stride) : name(n) {
  conv = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(cin, cout, k).stride(stride).padding(k / 2)));
}
torch::Tensor ConvImpl::forward(const torch::Tensor& x) {
  auto y = conv->forward(x);
  if (g_counter) {
    const auto& w = conv->weight;  // cout x cin x kh x kw
    const double macs = static_cast<double>(y.numel()) * w.size(1) * w.size(2) * w.size(3);
    count(name, "conv", 2 * macs);
  }
  return y;
}
LinearImpl::LinearImpl(const std::string& n, int in, int out, bool bias) : name(n) {
  lin = register_module("lin", torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(bias)));
}
torch::Tensor LinearImpl::forward(const torch::Tensor& x) {
  auto y = lin->forward(x);
  if (g_counter) count(name, "linear", 2.0 * static_cast<double>(y.numel()) * lin->weight.size(1));
  return y;
}

torch::Tensor attention(const std::string& name, const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        int heads, const torch::Tensor& key_mask) {
  const auto B = q.size(0), Lq = q.size(1), Lk = k.size(1), C = q.size(2);
  const auto d = C / heads;
  auto qh = q.view({B, Lq, heads, d}).transpose(1, 2);
  auto kh = k.view({B, Lk, heads, d}).transpose(1, 2);
  auto vh = v.view({B, Lk, heads, d}).transpose(1, 2);
  auto scores = torch::matmul(qh, kh.transpose(-2, -1)) * (1.0 / std::sqrt(static_cast<double>(d)));
  if (key_mask.defined()) scores = scores.masked_fill(key_mask.logical_not().view({B, 1, 1, Lk}), -1e9);
  auto out = torch::matmul(torch::softmax(scores, -1), vh);
  if (g_counter) count(name, "attention", 2.0 * 2.0 * static_cast<double>(B) * heads * Lq * Lk * d);
  return out.transpose(1, 2).reshape({B, Lq, C});
}

torch::Tensor timestep_embedding(const torch::Tensor& t, int dim) {
  const int half = dim / 2;
  auto freqs = torch::exp(-std::log(10000.0) * torch::arange(half, torch::TensorOptions().dtype(torch::kFloat32).device(t.device())) / half);
  auto args = t.to(torch::kFloat32).unsqueeze(1) * freqs.unsqueeze(0);
  auto emb = torch::cat({torch::cos(args), torch::sin(args)}, 1);
  if (dim % 2) emb = torch::cat({emb, torch::zeros({t.size(0), 1}, emb.options())}, 1);
  return emb;
}

// ---- ResBlock -------------------------------------------------------------------------------------
ResBlockImpl::ResBlockImpl(const std::string& n, int cin, int cout, int temb, int groups, double dr) : dropout(dr) {
  norm1 = register_module("norm1", torch::nn::GroupNorm(std::min(groups, cin), cin));
  conv1 = register_module("conv1", Conv(n + ".conv1", cin, cout, 3));
  if (temb > 0) temb_proj = register_module("temb_proj", Linear(n + ".temb_proj", temb, cout));
  norm2 = register_module("norm2", torch::nn::GroupNorm(std::min(groups, cout), cout));
  conv2 = register_module("conv2", Conv(n + ".conv2", cout, cout, 3));
  if (cin != cout) skip = register_module("skip", Conv(n + ".skip", cin, cout, 1));
  torch::NoGradGuard ng;
  conv2->conv->weight.mul_(0.1);  // near-identity residual at init
}
torch::Tensor ResBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& temb) {
  auto h = conv1(torch::silu(norm1(x)));
  if (temb_proj) h = h + temb_proj(torch::silu(temb)).unsqueeze(-1).unsqueeze(-1);
  h = torch::silu(norm2(h));
  if (dropout > 0) h = torch::dropout(h, dropout, is_training());
  h = conv2(h);
  return (skip ? skip(x) : x) + h;
}

// ---- attention block -----------------------------------------------------------------------------
AttnBlockImpl::AttnBlockImpl(const std::string& n, int ch, int h, int groups, int ctx_dim, bool sa, bool ca, int ff)
    : name(n), heads(h), self_attn(sa), cross_attn(ca) {
  norm = register_module("norm", torch::nn::GroupNorm(std::min(groups, ch), ch));
  proj_in = register_module("proj_in", Linear(n + ".proj_in", ch, ch));
  if (sa) {
    ln1 = register_module("ln1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({ch})));
    q1 = register_module("q1", Linear(n + ".self.q", ch, ch, false));
    k1 = register_module("k1", Linear(n + ".self.k", ch, ch, false));
    v1 = register_module("v1", Linear(n + ".self.v", ch, ch, false));
    o1 = register_module("o1", Linear(n + ".self.out", ch, ch));
  }
  if (ca) {
    ln2 = register_module("ln2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({ch})));
    q2 = register_module("q2", Linear(n + ".cross.q", ch, ch, false));
    k2 = register_module("k2", Linear(n + ".cross.k", ctx_dim, ch, false));
    v2 = register_module("v2", Linear(n + ".cross.v", ctx_dim, ch, false));
    o2 = register_module("o2", Linear(n + ".cross.out", ch, ch));
  }
  ln3 = register_module("ln3", torch::nn::LayerNorm(torch::nn::LayerNormOptions({ch})));
  ff1 = register_module("ff1", Linear(n + ".ff1", ch, ch * ff));
  ff2 = register_module("ff2", Linear(n + ".ff2", ch * ff, ch));
  proj_out = register_module("proj_out", Linear(n + ".proj_out", ch, ch));
  torch::NoGradGuard ng;
  proj_out->lin->weight.mul_(0.1);
}
torch::Tensor AttnBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& ctx, const torch::Tensor& ctx_mask) {
  const auto B = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  auto h = norm(x).flatten(2).transpose(1, 2);  // B x HW x C
  h = proj_in(h);
  if (self_attn) {
    auto y = ln1(h);
    h = h + o1(attention(name + ".self", q1(y), k1(y), v1(y), heads, torch::Tensor()));
  }
  if (cross_attn) {
    auto y = ln2(h);
    h = h + o2(attention(name + ".cross", q2(y), k2(ctx), v2(ctx), heads, ctx_mask));
  }
  h = h + ff2(torch::gelu(ff1(ln3(h))));
  h = proj_out(h).transpose(1, 2).reshape({B, C, H, W});
  return x + h;
}

// ---- text encoder ----------------------------------------------------------------------------------
TextEncoderImpl::TextEncoderImpl(const TextConfig& c, std::int64_t vocab) : cfg(c) {
  emb = register_module("emb", torch::nn::Embedding(vocab, c.dim));
  pos = register_parameter("pos", torch::randn({c.max_tokens, c.dim}) * 0.02);
  for (int i = 0; i < c.layers; ++i) {
    const std::string n = "text.layer" + std::to_string(i);
    Layer l;
    l.ln1 = register_module(key(n + "_ln1"), torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.dim})));
    l.qkv = register_module(key(n + "_qkv"), Linear(n + ".qkv", c.dim, 3 * c.dim));
    l.out = register_module(key(n + "_out"), Linear(n + ".out", c.dim, c.dim));
    l.ln2 = register_module(key(n + "_ln2"), torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.dim})));
    l.ff1 = register_module(key(n + "_ff1"), Linear(n + ".ff1", c.dim, c.dim * c.ff_mult));
    l.ff2 = register_module(key(n + "_ff2"), Linear(n + ".ff2", c.dim * c.ff_mult, c.dim));
    layers.push_back(l);
  }
  final_ln = register_module("final_ln", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.dim})));
}
TextOut TextEncoderImpl::forward(const torch::Tensor& ids) {
  const auto L = ids.size(1);
  auto mask = ids.ne(0);
  auto x = emb(ids) + pos.slice(0, 0, L).unsqueeze(0);
  for (auto& l : layers) {
    auto qkv = l.qkv(l.ln1(x)).chunk(3, -1);
    x = x + l.out(attention("text.attn", qkv[0], qkv[1], qkv[2], cfg.heads, mask));
    x = x + l.ff2(torch::gelu(l.ff1(l.ln2(x))));
  }
  x = final_ln(x);
  auto m = mask.unsqueeze(-1).to(x.dtype());
  auto pooled = (x * m).sum(1) / m.sum(1).clamp_min(1.0);
  return {x, mask, pooled};
}

// ---- UNet ----------------------------------------------------------------------------------------------
UNetImpl::UNetImpl(const EngineConfig& c) : cfg(c.unet) {
  const auto& u = c.unet;
  base = u.channels[0];
  const int temb = 4 * base;
  const int cin = c.latent_channels();
  const int L = static_cast<int>(u.channels.size());
  auto has = [](const std::vector<int>& v, int r) { return std::find(v.begin(), v.end(), r) != v.end(); };
  conv_in = register_module("conv_in", Conv("unet.conv_in", cin, base, 3));
  t1 = register_module("t1", Linear("unet.time1", base, temb));
  t2 = register_module("t2", Linear("unet.time2", temb, temb));
  if (u.pooled_text) pooled_proj = register_module("pooled_proj", Linear("unet.pooled_text", c.text.dim, temb));
  std::vector<int> skips{base};
  int ch = base, res = c.latent_size();
  for (int l = 0; l < L; ++l) {
    Level lv;
    const int out = u.channels[l];
    const bool sa = has(u.self_attention_resolutions, res), ca = has(u.cross_attention_resolutions, res);
    for (int r = 0; r < u.res_blocks; ++r) {
      const std::string n = "unet.down" + std::to_string(l) + ".res" + std::to_string(r);
      lv.res.push_back(register_module(key(n), ResBlock(n, ch, out, temb, u.groups, u.dropout)));
      ch = out;
      if (sa || ca) {
        const std::string an = "unet.down" + std::to_string(l) + ".attn" + std::to_string(r);
        lv.attn.push_back(register_module(key(an), AttnBlock(an, ch, u.heads, u.groups, c.text.dim, sa, ca, u.ff_mult)));
      } else {
        lv.attn.push_back(nullptr);
      }
      skips.push_back(ch);
    }
    if (l + 1 < L) {
      const std::string n = "unet.down" + std::to_string(l) + ".downsample";
      lv.down = register_module(key(n), Conv(n, ch, ch, 3, 2));
      skips.push_back(ch);
      res /= 2;
    }
    down.push_back(lv);
  }
  mid1 = register_module(key("unet.mid.res0"), ResBlock("unet.mid.res0", ch, ch, temb, u.groups, u.dropout));
  if (u.mid_attention)
    mid_attn = register_module(key("unet.mid.attn"), AttnBlock("unet.mid.attn", ch, u.heads, u.groups, c.text.dim, true, true, u.ff_mult));
  mid2 = register_module(key("unet.mid.res1"), ResBlock("unet.mid.res1", ch, ch, temb, u.groups, u.dropout));
  for (int l = L - 1; l >= 0; --l) {
    Level lv;
    const int out = u.channels[l];
    const bool sa = has(u.self_attention_resolutions, res), ca = has(u.cross_attention_resolutions, res);
    for (int r = 0; r < u.res_blocks + 1; ++r) {
      const int sk = skips.back();
      skips.pop_back();
      const std::string n = "unet.up" + std::to_string(l) + ".res" + std::to_string(r);
      lv.res.push_back(register_module(key(n), ResBlock(n, ch + sk, out, temb, u.groups, u.dropout)));
      ch = out;
      if (sa || ca) {
        const std::string an = "unet.up" + std::to_string(l) + ".attn" + std::to_string(r);
        lv.attn.push_back(register_module(key(an), AttnBlock(an, ch, u.heads, u.groups, c.text.dim, sa, ca, u.ff_mult)));
      } else {
        lv.attn.push_back(nullptr);
      }
    }
    if (l > 0) {
      const std::string n = "unet.up" + std::to_string(l) + ".upsample";
      lv.down = register_module(key(n), Conv(n, ch, ch, 3));
      res *= 2;
    }
    up.push_back(lv);
  }
  norm_out = register_module("norm_out", torch::nn::GroupNorm(std::min(u.groups, ch), ch));
  conv_out = register_module("conv_out", Conv("unet.conv_out", ch, cin, 3));
}

torch::Tensor UNetImpl::forward(const torch::Tensor& x, const torch::Tensor& t, const TextOut& text) {
  auto emb = t2(torch::silu(t1(timestep_embedding(t, base))));
  if (pooled_proj) emb = emb + pooled_proj(text.pooled);
  std::vector<torch::Tensor> hs;
  auto h = conv_in(x);
  hs.push_back(h);
  for (auto& lv : down) {
    for (std::size_t r = 0; r < lv.res.size(); ++r) {
      h = lv.res[r](h, emb);
      if (lv.attn[r]) h = lv.attn[r](h, text.tokens, text.mask);
      hs.push_back(h);
    }
    if (lv.down) {
      h = lv.down(h);
      hs.push_back(h);
    }
  }
  h = mid1(h, emb);
  if (mid_attn) h = mid_attn(h, text.tokens, text.mask);
  h = mid2(h, emb);
  for (auto& lv : up) {
    for (std::size_t r = 0; r < lv.res.size(); ++r) {
      h = lv.res[r](torch::cat({h, hs.back()}, 1), emb);
      hs.pop_back();
      if (lv.attn[r]) h = lv.attn[r](h, text.tokens, text.mask);
    }
    if (lv.down) h = lv.down(torch::upsample_nearest2d(h, {h.size(2) * 2, h.size(3) * 2}));
  }
  return conv_out(torch::silu(norm_out(h)));
}

DiffusionModelImpl::DiffusionModelImpl(const EngineConfig& c, std::int64_t vocab) {
  text = register_module("text", TextEncoder(c.text, vocab));
  unet = register_module("unet", UNet(c));
}
torch::Tensor DiffusionModelImpl::forward(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& ids) {
  return unet(x, t, text(ids));
}

// ---- autoencoder ---------------------------------------------------------------------------------
AutoencoderImpl::AutoencoderImpl(const EngineConfig& c) : in_channels(c.channels), latent(c.autoencoder.latent_channels) {
  const auto& a = c.autoencoder;
  int levels = 0;
  for (int f = a.factor; f > 1; f /= 2) ++levels;
  const int g = a.groups;
  enc_in = register_module("enc_in", Conv("ae.enc_in", in_channels, a.channels[0], 3));
  int ch = a.channels[0];
  for (int i = 0; i < levels; ++i) {
    const std::string n = "ae.enc" + std::to_string(i);
    enc_res.push_back(register_module(key(n + "_res"), ResBlock(n + ".res", ch, a.channels[i], 0, g, 0)));
    ch = a.channels[i];
    enc_down.push_back(register_module(key(n + "_down"), Conv(n + ".down", ch, ch, 3, 2)));
  }
  enc_mid = register_module("enc_mid", ResBlock("ae.enc_mid", ch, ch, 0, g, 0));
  enc_norm = register_module("enc_norm", torch::nn::GroupNorm(std::min(g, ch), ch));
  enc_out = register_module("enc_out", Conv("ae.enc_out", ch, 2 * latent, 3));
  dec_in = register_module("dec_in", Conv("ae.dec_in", latent, ch, 3));
  dec_mid = register_module("dec_mid", ResBlock("ae.dec_mid", ch, ch, 0, g, 0));
  for (int i = levels - 1; i >= 0; --i) {
    const std::string n = "ae.dec" + std::to_string(i);
    dec_up.push_back(register_module(key(n + "_up"), Conv(n + ".up", ch, ch, 3)));
    dec_res.push_back(register_module(key(n + "_res"), ResBlock(n + ".res", ch, a.channels[i], 0, g, 0)));
    ch = a.channels[i];
  }
  dec_norm = register_module("dec_norm", torch::nn::GroupNorm(std::min(g, ch), ch));
  dec_out = register_module("dec_out", Conv("ae.dec_out", ch, in_channels, 3));
}
std::pair<torch::Tensor, torch::Tensor> AutoencoderImpl::encode(const torch::Tensor& x) {
  auto h = enc_in(x);
  for (std::size_t i = 0; i < enc_res.size(); ++i) h = enc_down[i](enc_res[i](h, torch::Tensor()));
  h = enc_out(torch::silu(enc_norm(enc_mid(h, torch::Tensor()))));
  auto parts = h.chunk(2, 1);
  return {parts[0], parts[1].clamp(-30.0, 20.0)};
}
torch::Tensor AutoencoderImpl::decode(const torch::Tensor& z) {
  auto h = dec_mid(dec_in(z), torch::Tensor());
  for (std::size_t i = 0; i < dec_res.size(); ++i) {
    h = dec_up[i](torch::upsample_nearest2d(h, {h.size(2) * 2, h.size(3) * 2}));
    h = dec_res[i](h, torch::Tensor());
  }
  return dec_out(torch::silu(dec_norm(h)));
}

// ---- utilities ---------------------------------------------------------------------------------------
std::int64_t count_params(torch::nn::Module& m) {
  std::int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}
std::string weights_sha256(torch::nn::Module& m) {
  Sha256 h;
  auto add = [&](const std::string& name, const torch::Tensor& t) {
    auto c = t.detach().to(torch::kCPU).contiguous();
    h.update(name);
    h.update(c.data_ptr(), static_cast<std::size_t>(c.numel()) * c.element_size());
  };
  for (const auto& p : m.named_parameters()) add(p.key(), p.value());
  for (const auto& b : m.named_buffers()) add(b.key(), b.value());
  return h.hex_digest();
}
void copy_weights(torch::nn::Module& dst, torch::nn::Module& src) {
  torch::NoGradGuard ng;
  auto d = dst.parameters(), s = src.parameters();
  for (std::size_t i = 0; i < d.size(); ++i) d[i].copy_(s[i]);
  auto db = dst.buffers(), sb = src.buffers();
  for (std::size_t i = 0; i < db.size(); ++i) db[i].copy_(sb[i]);
}

}  // namespace medsyn::engine::detail

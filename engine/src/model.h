#pragma once
// Internal (torch) model definitions: KL autoencoder, UNet with self/cross attention, text
// encoder, per-layer FLOP counting. Not a public header: only engine .cpp files include it.
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "medsyn/engine/config.h"

namespace medsyn::engine::detail {

// ---- per-layer FLOP counting ------------------------------------------------------------------
// FLOPs = 2 x multiply-accumulates of convolutions, linear layers and attention matmuls (QK^T and
// AV), counted from the actual tensor shapes during a forward. Norms, activations, bias adds,
// softmax and residual adds are not counted (they are O(activations), not O(weights)).
struct LayerFlops {
  std::string name, kind;  // kind: conv | linear | attention
  double flops = 0;
};
struct FlopCounter {
  std::vector<LayerFlops> layers;
  double total(const std::string& kind = "") const;
};
// While alive, every counted layer on this thread adds to `counter`.
class CountFlops {
 public:
  explicit CountFlops(FlopCounter& c);
  ~CountFlops();

 private:
  FlopCounter* prev_;
};

// ---- building blocks ----------------------------------------------------------------------------
struct ConvImpl : torch::nn::Module {
  ConvImpl(const std::string& name, int cin, int cout, int k, int stride = 1);
  torch::Tensor forward(const torch::Tensor& x);
  std::string name;
  torch::nn::Conv2d conv{nullptr};
};
TORCH_MODULE(Conv);

struct LinearImpl : torch::nn::Module {
  LinearImpl(const std::string& name, int in, int out, bool bias = true);
  torch::Tensor forward(const torch::Tensor& x);
  std::string name;
  torch::nn::Linear lin{nullptr};
};
TORCH_MODULE(Linear);

// Multi-head attention core: softmax(QK^T/sqrt(d)) V with an optional key mask (B x Lk, true =
// attend). q: B x Lq x C, k/v: B x Lk x C. Counts 2 matmuls.
torch::Tensor attention(const std::string& name, const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        int heads, const torch::Tensor& key_mask);

struct ResBlockImpl : torch::nn::Module {
  ResBlockImpl(const std::string& name, int cin, int cout, int temb, int groups, double dropout);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& temb);
  torch::nn::GroupNorm norm1{nullptr}, norm2{nullptr};
  Conv conv1{nullptr}, conv2{nullptr}, skip{nullptr};
  Linear temb_proj{nullptr};
  double dropout;
};
TORCH_MODULE(ResBlock);

// Transformer block on the spatial grid: [self-attn], [cross-attn to text], feed-forward; each
// pre-LayerNorm and residual; GroupNorm + 1x1 in/out projections as in latent diffusion.
struct AttnBlockImpl : torch::nn::Module {
  AttnBlockImpl(const std::string& name, int ch, int heads, int groups, int ctx_dim, bool self_attn, bool cross_attn,
                int ff_mult);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& ctx, const torch::Tensor& ctx_mask);
  std::string name;
  int heads;
  bool self_attn, cross_attn;
  torch::nn::GroupNorm norm{nullptr};
  Linear proj_in{nullptr}, proj_out{nullptr};
  torch::nn::LayerNorm ln1{nullptr}, ln2{nullptr}, ln3{nullptr};
  Linear q1{nullptr}, k1{nullptr}, v1{nullptr}, o1{nullptr};
  Linear q2{nullptr}, k2{nullptr}, v2{nullptr}, o2{nullptr};
  Linear ff1{nullptr}, ff2{nullptr};
};
TORCH_MODULE(AttnBlock);

// ---- text encoder ----------------------------------------------------------------------------------
struct TextOut {
  torch::Tensor tokens;  // B x L x D
  torch::Tensor mask;    // B x L bool (true = real token)
  torch::Tensor pooled;  // B x D (mean over real tokens)
};
struct TextEncoderImpl : torch::nn::Module {
  TextEncoderImpl(const TextConfig& c, std::int64_t vocab);
  TextOut forward(const torch::Tensor& ids);  // ids: B x L int64
  TextConfig cfg;
  torch::nn::Embedding emb{nullptr};
  torch::Tensor pos;
  struct Layer {
    torch::nn::LayerNorm ln1{nullptr}, ln2{nullptr};
    Linear qkv{nullptr}, out{nullptr}, ff1{nullptr}, ff2{nullptr};
  };
  std::vector<Layer> layers;
  torch::nn::LayerNorm final_ln{nullptr};
};
TORCH_MODULE(TextEncoder);

// ---- UNet ----------------------------------------------------------------------------------------------
struct UNetImpl : torch::nn::Module {
  UNetImpl(const EngineConfig& c);
  // x: B x C x h x w (latent grid), t: B float timesteps, text from TextEncoder.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t, const TextOut& text);
  UNetConfig cfg;
  int base;
  Conv conv_in{nullptr}, conv_out{nullptr};
  Linear t1{nullptr}, t2{nullptr}, pooled_proj{nullptr};
  struct Level {
    std::vector<ResBlock> res;
    std::vector<AttnBlock> attn;  // may hold nullptr entries
    Conv down{nullptr};
  };
  std::vector<Level> down, up;
  std::vector<Conv> up_conv;  // upsample convs (per up level, except the last)
  ResBlock mid1{nullptr}, mid2{nullptr};
  AttnBlock mid_attn{nullptr};
  torch::nn::GroupNorm norm_out{nullptr};
};
TORCH_MODULE(UNet);

// Text encoder + UNet: the trained diffusion model (what EMA averages and checkpoints hold).
struct DiffusionModelImpl : torch::nn::Module {
  DiffusionModelImpl(const EngineConfig& c, std::int64_t vocab);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& ids);
  TextEncoder text{nullptr};
  UNet unet{nullptr};
};
TORCH_MODULE(DiffusionModel);

// ---- KL autoencoder ----------------------------------------------------------------------------
struct AutoencoderImpl : torch::nn::Module {
  explicit AutoencoderImpl(const EngineConfig& c);
  // Returns (mean, logvar), each B x latent x h/f x w/f.
  std::pair<torch::Tensor, torch::Tensor> encode(const torch::Tensor& x);
  torch::Tensor decode(const torch::Tensor& z);
  int in_channels, latent;
  Conv enc_in{nullptr}, enc_out{nullptr}, dec_in{nullptr}, dec_out{nullptr};
  std::vector<ResBlock> enc_res, dec_res;
  std::vector<Conv> enc_down, dec_up;
  ResBlock enc_mid{nullptr}, dec_mid{nullptr};
  torch::nn::GroupNorm enc_norm{nullptr}, dec_norm{nullptr};
};
TORCH_MODULE(Autoencoder);

torch::Tensor timestep_embedding(const torch::Tensor& t, int dim);  // sinusoidal, B x dim
std::int64_t count_params(torch::nn::Module& m);
// SHA-256 over the bytes of every parameter and buffer, in registration order.
std::string weights_sha256(torch::nn::Module& m);
// Copies parameters (and buffers) of `src` into `dst` (same architecture).
void copy_weights(torch::nn::Module& dst, torch::nn::Module& src);

}  // namespace medsyn::engine::detail

#include "medsyn/metrics/ssim.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "medsyn/core/error.h"

namespace medsyn::metrics {
namespace {

const double kWang[5] = {0.0448, 0.2856, 0.3001, 0.2363, 0.1333};

std::vector<double> gauss_window(int size, double sigma) {
  std::vector<double> g(static_cast<std::size_t>(size));
  double s = 0;
  for (int i = 0; i < size; ++i) {
    const double c = static_cast<double>(i - size / 2);
    g[i] = std::exp(-(c * c) / (2.0 * sigma * sigma));
    s += g[i];
  }
  for (auto& v : g) v /= s;
  return g;
}

// Horizontal valid pass of one row: out[x] = sum_t g[t] in[x + t], x < w - k + 1.
inline void hfilter_row(const double* in, int w, const std::vector<double>& g, double* out) {
  const int k = static_cast<int>(g.size());
  const int vw = w - k + 1;
  for (int x = 0; x < vw; ++x) out[x] = g[0] * in[x];
  for (int t = 1; t < k; ++t) {
    const double gt = g[t];
    const double* src = in + t;
    for (int x = 0; x < vw; ++x) out[x] += gt * src[x];
  }
}

// Separable valid filter of an h x w plane into (h-k+1) x (w-k+1).
void filter_valid(const double* in, int h, int w, const std::vector<double>& g, std::vector<double>& tmp,
                  double* out) {
  const int k = static_cast<int>(g.size());
  const int vw = w - k + 1, vh = h - k + 1;
  tmp.resize(static_cast<std::size_t>(h) * vw);
  for (int y = 0; y < h; ++y) hfilter_row(in + static_cast<std::size_t>(y) * w, w, g, tmp.data() + static_cast<std::size_t>(y) * vw);
  for (int y = 0; y < vh; ++y) {
    double* o = out + static_cast<std::size_t>(y) * vw;
    const double* t0 = tmp.data() + static_cast<std::size_t>(y) * vw;
    for (int x = 0; x < vw; ++x) o[x] = g[0] * t0[x];
    for (int t = 1; t < k; ++t) {
      const double gt = g[t];
      const double* src = tmp.data() + static_cast<std::size_t>(y + t) * vw;
      for (int x = 0; x < vw; ++x) o[x] += gt * src[x];
    }
  }
}

// torch avg_pool2d(kernel 2, stride 2, padding=(h%2, w%2), count_include_pad=True).
std::vector<double> avg_pool(const std::vector<double>& in, int h, int w, int& oh, int& ow) {
  const int ph = h % 2, pw = w % 2;
  oh = (h + 2 * ph - 2) / 2 + 1;
  ow = (w + 2 * pw - 2) / 2 + 1;
  std::vector<double> out(static_cast<std::size_t>(oh) * ow);
  auto at = [&](int y, int x) -> double {
    return (y < 0 || y >= h || x < 0 || x >= w) ? 0.0 : in[static_cast<std::size_t>(y) * w + x];
  };
  for (int oy = 0; oy < oh; ++oy)
    for (int ox = 0; ox < ow; ++ox) {
      const int y = 2 * oy - ph, x = 2 * ox - pw;
      out[static_cast<std::size_t>(oy) * ow + ox] = (at(y, x) + at(y + 1, x) + at(y, x + 1) + at(y + 1, x + 1)) / 4.0;
    }
  return out;
}

std::string size_text(const Image& img) {
  return std::to_string(img.channels) + "x" + std::to_string(img.height) + "x" + std::to_string(img.width);
}

void check_pair(const Image& x, const Image& y, const std::string& nx, const std::string& ny) {
  if (x.channels != y.channels || x.height != y.height || x.width != y.width)
    throw InputError(nx + " is " + size_text(x) + " (CxHxW) but " + ny + " is " + size_text(y) +
                     ": SSIM/MS-SSIM need images of the same size and channel count");
  if (x.empty()) throw InputError(nx + ": empty image");
}

// Per channel: mean cs at every scale and the mean ssim at the last scale (raw, no clipping).
void pair_terms(const PreparedImage& a, const PreparedImage& b, const MsSsimOptions& opt, SsimWorkspace& ws,
                std::vector<double>& cs, std::vector<double>& ssim_last) {
  if (a.channels != b.channels || a.height != b.height || a.width != b.width)
    throw InputError(a.name + " is " + std::to_string(a.channels) + "x" + std::to_string(a.height) + "x" +
                     std::to_string(a.width) + " (CxHxW) but " + b.name + " is " + std::to_string(b.channels) + "x" +
                     std::to_string(b.height) + "x" + std::to_string(b.width) +
                     ": SSIM/MS-SSIM need images of the same size and channel count");
  const auto g = gauss_window(opt.ssim.win_size, opt.ssim.sigma);
  const int k = opt.ssim.win_size;
  const double C1 = (opt.ssim.k1 * opt.ssim.data_range) * (opt.ssim.k1 * opt.ssim.data_range);
  const double C2 = (opt.ssim.k2 * opt.ssim.data_range) * (opt.ssim.k2 * opt.ssim.data_range);
  const int S = opt.scales;
  cs.assign(static_cast<std::size_t>(a.channels) * S, 0.0);
  ssim_last.assign(static_cast<std::size_t>(a.channels), 0.0);
  for (int c = 0; c < a.channels; ++c)
    for (int s = 0; s < S; ++s) {
      const auto& la = a.levels[c][s];
      const auto& lb = b.levels[c][s];
      const int h = la.h, w = la.w, vh = la.vh, vw = la.vw;
      ws.prod.resize(static_cast<std::size_t>(w));
      ws.tmp.resize(static_cast<std::size_t>(h) * vw);
      ws.acc.resize(static_cast<std::size_t>(vw));
      for (int y = 0; y < h; ++y) {
        const double* pa = la.x.data() + static_cast<std::size_t>(y) * w;
        const double* pb = lb.x.data() + static_cast<std::size_t>(y) * w;
        for (int x = 0; x < w; ++x) ws.prod[x] = pa[x] * pb[x];
        hfilter_row(ws.prod.data(), w, g, ws.tmp.data() + static_cast<std::size_t>(y) * vw);
      }
      const bool last = s == S - 1;
      double sum_cs = 0, sum_ssim = 0;
      for (int y = 0; y < vh; ++y) {
        double* acc = ws.acc.data();
        const double* t0 = ws.tmp.data() + static_cast<std::size_t>(y) * vw;
        for (int x = 0; x < vw; ++x) acc[x] = g[0] * t0[x];
        for (int t = 1; t < k; ++t) {
          const double gt = g[t];
          const double* src = ws.tmp.data() + static_cast<std::size_t>(y + t) * vw;
          for (int x = 0; x < vw; ++x) acc[x] += gt * src[x];
        }
        const std::size_t o = static_cast<std::size_t>(y) * vw;
        const double* mua = la.mu.data() + o;
        const double* mub = lb.mu.data() + o;
        const double* va = la.var.data() + o;
        const double* vb = lb.var.data() + o;
        double row_cs = 0, row_ssim = 0;
        for (int x = 0; x < vw; ++x) {
          const double mu12 = mua[x] * mub[x];
          const double s12 = acc[x] - mu12;
          const double csv = (2.0 * s12 + C2) / (va[x] + vb[x] + C2);
          row_cs += csv;
          if (last) row_ssim += ((2.0 * mu12 + C1) / (mua[x] * mua[x] + mub[x] * mub[x] + C1)) * csv;
        }
        sum_cs += row_cs;
        sum_ssim += row_ssim;
      }
      const double npix = static_cast<double>(vh) * vw;
      cs[static_cast<std::size_t>(c) * S + s] = sum_cs / npix;
      if (last) ssim_last[c] = sum_ssim / npix;
    }
}

}  // namespace

std::vector<double> default_ms_ssim_weights(int scales) {
  if (scales < 1) throw InputError("MS-SSIM: --scales must be >= 1");
  if (scales > 5)
    throw InputError("MS-SSIM: there are default weights (Wang et al. 2003) for up to 5 scales; pass --weights for " +
                     std::to_string(scales));
  std::vector<double> w(kWang, kWang + scales);
  if (scales < 5) {
    double s = 0;
    for (double v : w) s += v;
    for (double& v : w) v /= s;
  }
  return w;
}

int ms_ssim_min_side(int win_size, int scales) { return (win_size - 1) * (1 << (scales - 1)) + 1; }

void validate_ms_ssim_options(const MsSsimOptions& opt) {
  const auto& o = opt.ssim;
  if (o.win_size < 1 || o.win_size % 2 == 0)
    throw InputError("--win-size must be an odd number >= 1, got " + std::to_string(o.win_size));
  if (!(o.sigma > 0) || !std::isfinite(o.sigma)) throw InputError("--sigma must be > 0");
  if (!(o.data_range > 0) || !std::isfinite(o.data_range)) throw InputError("--data-range must be > 0");
  if (!(o.k1 >= 0) || !(o.k2 >= 0)) throw InputError("SSIM constants K1, K2 must be >= 0");
  if (opt.scales < 1 || opt.scales > 16) throw InputError("--scales must be between 1 and 16");
  if (!opt.weights.empty()) {
    if (static_cast<int>(opt.weights.size()) != opt.scales)
      throw InputError("--weights has " + std::to_string(opt.weights.size()) + " values but --scales is " +
                       std::to_string(opt.scales));
    double sum = 0;
    for (double w : opt.weights) {
      if (!(w >= 0) || !std::isfinite(w)) throw InputError("--weights must be finite and >= 0");
      sum += w;
    }
    // All-zero weights make every MS-SSIM exactly 1 (a product of x^0): a silent wrong number.
    if (!(sum > 0)) throw InputError("--weights must not all be 0");
  } else {
    (void)default_ms_ssim_weights(opt.scales);
  }
}

PreparedImage prepare_ms_ssim(const Image& img, const MsSsimOptions& opt, const std::string& name) {
  validate_ms_ssim_options(opt);
  if (img.empty() || img.channels < 1) throw InputError(name + ": empty image");
  const int min_side = ms_ssim_min_side(opt.ssim.win_size, opt.scales);
  if (std::min(img.height, img.width) < min_side) {
    std::ostringstream m;
    m << name << ": " << img.height << "x" << img.width << " is too small for ";
    if (opt.scales == 1)
      m << "SSIM with a " << opt.ssim.win_size << "-pixel window: both sides must be at least " << min_side;
    else
      m << "MS-SSIM with " << opt.scales << " scales and a " << opt.ssim.win_size
        << "-pixel window: the smaller side must be at least " << min_side
        << " = (win_size - 1) * 2^(scales - 1) + 1; use fewer scales (--scales) or a smaller window (--win-size)";
    throw InputError(m.str());
  }
  const auto g = gauss_window(opt.ssim.win_size, opt.ssim.sigma);
  const int k = opt.ssim.win_size;
  PreparedImage p;
  p.channels = img.channels;
  p.height = img.height;
  p.width = img.width;
  p.name = name;
  p.levels.resize(static_cast<std::size_t>(img.channels));
  std::vector<double> tmp, sq;
  for (int c = 0; c < img.channels; ++c) {
    int h = img.height, w = img.width;
    std::vector<double> plane(img.plane(c), img.plane(c) + static_cast<std::size_t>(h) * w);
    for (int s = 0; s < opt.scales; ++s) {
      PreparedImage::Level L;
      L.h = h;
      L.w = w;
      L.vh = h - k + 1;
      L.vw = w - k + 1;
      const std::size_t nv = static_cast<std::size_t>(L.vh) * L.vw;
      L.mu.resize(nv);
      L.var.resize(nv);
      filter_valid(plane.data(), h, w, g, tmp, L.mu.data());
      sq.resize(plane.size());
      for (std::size_t i = 0; i < plane.size(); ++i) sq[i] = plane[i] * plane[i];
      filter_valid(sq.data(), h, w, g, tmp, L.var.data());
      for (std::size_t i = 0; i < nv; ++i) L.var[i] -= L.mu[i] * L.mu[i];
      std::vector<double> next;
      int nh = 0, nw = 0;
      if (s + 1 < opt.scales) next = avg_pool(plane, h, w, nh, nw);
      L.x = std::move(plane);
      p.levels[c].push_back(std::move(L));
      plane = std::move(next);
      h = nh;
      w = nw;
    }
  }
  return p;
}

double ms_ssim_prepared(const PreparedImage& a, const PreparedImage& b, const MsSsimOptions& opt, SsimWorkspace& ws) {
  std::vector<double> cs, ssim_last;
  pair_terms(a, b, opt, ws, cs, ssim_last);
  const auto w = opt.weights.empty() ? default_ms_ssim_weights(opt.scales) : opt.weights;
  const int S = opt.scales;
  double total = 0;
  for (int c = 0; c < a.channels; ++c) {
    double v = 1.0;
    for (int s = 0; s < S - 1; ++s) v *= std::pow(std::max(cs[static_cast<std::size_t>(c) * S + s], 0.0), w[s]);
    v *= std::pow(std::max(ssim_last[c], 0.0), w[S - 1]);
    total += v;
  }
  return total / static_cast<double>(a.channels);
}

double ms_ssim(const Image& x, const Image& y, const MsSsimOptions& opt, const std::string& nx, const std::string& ny) {
  check_pair(x, y, nx, ny);
  SsimWorkspace ws;
  return ms_ssim_prepared(prepare_ms_ssim(x, opt, nx), prepare_ms_ssim(y, opt, ny), opt, ws);
}

double ssim(const Image& x, const Image& y, const SsimOptions& opt, const std::string& nx, const std::string& ny) {
  check_pair(x, y, nx, ny);
  MsSsimOptions mo;
  mo.ssim = opt;
  mo.scales = 1;
  mo.weights = {1.0};
  SsimWorkspace ws;
  std::vector<double> cs, ssim_last;
  pair_terms(prepare_ms_ssim(x, mo, nx), prepare_ms_ssim(y, mo, ny), mo, ws, cs, ssim_last);
  double total = 0;
  for (double v : ssim_last) total += v;
  return total / static_cast<double>(ssim_last.size());
}

}  // namespace medsyn::metrics

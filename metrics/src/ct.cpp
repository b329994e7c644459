#include "medsyn/metrics/ct.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <Eigen/Eigenvalues>
#include <nlohmann/json.hpp>

#include "medsyn/core/error.h"
#include "medsyn/stats/random.h"
#include "medsyn/stats/tests.h"
#include "blas_products.h"

namespace medsyn::metrics {

namespace {

using detail::RowMat;

double sq_dist(const double* a, const double* b, Eigen::Index d) {
  double s = 0;
  for (Eigen::Index c = 0; c < d; ++c) {
    const double t = a[c] - b[c];
    s += t * t;
  }
  return s;
}

// Distance from every row of q to its nearest row of t (exact, in a fixed order).
std::vector<double> nearest_distances(const RowMat& q, const RowMat& t) {
  std::vector<double> out(static_cast<std::size_t>(q.rows()));
  for (Eigen::Index i = 0; i < q.rows(); ++i) {
    double best = std::numeric_limits<double>::infinity();
    for (Eigen::Index j = 0; j < t.rows(); ++j) best = std::min(best, sq_dist(q.row(i).data(), t.row(j).data(), q.cols()));
    out[static_cast<std::size_t>(i)] = std::sqrt(best);
  }
  return out;
}

RowMat rows_of(const RowMat& x, const std::vector<int>& labels, int cell) {
  std::vector<std::int64_t> idx;
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (labels[i] == cell) idx.push_back(static_cast<std::int64_t>(i));
  return detail::gather(x, idx);
}

// The reference's Zu(): z-scored U of L(Q) against L(P) (alternative "less" changes only p).
double z_u(const RowMat& p, const RowMat& q, const RowMat& t) {
  const std::vector<double> lq = nearest_distances(q, t), lp = nearest_distances(p, t);
  const double u = stats::mann_whitney_u(lq, lp, stats::Alternative::less).u;
  const double m = static_cast<double>(q.rows()), n = static_cast<double>(p.rows());
  const double mean = n * m / 2 - 0.5, sd = std::sqrt(n * m * (n + m + 1) / 12);
  return (u - mean) / sd;
}

void check_labels(const std::vector<int>& labels, Eigen::Index rows, const std::string& what) {
  if (static_cast<Eigen::Index>(labels.size()) != rows)
    throw InputError(what + ": " + std::to_string(labels.size()) + " cell labels for " + std::to_string(rows) + " rows");
  for (int l : labels)
    if (l < 0) throw InputError(what + ": negative cell label " + std::to_string(l));
}

CtResult c_t_impl(const RowMat& p, const std::vector<int>& pc, const RowMat& q, const std::vector<int>& qc,
                  const RowMat& t, const std::vector<int>& tc, double tau) {
  const int k = *std::max_element(tc.begin(), tc.end()) + 1;
  CtResult r;
  r.tau = tau;
  r.dim = static_cast<int>(t.cols());
  r.n_train = t.rows();
  r.n_test = p.rows();
  r.n_generated = q.rows();
  r.cells.resize(static_cast<std::size_t>(k));
  for (int l : pc)
    if (l >= k) throw InputError("held-out set: cell " + std::to_string(l) + " has no training sample");
  for (int l : qc)
    if (l >= k) throw InputError("generated set: cell " + std::to_string(l) + " has no training sample");
  for (int i = 0; i < k; ++i) {
    CtCell& c = r.cells[static_cast<std::size_t>(i)];
    c.n_train = std::count(tc.begin(), tc.end(), i);
    c.n_test = std::count(pc.begin(), pc.end(), i);
    c.n_generated = std::count(qc.begin(), qc.end(), i);
    if (c.n_test == 0 || c.n_train == 0)
      throw InputError("C_T: cell " + std::to_string(i) + " has no " + (c.n_test == 0 ? "held-out" : "training") +
                       " sample; use fewer cells or more held-out images");
    c.included = static_cast<double>(c.n_generated) / static_cast<double>(q.rows()) > tau;
    c.z_u = c.n_generated > 0 ? z_u(rows_of(p, pc, i), rows_of(q, qc, i), rows_of(t, tc, i)) : 0.0;
  }
  double num = 0, den = 0;
  for (const CtCell& c : r.cells)
    if (c.included) {
      const double w = static_cast<double>(c.n_test) / static_cast<double>(p.rows());
      num += w * c.z_u;
      den += w;
    }
  if (den > 0) {
    r.c_t = num / den;
  } else {
    r.c_t = std::numeric_limits<double>::quiet_NaN();
    r.note = "no cell holds more than tau = 20 / m of the generated samples";
  }
  return r;
}

void check_dims(FeatureView a, FeatureView b, const std::string& na, const std::string& nb) {
  if (a.cols != b.cols)
    throw InputError(na + " has dimension " + std::to_string(a.cols) + " but " + nb + " has " + std::to_string(b.cols));
}

}  // namespace

CtResult c_t_from_cells(FeatureView test, const std::vector<int>& test_cells, FeatureView generated,
                        const std::vector<int>& generated_cells, FeatureView train, const std::vector<int>& train_cells,
                        double tau) {
  check_dims(train, test, "train", "held-out");
  check_dims(train, generated, "train", "generated");
  if (train.rows < 1 || test.rows < 1 || generated.rows < 1) throw InputError("C_T: every set needs at least one row");
  check_labels(test_cells, test.rows, "held-out set");
  check_labels(generated_cells, generated.rows, "generated set");
  check_labels(train_cells, train.rows, "training set");
  return c_t_impl(detail::to_f64(test), test_cells, detail::to_f64(generated), generated_cells, detail::to_f64(train),
                  train_cells, tau);
}

namespace {

// The nearest of the k centres (row-major k x d) for every row of x, the lowest index on ties;
// `inertia` (when given) receives the sum of the squared distances to them.
std::vector<int> assign(const RowMat& x, const double* centres, int k, double* inertia = nullptr) {
  std::vector<int> out(static_cast<std::size_t>(x.rows()));
  double sum = 0;
  for (Eigen::Index i = 0; i < x.rows(); ++i) {
    int arg = 0;
    double bd = std::numeric_limits<double>::infinity();
    for (int j = 0; j < k; ++j) {
      const double v = sq_dist(x.row(i).data(), centres + static_cast<std::size_t>(j) * x.cols(), x.cols());
      if (v < bd) bd = v, arg = j;
    }
    sum += bd;
    out[static_cast<std::size_t>(i)] = arg;
  }
  if (inertia) *inertia = sum;
  return out;
}

KMeansResult kmeans_f64(const RowMat& x, int k, int n_init, std::uint64_t seed) {
  const Eigen::Index n = x.rows(), d = x.cols();
  KMeansResult best;
  best.inertia = std::numeric_limits<double>::infinity();
  for (int run = 0; run < n_init; ++run) {
    stats::Rng rng(stats::derive_seed(seed, 0x4B4D45414E530000ULL + static_cast<std::uint64_t>(run)));
    // k-means++: the first centre uniformly, each next one with probability proportional to the
    // squared distance to the nearest centre chosen so far.
    RowMat c(k, d);
    c.row(0) = x.row(static_cast<Eigen::Index>(stats::random_below(rng, static_cast<std::uint64_t>(n))));
    std::vector<double> d2(static_cast<std::size_t>(n));
    for (Eigen::Index i = 0; i < n; ++i) d2[i] = sq_dist(x.row(i).data(), c.row(0).data(), d);
    // Greedy k-means++ (Arthur & Vassilvitskii 2007, as sklearn): 2 + floor(ln k) candidates per
    // centre, keeping the one that lowers the potential most.
    const int trials = 2 + static_cast<int>(std::log(static_cast<double>(k)));
    for (int j = 1; j < k; ++j) {
      double total = 0;
      for (double v : d2) total += v;
      Eigen::Index pick = n - 1;
      std::vector<double> pick_d2;  // the chosen candidate's distances (the first trial always sets it)
      double pick_pot = std::numeric_limits<double>::infinity();
      for (int t = 0; t < trials; ++t) {
        Eigen::Index cand = n - 1;
        if (total > 0) {
          const double target = stats::uniform01(rng) * total;
          double acc = 0;
          for (Eigen::Index i = 0; i < n; ++i) {
            acc += d2[i];
            if (acc > target) {
              cand = i;
              break;
            }
          }
        } else {
          cand = static_cast<Eigen::Index>(stats::random_below(rng, static_cast<std::uint64_t>(n)));
        }
        std::vector<double> nd2(static_cast<std::size_t>(n));
        double pot = 0;
        for (Eigen::Index i = 0; i < n; ++i) {
          nd2[i] = std::min(d2[i], sq_dist(x.row(i).data(), x.row(cand).data(), d));
          pot += nd2[i];
        }
        if (pot < pick_pot) pick_pot = pot, pick = cand, pick_d2 = std::move(nd2);
      }
      c.row(j) = x.row(pick);
      d2 = std::move(pick_d2);
    }
    // Lloyd iterations until no label changes (at most 300, sklearn's max_iter).
    std::vector<int> labels(static_cast<std::size_t>(n), -1);
    double inertia = 0;
    for (int iter = 0; iter < 300; ++iter) {
      std::vector<int> next = assign(x, c.data(), k, &inertia);
      if (next == labels) break;
      labels = std::move(next);
      RowMat sum = RowMat::Zero(k, d);
      std::vector<std::int64_t> count(static_cast<std::size_t>(k), 0);
      for (Eigen::Index i = 0; i < n; ++i) {
        sum.row(labels[i]) += x.row(i);
        ++count[labels[i]];
      }
      for (int j = 0; j < k; ++j) {
        if (count[j] > 0) {
          c.row(j) = sum.row(j) / static_cast<double>(count[j]);
        } else {  // an empty cluster takes the point farthest from its centre
          Eigen::Index far = 0;
          double fd = -1;
          for (Eigen::Index i = 0; i < n; ++i) {
            const double v = sq_dist(x.row(i).data(), c.row(labels[i]).data(), d);
            if (v > fd) fd = v, far = i;
          }
          c.row(j) = x.row(far);
        }
      }
    }
    if (inertia < best.inertia) {
      best.inertia = inertia;
      best.labels = labels;
      best.centres.assign(c.data(), c.data() + c.size());
    }
  }
  return best;
}

}  // namespace

KMeansResult kmeans(FeatureView x, int k, int n_init, std::uint64_t seed) {
  if (k < 1 || n_init < 1) throw InputError("k-means: k and n_init must be >= 1");
  if (x.rows < k) throw InputError("k-means: " + std::to_string(x.rows) + " rows for " + std::to_string(k) + " cells");
  return kmeans_f64(detail::to_f64(x), k, n_init, seed);
}

CtResult c_t_score(FeatureView train, FeatureView test, FeatureView generated, const CtOptions& opt) {
  check_dims(train, test, "train", "held-out");
  check_dims(train, generated, "train", "generated");
  if (test.rows < 1 || generated.rows < 1) throw InputError("C_T: the held-out and generated sets need at least one row");
  if (train.rows < opt.cells)
    throw InputError("C_T: " + std::to_string(train.rows) + " training rows for " + std::to_string(opt.cells) + " cells");
  RowMat t = detail::to_f64(train), p = detail::to_f64(test), q = detail::to_f64(generated);
  int comps = 0;
  if (t.cols() > opt.max_components) {
    // PCA fitted on the training set: its mean, the covariance's leading eigenvectors.
    const Eigen::RowVectorXd mean = t.colwise().mean();
    const RowMat centred = t.rowwise() - mean;
    const Eigen::MatrixXd cov = (centred.transpose() * centred) / std::max<double>(1.0, static_cast<double>(t.rows() - 1));
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(cov);
    comps = opt.max_components;
    const Eigen::MatrixXd v = es.eigenvectors().rightCols(comps).rowwise().reverse();  // descending variance
    t = centred * v;
    p = (p.rowwise() - mean) * v;
    q = (q.rowwise() - mean) * v;
  }
  const KMeansResult km = kmeans_f64(t, opt.cells, opt.n_init, opt.seed);
  CtResult r = c_t_impl(p, assign(p, km.centres.data(), opt.cells), q, assign(q, km.centres.data(), opt.cells), t, km.labels,
                        20.0 / static_cast<double>(q.rows()));
  r.pca_components = comps;
  r.dim = static_cast<int>(train.cols);
  return r;
}

nlohmann::json to_json(const CtResult& r) {
  nlohmann::json cells = nlohmann::json::array();
  for (const CtCell& c : r.cells)
    cells.push_back({{"n_train", c.n_train}, {"n_test", c.n_test}, {"n_generated", c.n_generated},
                     {"z_u", c.z_u}, {"included", c.included}});
  nlohmann::json j = {{"c_t", std::isfinite(r.c_t) ? nlohmann::json(r.c_t) : nlohmann::json(nullptr)},
                      {"tau", r.tau}, {"cells", cells}, {"pca_components", r.pca_components}, {"dim", r.dim},
                      {"n_train", r.n_train}, {"n_test", r.n_test}, {"n_generated", r.n_generated},
                      {"method", "C_T data-copying test (Meehan et al. 2020) as dgm-eval computes it: PCA to 64 "
                                 "components fitted on train, 3 k-means cells of train, per-cell z-scored "
                                 "Mann-Whitney U of nearest-training distances (generated vs held-out)"},
                      {"interpretation", "C_T << 0: generated samples closer to the training set than held-out real "
                                         "samples (data copying); >> 0: farther (underfitting)"}};
  if (!r.note.empty()) j["note"] = r.note;
  return j;
}

}  // namespace medsyn::metrics

// Training mixes: stratified nested real subsets, class-balanced synthetic subsets (see mix.h).
#include "medsyn/downstream/mix.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "medsyn/core/error.h"
#include "medsyn/stats/random.h"

namespace medsyn::downstream {

namespace {

void check_fraction(double f) {
  if (!(f > 0.0 && f <= 1.0)) {
    std::ostringstream os;
    os << "fraction " << f << " is outside (0, 1]";
    throw InputError(os.str());
  }
}

}  // namespace

StratifiedOrder make_stratified_order(std::span<const int> labels, int num_classes, std::uint64_t seed) {
  if (num_classes < 1) throw InputError("make_stratified_order: num_classes must be >= 1");
  StratifiedOrder order;
  order.by_class.resize(static_cast<std::size_t>(num_classes));
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0 || labels[i] >= num_classes)
      throw InputError("make_stratified_order: label " + std::to_string(labels[i]) + " at index " + std::to_string(i) +
                       " is outside [0, " + std::to_string(num_classes) + ")");
    order.by_class[static_cast<std::size_t>(labels[i])].push_back(i);
  }
  for (int c = 0; c < num_classes; ++c) {
    stats::Rng rng(stats::derive_seed(seed, 1000 + static_cast<std::uint64_t>(c)));
    stats::shuffle(rng, order.by_class[static_cast<std::size_t>(c)]);
  }
  return order;
}

std::vector<std::size_t> stratified_counts(const StratifiedOrder& order, double fraction) {
  check_fraction(fraction);
  std::vector<std::size_t> counts(order.by_class.size(), 0);
  for (std::size_t c = 0; c < counts.size(); ++c) {
    const std::size_t n = order.class_size(c);
    if (n == 0) continue;
    // The tiny epsilon keeps 0.35 * 20 (= 6.999999...) at 7.
    const auto k = static_cast<std::size_t>(std::llround(std::floor(fraction * static_cast<double>(n) + 0.5 + 1e-9)));
    counts[c] = std::clamp<std::size_t>(k, 1, n);
  }
  return counts;
}

std::vector<std::size_t> balanced_counts(const StratifiedOrder& order, std::size_t total, std::size_t* shortfall) {
  const std::size_t k = order.by_class.size();
  std::vector<std::size_t> counts(k, 0);
  std::size_t available = 0;
  for (std::size_t c = 0; c < k; ++c) available += order.class_size(c);
  const std::size_t target = std::min(total, available);
  // Round-robin dealing in closed form: water-filling to a common level, the remainder going to
  // the lowest-numbered classes that still have items.
  std::size_t dealt = 0;
  while (dealt < target) {
    std::size_t open = 0;
    std::size_t min_room = std::numeric_limits<std::size_t>::max();
    for (std::size_t c = 0; c < k; ++c) {
      const std::size_t room = order.class_size(c) - counts[c];
      if (room > 0) {
        ++open;
        min_room = std::min(min_room, room);
      }
    }
    const std::size_t left = target - dealt;
    const std::size_t rounds = std::min(min_room, left / open);
    if (rounds > 0) {
      for (std::size_t c = 0; c < k; ++c)
        if (order.class_size(c) > counts[c]) counts[c] += rounds;
      dealt += rounds * open;
      continue;
    }
    // Fewer than one full round left: one each to the lowest-numbered open classes.
    for (std::size_t c = 0; c < k && dealt < target; ++c)
      if (order.class_size(c) > counts[c]) {
        ++counts[c];
        ++dealt;
      }
  }
  if (shortfall) *shortfall = total - target;
  return counts;
}

std::vector<std::size_t> take_prefix(const StratifiedOrder& order, std::span<const std::size_t> counts) {
  std::vector<std::size_t> out;
  for (std::size_t c = 0; c < order.by_class.size() && c < counts.size(); ++c) {
    const auto& v = order.by_class[c];
    const std::size_t n = std::min(counts[c], v.size());
    out.insert(out.end(), v.begin(), v.begin() + static_cast<std::ptrdiff_t>(n));
  }
  return out;
}

std::vector<FractionMix> plan_mixes(std::span<const int> real_labels, std::span<const int> syn_labels,
                                    int num_classes, const MixPlanOptions& options, std::uint64_t seed) {
  if (!(options.synthetic_ratio >= 0.0) || !std::isfinite(options.synthetic_ratio))
    throw InputError("--synthetic-ratio must be a finite number >= 0");
  const StratifiedOrder real_order = make_stratified_order(real_labels, num_classes, stats::derive_seed(seed, 1));
  const StratifiedOrder syn_order = make_stratified_order(syn_labels, num_classes, stats::derive_seed(seed, 2));
  std::vector<FractionMix> mixes;
  for (const double f : options.fractions) {
    check_fraction(f);
    FractionMix m;
    m.fraction = f;
    const auto counts = stratified_counts(real_order, f);
    m.real = take_prefix(real_order, counts);

    std::vector<std::size_t> twice(counts.size());
    m.twice_real_feasible = true;
    for (std::size_t c = 0; c < counts.size(); ++c) {
      twice[c] = 2 * counts[c];
      if (twice[c] > real_order.class_size(c)) {
        m.twice_real_feasible = false;
        std::ostringstream os;
        os << "2xreal infeasible at fraction " << f << ": class " << c << " needs " << twice[c]
           << " real training images, the split has " << real_order.class_size(c);
        m.notes.push_back(os.str());
        break;
      }
    }
    if (m.twice_real_feasible) m.twice_real = take_prefix(real_order, twice);

    if (options.need_synthetic) {
      const auto n_add =
          static_cast<std::size_t>(std::llround(options.synthetic_ratio * static_cast<double>(m.real.size())));
      std::size_t short_add = 0, short_only = 0;
      m.syn_added = take_prefix(syn_order, balanced_counts(syn_order, n_add, &short_add));
      m.syn_only = take_prefix(syn_order, balanced_counts(syn_order, m.real.size(), &short_only));
      if (short_add > 0) {
        std::ostringstream os;
        os << "real+syn at fraction " << f << ": wanted " << n_add << " synthetic images, the synthetic set has "
           << m.syn_added.size();
        m.notes.push_back(os.str());
      }
      if (short_only > 0) {
        std::ostringstream os;
        os << "syn at fraction " << f << ": wanted " << m.real.size() << " synthetic images, the synthetic set has "
           << m.syn_only.size();
        m.notes.push_back(os.str());
      }
      // Report classes whose synthetic share fell short of an even split.
      const auto per_class = class_counts(syn_labels, m.syn_added, num_classes);
      const std::size_t even = n_add / static_cast<std::size_t>(num_classes);
      for (int c = 0; c < num_classes; ++c)
        if (per_class[static_cast<std::size_t>(c)] < even) {
          std::ostringstream os;
          os << "real+syn at fraction " << f << ": synthetic class " << c << " has only "
             << per_class[static_cast<std::size_t>(c)] << " images (balanced share " << even
             << "); other classes filled in";
          m.notes.push_back(os.str());
        }
    }
    mixes.push_back(std::move(m));
  }
  return mixes;
}

std::vector<std::size_t> class_counts(std::span<const int> labels, std::span<const std::size_t> subset,
                                      int num_classes) {
  std::vector<std::size_t> counts(static_cast<std::size_t>(std::max(num_classes, 0)), 0);
  for (const std::size_t i : subset) {
    if (i >= labels.size()) throw InputError("class_counts: index " + std::to_string(i) + " outside the pool");
    const int l = labels[i];
    if (l >= 0 && l < num_classes) ++counts[static_cast<std::size_t>(l)];
  }
  return counts;
}

}  // namespace medsyn::downstream

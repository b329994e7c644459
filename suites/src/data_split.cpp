// Role assignment of the data stage (data_split.h).
#include "medsyn/suites/data_split.h"

#include <algorithm>
#include <cmath>

#include "medsyn/core/error.h"
#include "medsyn/core/hashing.h"

namespace medsyn::suites {

namespace {

// Seeded rank of a record within a role: sha256 of "seed:role:path" (independent of manifest order).
std::string rank(std::uint64_t seed, const std::string& role, const Record& r) {
  return sha256_hex(std::to_string(seed) + ":" + role + ":" + r.path);
}

// Indices 0..n-1 sorted by their rank in `role`.
std::vector<std::size_t> rank_order(const std::vector<Record>& list, std::uint64_t seed, const std::string& role) {
  std::vector<std::pair<std::string, std::size_t>> order;
  for (std::size_t i = 0; i < list.size(); ++i) order.push_back({rank(seed, role, list[i]), i});
  std::sort(order.begin(), order.end());
  std::vector<std::size_t> idx;
  for (const auto& o : order) idx.push_back(o.second);
  return idx;
}

}  // namespace

RoleAssignment assign_roles(const std::vector<Record>& recs, const SplitNames& splits, long limit, std::uint64_t seed,
                            const std::string& what) {
  RoleAssignment out;
  auto& roles = out.roles;
  out.splits_assigned = std::all_of(recs.begin(), recs.end(), [](const Record& r) { return r.split.empty(); });
  if (out.splits_assigned) {
    const std::size_t n = recs.size();
    if (n < 3) throw InputError(what + ": " + std::to_string(n) + " image(s) without splits; need at least 3");
    const auto order = rank_order(recs, seed, "split");
    const std::size_t n_test = std::max<std::size_t>(1, static_cast<std::size_t>(std::lround(0.2 * n)));
    const std::size_t n_hold = std::max<std::size_t>(1, static_cast<std::size_t>(std::lround(0.2 * n)));
    std::vector<int> role_of(n);  // 0 train, 1 val + holdout, 2 test
    for (std::size_t k = 0; k < n; ++k) role_of[order[k]] = k < n_test ? 2 : (k < n_test + n_hold ? 1 : 0);
    for (std::size_t i = 0; i < n; ++i) {
      if (role_of[i] == 0) roles["train"].push_back(recs[i]);
      if (role_of[i] == 1) {
        roles["val"].push_back(recs[i]);
        roles["holdout"].push_back(recs[i]);
      }
      if (role_of[i] == 2) roles["test"].push_back(recs[i]);
    }
  } else {
    for (const auto& r : recs) {
      if (r.split == splits.train) roles["train"].push_back(r);
      if (r.split == splits.val) roles["val"].push_back(r);
      if (r.split == splits.test) roles["test"].push_back(r);
      if (r.split == splits.holdout) roles["holdout"].push_back(r);
    }
  }
  if (limit <= 0) return out;
  for (auto& [role, list] : roles) {
    if (static_cast<long>(list.size()) <= limit) continue;
    const auto order = rank_order(list, seed, role);
    std::vector<std::size_t> keep(order.begin(), order.begin() + limit);
    std::sort(keep.begin(), keep.end());  // manifest order
    std::vector<Record> sel;
    for (auto i : keep) sel.push_back(list[i]);
    list = std::move(sel);
  }
  return out;
}

}  // namespace medsyn::suites

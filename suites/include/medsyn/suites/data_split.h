#pragma once
// The data stage's role assignment: which real records become the generators' training set, the
// validation and test sets and the memorization holdout, and which survive a per-role limit.
// A pure function of the records, the dataset's split names, the limit and the seed (no files),
// so it is tested on its own (tests/suites/test_suite_data_split.cpp).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "medsyn/core/manifest.h"

namespace medsyn::suites {

// Manifest split names per role (`datasets.NAME.splits`; val defaults to holdout's split).
struct SplitNames {
  std::string train, val, test, holdout;
};

struct RoleAssignment {
  // role ("train", "val", "test", "holdout") -> records in manifest order; a role without records
  // has no entry.
  std::map<std::string, std::vector<Record>> roles;
  bool splits_assigned = false;  // the records carried no split: the seeded 60/20/20 split was used
};

// Records with split names go to every role whose split name matches (one record may serve two
// roles, e.g. val and holdout both "val"). When no record has a split, a seeded hash order gives
// 60% train, 20% val (= holdout), 20% test (each at least one image; InputError naming `what`
// when there are fewer than 3 records). Then every role with more than `limit` records (limit > 0)
// keeps the `limit` lowest seeded hash ranks of its records, in manifest order.
RoleAssignment assign_roles(const std::vector<Record>& records, const SplitNames& splits, long limit, std::uint64_t seed,
                            const std::string& what);

}  // namespace medsyn::suites

#pragma once
// Multiple testing, as R p.adjust. Inputs must be in [0, 1] (NaN rejected with InputError naming
// the position); order is preserved.
#include <span>
#include <string>
#include <vector>

namespace medsyn::stats {

enum class AdjustMethod { holm, bh };
AdjustMethod parse_adjust_method(const std::string& name);  // "holm" | "bh" (also "BH", "fdr")
std::string to_string(AdjustMethod m);
std::vector<double> p_adjust(std::span<const double> p, AdjustMethod method);

}  // namespace medsyn::stats

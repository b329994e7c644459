#pragma once
// The JSON objects `medsynbench stats auc|delong|paired|bootstrap --json` print, without the
// command and input names the CLI adds. The Python module returns the same objects, so both give
// the same numbers. Non-finite values are null.
#include <cstddef>

#include <nlohmann/json_fwd.hpp>

#include "medsyn/stats/auc.h"
#include "medsyn/stats/intervals.h"
#include "medsyn/stats/tests.h"

namespace medsyn::stats {

// {n, n_pos, n_neg, auc, ci_low, ci_high, level, variance, se, ci_method, estimand, warnings}
nlohmann::json auc_json(const AucCi& r, std::size_t n);
// {n, n_pos, n_neg, auc_a, auc_b, diff, var_a, var_b, cov_ab, se_diff, z, p, ci_low, ci_high,
//  level, alternative, estimand, warnings}
nlohmann::json delong_json(const DelongTest& r, std::size_t n);
// {n, mean_a, mean_b, mean_diff, sd_diff, ci_low, ci_high, level, estimand, t_test, wilcoxon,
//  difference, warnings}
nlohmann::json paired_json(const PairedResult& r);
// {metric, n, n_pos, n_neg, estimate, ci_low, ci_high, level, method, resamples, seed, estimand,
//  stratified, boot_mean, boot_se, warnings[, threshold][, z0, acceleration]}
nlohmann::json stratified_bootstrap_json(const StratifiedBootstrapResult& r, std::size_t n, double threshold);

}  // namespace medsyn::stats

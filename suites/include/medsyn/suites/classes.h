#pragma once
// Per-class breakdowns (issue 16 item 6, docs/metrics.md "Per-class breakdowns"): which class
// each real and each synthetic image of a modality belongs to, so that fidelity, diversity and
// memorization can be computed per (modality, class) inside their per-modality units.
//
// Classes: the integer `label` of the modality's real records (train, val and test), ascending;
// a class's name is the first real record's `label_name` with that label, else the number. A
// modality has a breakdown only when every real record carries an integer label and there are at
// least two classes (RunContext's RealData::labelled, the same rule as adherence and downstream).
//
// Class of a record:
//   real       its own `label`.
//   synthetic  the rule of prompt adherence (downstream/adherence.h), with the field `label`:
//              1. its prompt, normalised (core normalise_prompt_text), equals the prompt of real
//                 TRAINING records that all carry one class: that class;
//              2. otherwise its own `label`, when that is one of the real classes;
//              3. otherwise none: the image is left out of every class (counted in `none`).
//              A prompt shared by training records of several classes names no class.
// Plain functions over manifest records, no files; torch-free.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "medsyn/core/manifest.h"

namespace medsyn::suites {

struct ClassInfo {
  long label = 0;
  std::string name;
};

struct ClassSplit {
  std::vector<ClassInfo> classes;  // as given (real_classes)
  std::vector<int> of;             // per record: index into classes, -1 = no class
  std::size_t by_prompt = 0, by_label = 0, none = 0;  // how the records' classes were found
  // Positions (into the records given) of class k, in record order.
  std::vector<std::int64_t> rows(int k) const;
};

// The classes of a modality's real records; empty when a record has no integer label or fewer
// than two classes exist (no breakdown).
std::vector<ClassInfo> real_classes(const std::vector<Record>& real);

// Real records: their own label (a label outside `classes` -> -1, counted in `none`).
ClassSplit split_real(const std::vector<ClassInfo>& classes, const std::vector<Record>& records);

// Synthetic records: by prompt (from `real_train`, the modality's real training records), else
// by their own label, else none (see the header comment).
ClassSplit split_synthetic(const std::vector<ClassInfo>& classes, const std::vector<Record>& real_train,
                           const std::vector<Record>& records);

}  // namespace medsyn::suites

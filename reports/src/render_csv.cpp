// metrics.csv from the report document: one row per number (Document::records), RFC 4180 quoting.
#include <sstream>

#include "medsyn/reports/report_model.h"

namespace medsyn::reports {

namespace {

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string num_text(double v) { return std::isfinite(v) ? nlohmann::json(v).dump() : std::string(); }

}  // namespace

std::string render_csv(const Document& d) {
  std::ostringstream os;
  os << "section,model,kind,modality,metric,arm,fraction,value,ci_low,ci_high,n\n";
  for (const auto& x : d.records) {
    const auto& m = x.estimate;
    os << csv_field(x.section) << ',' << csv_field(x.model) << ',' << csv_field(x.kind) << ',' << csv_field(x.modality) << ','
       << csv_field(x.metric) << ',' << csv_field(x.arm) << ',' << num_text(x.fraction) << ',' << num_text(m.value) << ','
       << num_text(m.ci_low) << ',' << num_text(m.ci_high) << ',' << (x.with_n ? std::to_string(m.n) : "") << '\n';
  }
  return os.str();
}

}  // namespace medsyn::reports

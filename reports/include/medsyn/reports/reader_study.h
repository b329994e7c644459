#pragma once
// The report's "Reader study" section: the analysis `medsynbench reader-study analyze` writes
// (reader_study.json; format "medsynbench-reader-study-results/1", docs/reader-study.md). The
// report includes it when ReportOptions::reader_study names it or, by default, when
// RUN_DIR/reader-study/reader_study.json exists next to results.json. Every number in it is a
// medsyn::Estimate; the section shows them with their levels, draws one figure (readers'
// accuracy per modality with intervals and the chance line) and adds its numbers to
// metrics.csv (section "reader_study", model = "readers").
#include <filesystem>
#include <optional>

#include <nlohmann/json.hpp>

#include "medsyn/core/image.h"
#include "medsyn/reports/report_model.h"

namespace medsyn::reports {

// Where the report looks by default, relative to results.json's folder.
inline constexpr const char* kReaderStudyDefault = "reader-study/reader_study.json";

// Reads and checks a reader_study.json (InputError naming the file and the JSON path).
nlohmann::ordered_json load_reader_study(const std::filesystem::path& file);

// Readers' accuracy per modality (and overall) with intervals; nullopt without accuracy values.
std::optional<Image> draw_reader_study(const nlohmann::ordered_json& analysis);

// The section (tables per modality and per reader, the figure) and its records.
Section reader_study_section(const nlohmann::ordered_json& analysis, const ReportResult& files);
std::vector<Record> reader_study_records(const nlohmann::ordered_json& analysis);

}  // namespace medsyn::reports

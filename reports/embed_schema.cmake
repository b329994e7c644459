# Writes OUT, a C++ file defining medsyn::reports::results_schema_text() from the JSON file IN.
file(READ ${IN} text)
string(FIND "${text}" ")medsyn_schema\"" bad)
if(NOT bad EQUAL -1)
  message(FATAL_ERROR "${IN} contains the raw-string delimiter")
endif()
file(WRITE ${OUT}.tmp "// Generated from ${IN} by reports/embed_schema.cmake. Do not edit.\n"
"#include <string>\n#include <nlohmann/json.hpp>\n"
"namespace medsyn::reports {\n"
"const std::string& results_schema_text() {\n"
"  static const std::string text = R\"medsyn_schema(${text})medsyn_schema\";\n"
"  return text;\n}\n"
"const nlohmann::ordered_json& results_schema() {\n"
"  static const nlohmann::ordered_json schema = nlohmann::ordered_json::parse(results_schema_text());\n"
"  return schema;\n}\n"
"}  // namespace medsyn::reports\n")
file(RENAME ${OUT}.tmp ${OUT})

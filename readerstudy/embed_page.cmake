# Writes OUT, a C++ file defining medsyn::readerstudy::page_template() from the HTML file IN.
file(READ ${IN} text)
string(FIND "${text}" ")medsyn_page\"" bad)
if(NOT bad EQUAL -1)
  message(FATAL_ERROR "${IN} contains the raw-string delimiter")
endif()
file(WRITE ${OUT}.tmp "// Generated from ${IN} by readerstudy/embed_page.cmake. Do not edit.\n"
"#include <string>\n"
"namespace medsyn::readerstudy {\n"
"const std::string& page_template() {\n"
"  static const std::string text = R\"medsyn_page(${text})medsyn_page\";\n"
"  return text;\n}\n"
"}  // namespace medsyn::readerstudy\n")
file(RENAME ${OUT}.tmp ${OUT})

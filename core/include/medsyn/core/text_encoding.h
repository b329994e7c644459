#pragma once
// Text encodings shared by the HTML writers (the report's index.html, the reader study page), and
// the one prompt normal form (the engine's prompt table, the adherence label lookup).
#include <cstdint>
#include <string>
#include <vector>

namespace medsyn {

// &, <, >, " and ' as HTML character references: safe in element text and quoted attributes.
std::string html_escape(const std::string& s);

// RFC 4648 base64 with padding (data: URIs).
std::string base64(const std::vector<std::uint8_t>& bytes);

// A prompt as compared: lower case, leading/trailing whitespace dropped, inner runs as one space.
std::string normalise_prompt_text(const std::string& prompt);

}  // namespace medsyn

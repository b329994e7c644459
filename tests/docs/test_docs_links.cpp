// The documentation stays navigable: every relative Markdown link in README.md, DEVELOPING.md,
// docs/*.md and the module folders' README.md points at a file inside the repository (no link
// to ../shared/ or any other place outside the checkout), and README.md stays short.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "test_support.h"

namespace fs = std::filesystem;

namespace {

std::vector<fs::path> markdown_files() {
  const fs::path root = medsyn::test::source_dir();
  std::vector<fs::path> files = {root / "README.md", root / "DEVELOPING.md"};
  for (const auto& e : fs::directory_iterator(root / "docs"))
    if (e.path().extension() == ".md") files.push_back(e.path());
  for (const auto& e : fs::directory_iterator(root))
    if (e.is_directory() && fs::exists(e.path() / "README.md") && e.path().filename() != "docs")
      files.push_back(e.path() / "README.md");
  return files;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Drops fenced code blocks and inline code: a path in a code sample is not a link.
std::string without_code(const std::string& text) {
  std::string out;
  bool fenced = false;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("```", 0) == 0) {
      fenced = !fenced;
      continue;
    }
    if (!fenced) out += std::regex_replace(line, std::regex("`[^`]*`"), "") + "\n";
  }
  return out;
}

bool is_inside(const fs::path& p, const fs::path& root) {
  const auto rel = fs::weakly_canonical(p).lexically_relative(fs::weakly_canonical(root));
  return !rel.empty() && *rel.begin() != "..";
}

}  // namespace

TEST_CASE("every relative link in the documentation resolves to a file inside the repository", "[docs]") {
  const fs::path root = medsyn::test::source_dir();
  const std::regex link(R"(\]\(([^)\s]+)\))");
  int checked = 0;
  for (const auto& file : markdown_files()) {
    const std::string text = without_code(slurp(file));
    for (auto it = std::sregex_iterator(text.begin(), text.end(), link); it != std::sregex_iterator(); ++it) {
      std::string target = (*it)[1];
      if (target.rfind("http://", 0) == 0 || target.rfind("https://", 0) == 0 || target.rfind("mailto:", 0) == 0 ||
          target[0] == '#')
        continue;
      if (const auto hash = target.find('#'); hash != std::string::npos) target.resize(hash);
      const fs::path resolved = file.parent_path() / target;
      INFO(file.lexically_relative(root).string() << ": link to " << target);
      CHECK(fs::exists(resolved));
      CHECK(is_inside(resolved, root));
      ++checked;
    }
  }
  CHECK(checked > 20);  // the pages do link to each other; a broken regex must not pass silently
}

TEST_CASE("no page points at the architecture file outside the repository", "[docs]") {
  for (const auto& file : markdown_files()) {
    INFO(file.string());
    CHECK(slurp(file).find("shared/ARCHITECTURE.md") == std::string::npos);
  }
}

TEST_CASE("README.md is a five-minute read (at most 200 lines)", "[docs]") {
  const std::string text = slurp(medsyn::test::source_dir() / "README.md");
  CHECK(std::count(text.begin(), text.end(), '\n') <= 200);
}

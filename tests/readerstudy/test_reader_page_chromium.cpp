// study.html in real headless browsers: Debian's Chromium and Firefox ESR driven by puppeteer-core
// (tests/browser/reader_study_page.mjs) answers images by keyboard and mouse, reloads (answers
// kept through localStorage), exports ratings-<reader>.json (the download is captured) with no
// console errors; the exported file then goes through `reader-study analyze`.
// Skipped (ctest: Skipped; CI=true: failed) without the browser, node or puppeteer-core; `npm ci`
// in tests/browser installs puppeteer-core from package-lock.json when it is missing.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>

#include "medsyn/core/fs.h"
#include "medsyn/core/json.h"
#include "readerstudy_test_util.h"
#include "test_support.h"

using namespace medsyn;
namespace fs = std::filesystem;
using test::shell_quote;

namespace {

std::string find_program(const std::vector<std::string>& candidates) {
  for (const auto& c : candidates)
    if (fs::exists(c)) return c;
  return "";
}

// Runs `cmd`, capturing stdout+stderr into `out`; returns the exit status.
int run(const std::string& cmd, std::string& out, const fs::path& log) {
  const int status = std::system((cmd + " > " + shell_quote(log.string()) + " 2>&1").c_str());
  out = fs::exists(log) ? read_file_text(log) : "";
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

// Makes a small study, drives the page in the browser given by `browser_flag` (the script's
// --chromium PATH or --firefox PATH), and feeds the exported ratings to `analyze`.
void drive_page(const std::string& browser_flag) {
  const std::string node = find_program({"/usr/bin/node", "/usr/local/bin/node"});
  if (node.empty()) test::skip_test("node is not installed (apt-get install nodejs npm); the reader study page was not tested");
  const fs::path browser_dir = fs::path(MEDSYN_SOURCE_DIR) / "tests" / "browser";
  test::TempDir tmp("medsyn-rs-browser");
  std::string out;
  if (!fs::exists(browser_dir / "node_modules" / "puppeteer-core" / "package.json")) {
    // The Chromium and Firefox cases may start together (ctest -j): one `npm ci` at a time, and
    // none once the other has installed it.
    const int rc = run("cd " + shell_quote(browser_dir.string()) +
                           " && flock .npm-ci.lock sh -c 'test -f node_modules/puppeteer-core/package.json || "
                           "timeout 600 npm ci --no-audit --no-fund'",
                       out, tmp / "npm.log");
    if (rc != 0 || !fs::exists(browser_dir / "node_modules" / "puppeteer-core" / "package.json"))
      test::skip_test("puppeteer-core could not be installed (npm ci in tests/browser failed):\n" + out);
  }
  // A small study with calibration examples.
  test::write_image_set(tmp / "real", {"chest_xray", "retina"}, 12, false, "", 1);
  test::write_image_set(tmp / "syn", {"chest_xray", "retina"}, 12, true, "gen", 2);
  const auto study = tmp / "study";
  const auto made = test::run_cli("reader-study make --real " + shell_quote((tmp / "real").string()) + " --synthetic " +
                                  shell_quote((tmp / "syn").string()) + " --per-modality 8 --readers alice,bob --calibration 2 --out " +
                                  shell_quote(study.string()));
  INFO(made.err);
  REQUIRE(made.exit_code == 0);
  const auto downloads = tmp / "downloads";
  ensure_dir(downloads);
  const int rc = run("cd " + shell_quote(browser_dir.string()) + " && timeout 300 " + shell_quote(node) +
                         " reader_study_page.mjs " + browser_flag + " --study " + shell_quote(study.string()) +
                         " --reader alice --downloads " + shell_quote(downloads.string()),
                     out, tmp / "node.log");
  INFO("reader_study_page.mjs:\n" << out);
  REQUIRE(rc == 0);
  const auto seen = json::parse(out.substr(out.rfind("{\"ok\"")));
  CHECK(seen["ok"] == true);
  CHECK(seen["seen"]["calibration"].size() == 4);
  CHECK(seen["seen"]["progress_after_reload"] == "4 / 16");
  CHECK(seen["seen"]["console"].empty());

  // The downloaded file is a valid ratings file of this study.
  const auto exported = downloads / "ratings-alice.json";
  REQUIRE(fs::exists(exported));
  const auto r = test::run_cli("reader-study analyze " + shell_quote(study.string()) + " --ratings " + shell_quote(exported.string()) +
                               " --out " + shell_quote((tmp / "analysis").string()) + " --bootstrap 50");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto a = read_json_file(tmp / "analysis" / "reader_study.json");
  CHECK(a["readers"][0]["name"] == "alice");
  CHECK(a["readers"][0]["answered"] == 3);
  CHECK(a["readers"][0]["partial"] == true);
  CHECK(a["overall"]["real_or_synthetic"]["n_answers"] == 2);
  CHECK(a["overall"]["realism"]["n_real"].get<int>() + a["overall"]["realism"]["n_synthetic"].get<int>() == 3);
}

}  // namespace

TEST_CASE("study.html in headless Chromium: keyboard, mouse, reload, export, analyze", "[readerstudy][browser][chromium]") {
  const std::string chromium = find_program({"/usr/bin/chromium", "/usr/bin/chromium-browser"});
  if (chromium.empty()) test::skip_test("chromium is not installed (apt-get install chromium); the reader study page was not tested");
  drive_page("--chromium " + shell_quote(chromium));
}

TEST_CASE("study.html in headless Firefox: keyboard, mouse, reload, export, analyze", "[readerstudy][browser][firefox]") {
  const std::string firefox = find_program({"/usr/bin/firefox-esr", "/usr/bin/firefox"});
  if (firefox.empty()) test::skip_test("firefox is not installed (apt-get install firefox-esr); the reader study page was not tested in Firefox");
  drive_page("--firefox " + shell_quote(firefox));
}

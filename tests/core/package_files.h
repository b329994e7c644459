#pragma once
// Real medical files from Debian packages for specs: fetched with apt-get download + dpkg-deb -x
// into a test cache ($MEDSYN_TEST_PACKAGE_CACHE, else the MedSynBench cache dir), once.
// When apt-get is unavailable (no network, not Debian) the spec is skipped (test::skip_test: ctest
// reports Skipped); under CI=true, where the Debian mirror is required, it fails.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "medsyn/core/cache.h"
#include "medsyn/core/debian_package.h"
#include "medsyn/core/error.h"
#include "test_support.h"

namespace medsyn::test {

inline std::filesystem::path package_cache() {
  if (const char* d = std::getenv("MEDSYN_TEST_PACKAGE_CACHE"); d && *d) return d;
  return default_cache_dir();
}

// Path of `rel` inside package `pkg`; skips the test when the package cannot be fetched.
inline std::filesystem::path package_file(const std::string& pkg, const std::string& rel) {
  try {
    const DebianPackage p = fetch_debian_package(pkg, package_cache());
    const auto f = p.file(rel);
    if (!std::filesystem::exists(f)) FAIL("package " << pkg << " " << p.version << " has no " << rel);
    return f;
  } catch (const medsyn::Error& e) {
    skip_test("cannot fetch Debian package " + pkg + " (needs apt-get and the Debian mirror): " + e.what());
  }
}

inline const char* kPydicomFiles = "usr/lib/python3/dist-packages/pydicom/data/test_files/";
inline const char* kOctaveDicom = "usr/share/octave/packages/dicom-0.5.1/imdata/";

}  // namespace medsyn::test

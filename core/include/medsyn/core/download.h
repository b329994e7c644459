#pragma once
// Downloads (libcurl: https://, http://, file://) and the MedMNIST fetcher built on them.
// Downloads go to a temporary file next to the destination and are renamed into place only
// after they completed (and, where a checksum is known, matched it), so a cache never holds a
// partial or wrong file.
#include <filesystem>
#include <string>

#include "medsyn/core/medmnist_import.h"

namespace medsyn {

// Downloads `url` to `dest` atomically. Throws InputError naming the URL on any failure
// (unreachable host, HTTP error status, missing file:// path, write failure).
void download_url(const std::string& url, const std::filesystem::path& dest);

struct MedMnistFetchResult {
  std::filesystem::path npz;  // verified file in the cache
  std::string url;            // where it came from (empty when it was already cached)
  bool cached = false;        // true when the cache already held a file with the right md5
  MedMnistImportResult import;
};

// `data fetch medmnist`: downloads NAME.npz from `url` (default: medmnist_url(NAME)) into
// CACHE/medmnist/NAME.npz unless a file with the catalog md5 is already there, verifies the md5
// (InputError "URL: md5 mismatch: expected ..., got ..." and nothing kept on mismatch), then
// imports it into `out_dir` with import_medmnist. `cache_dir` empty -> default_cache_dir()/downloads.
// An existing dataset in `out_dir` is refused before downloading unless `overwrite`.
MedMnistFetchResult fetch_medmnist(const std::string& name, const std::filesystem::path& out_dir,
                                   const std::string& url = "", const std::filesystem::path& cache_dir = {},
                                   bool overwrite = false);

}  // namespace medsyn

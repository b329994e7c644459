#include "medsyn/core/download.h"

#include <curl/curl.h>

#include <cstdio>
#include <memory>
#include <mutex>

#include "medsyn/core/cache.h"
#include "medsyn/core/error.h"
#include "medsyn/core/manifest.h"
#include "medsyn/core/fs.h"
#include "medsyn/core/hashing.h"
#include "medsyn/core/medmnist.h"
#include "medsyn/core/progress.h"

namespace fs = std::filesystem;

namespace medsyn {

namespace {

struct Sink {
  std::FILE* f = nullptr;
  std::unique_ptr<Progress> progress;
  curl_off_t last = 0;
};

std::size_t write_cb(char* data, std::size_t size, std::size_t n, void* user) {
  auto* s = static_cast<Sink*>(user);
  return std::fwrite(data, size, n, s->f) * size;
}

int progress_cb(void* user, curl_off_t total, curl_off_t now, curl_off_t, curl_off_t) {
  auto* s = static_cast<Sink*>(user);
  if (total > 0 && !s->progress) s->progress = std::make_unique<Progress>("download", total, "bytes");
  if (s->progress && now != s->last) {
    s->progress->set(now);
    s->last = now;
  }
  return 0;
}

void curl_global() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

void download_url(const std::string& url, const fs::path& dest) {
  curl_global();
  if (dest.has_parent_path()) ensure_dir(dest.parent_path());
  const fs::path tmp = temp_path_for(dest);
  Sink sink;
  sink.f = std::fopen(tmp.c_str(), "wb");
  if (!sink.f) throw InputError(at_file(dest.string(), "cannot write download"));
  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, write_cb);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(curl.get(), CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl.get(), CURLOPT_XFERINFOFUNCTION, progress_cb);
  curl_easy_setopt(curl.get(), CURLOPT_XFERINFODATA, &sink);
  curl_easy_setopt(curl.get(), CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt(curl.get(), CURLOPT_LOW_SPEED_LIMIT, 1L);   // abort stalled transfers
  curl_easy_setopt(curl.get(), CURLOPT_LOW_SPEED_TIME, 120L);
  curl_easy_setopt(curl.get(), CURLOPT_USERAGENT, "medsynbench");
  const CURLcode rc = curl_easy_perform(curl.get());
  const bool write_ok = std::fflush(sink.f) == 0;
  std::fclose(sink.f);
  if (sink.progress) sink.progress->finish();
  std::error_code ec;
  if (rc != CURLE_OK || !write_ok) {
    fs::remove(tmp, ec);
    const std::string why = rc != CURLE_OK ? (errbuf[0] ? errbuf : curl_easy_strerror(rc)) : "write to disk failed";
    throw InputError(at_file(url, "download failed: " + why));
  }
  fs::rename(tmp, dest, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw InputError(at_file(dest.string(), "cannot move the download into place"));
  }
}

MedMnistFetchResult fetch_medmnist(const std::string& name_in, const fs::path& out_dir, const std::string& url_in,
                                   const fs::path& cache_dir_in, bool overwrite) {
  std::string name = name_in;
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const auto info = find_medmnist(name);
  if (!info) {
    std::string known;
    for (const auto& i : medmnist_catalog()) known += (known.empty() ? "" : ", ") + i.name;
    throw InputError("data fetch medmnist: unknown MedMNIST set '" + name_in + "' (known: " + known + ")");
  }
  check_dataset_output(out_dir, overwrite);  // before a download that would be wasted
  const fs::path cache_dir = cache_dir_in.empty() ? default_cache_dir() / "downloads" : cache_dir_in;
  const fs::path target = cache_dir / "medmnist" / (info->name + ".npz");
  MedMnistFetchResult res;
  res.npz = target;
  std::error_code ec;
  if (fs::exists(target, ec) && md5_file(target) == info->md5) {
    res.cached = true;
    log_info("using cached " + target.string() + " (md5 " + info->md5 + ")");
  } else {
    res.url = url_in.empty() ? medmnist_url(info->name) : url_in;
    const fs::path part = fs::path(target.string() + ".download");
    log_info("downloading " + res.url);
    download_url(res.url, part);
    const std::string got = md5_file(part);
    if (got != info->md5) {
      fs::remove(part, ec);
      throw InputError(at_file(res.url, "md5 mismatch for " + info->name + ": expected " + info->md5 + " (official), got " +
                                            got + "; the file was not kept"));
    }
    fs::rename(part, target, ec);
    if (ec) throw InputError(at_file(target.string(), "cannot move the download into place: " + ec.message()));
  }
  MedMnistImportOptions io;
  io.name = info->name;
  io.overwrite = overwrite;
  res.import = import_medmnist(target, out_dir, io);
  return res;
}

}  // namespace medsyn

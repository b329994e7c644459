#include "medsyn/core/download.h"

#include <curl/curl.h>  // types and constants only: libcurl itself is opened on first use
#include <dlfcn.h>

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

// libcurl and the TLS, Kerberos and LDAP libraries it links add ~20 shared objects and ~10 ms to
// the start of every medsynbench command, and only `data fetch` downloads: so it is opened here,
// on the first download (docs/architecture.md "Two executables").
struct Curl {
  CURLcode (*global_init)(long);
  CURL* (*easy_init)();
  void (*easy_cleanup)(CURL*);
  CURLcode (*easy_setopt)(CURL*, CURLoption, ...);
  CURLcode (*easy_perform)(CURL*);
  const char* (*easy_strerror)(CURLcode);
};

template <typename F>
void bind(void* lib, const char* name, F& f) {
  f = reinterpret_cast<F>(dlsym(lib, name));
  if (!f) throw Error(std::string("libcurl.so.4 has no ") + name);
}

const Curl& curl_api() {
  static const Curl api = [] {
    void* lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!lib)
      throw Error(std::string("downloads need libcurl (Debian package libcurl4): cannot load libcurl.so.4: ") + dlerror());
    Curl c{};
    bind(lib, "curl_global_init", c.global_init);
    bind(lib, "curl_easy_init", c.easy_init);
    bind(lib, "curl_easy_cleanup", c.easy_cleanup);
    bind(lib, "curl_easy_setopt", c.easy_setopt);
    bind(lib, "curl_easy_perform", c.easy_perform);
    bind(lib, "curl_easy_strerror", c.easy_strerror);
    c.global_init(CURL_GLOBAL_DEFAULT);
    return c;
  }();
  return api;
}

}  // namespace

void download_url(const std::string& url, const fs::path& dest) {
  const Curl& c = curl_api();
  if (dest.has_parent_path()) ensure_dir(dest.parent_path());
  const fs::path tmp = temp_path_for(dest);
  Sink sink;
  sink.f = std::fopen(tmp.c_str(), "wb");
  if (!sink.f) throw InputError(at_file(dest.string(), "cannot write download"));
  std::unique_ptr<CURL, void (*)(CURL*)> curl(c.easy_init(), c.easy_cleanup);
  if (!curl) throw Error("libcurl: curl_easy_init failed");
  char errbuf[CURL_ERROR_SIZE] = {0};
  c.easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  c.easy_setopt(curl.get(), CURLOPT_FOLLOWLOCATION, 1L);
  c.easy_setopt(curl.get(), CURLOPT_FAILONERROR, 1L);
  c.easy_setopt(curl.get(), CURLOPT_ERRORBUFFER, errbuf);
  c.easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, write_cb);
  c.easy_setopt(curl.get(), CURLOPT_WRITEDATA, &sink);
  c.easy_setopt(curl.get(), CURLOPT_NOPROGRESS, 0L);
  c.easy_setopt(curl.get(), CURLOPT_XFERINFOFUNCTION, progress_cb);
  c.easy_setopt(curl.get(), CURLOPT_XFERINFODATA, &sink);
  c.easy_setopt(curl.get(), CURLOPT_CONNECTTIMEOUT, 30L);
  c.easy_setopt(curl.get(), CURLOPT_LOW_SPEED_LIMIT, 1L);   // abort stalled transfers
  c.easy_setopt(curl.get(), CURLOPT_LOW_SPEED_TIME, 120L);
  c.easy_setopt(curl.get(), CURLOPT_USERAGENT, "medsynbench");
  const CURLcode rc = c.easy_perform(curl.get());
  const bool write_ok = std::fflush(sink.f) == 0;
  std::fclose(sink.f);
  if (sink.progress) sink.progress->finish();
  std::error_code ec;
  if (rc != CURLE_OK || !write_ok) {
    fs::remove(tmp, ec);
    const std::string why = rc != CURLE_OK ? (errbuf[0] ? errbuf : c.easy_strerror(rc)) : "write to disk failed";
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

#include "medsyn/core/debian_package.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "medsyn/core/cache.h"
#include "medsyn/core/error.h"
#include "medsyn/core/fs.h"
#include "medsyn/core/progress.h"

namespace fs = std::filesystem;

namespace medsyn {

ProcessResult run_process(const std::vector<std::string>& argv, const fs::path& cwd) {
  if (argv.empty()) throw Error("run_process: empty command");
  char tmpl[] = "/tmp/medsyn-proc-XXXXXX";
  const int out_fd = ::mkstemp(tmpl);
  if (out_fd < 0) throw Error(std::string("run_process: cannot create a temporary file: ") + std::strerror(errno));
  ::unlink(tmpl);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(out_fd);
    throw Error(std::string("run_process: fork failed: ") + std::strerror(errno));
  }
  if (pid == 0) {
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) _exit(126);
    const int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    ::dup2(out_fd, 1);
    ::dup2(out_fd, 2);
    ::execvp(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  ProcessResult r;
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  ::lseek(out_fd, 0, SEEK_SET);
  char buf[4096];
  ssize_t n;
  while ((n = ::read(out_fd, buf, sizeof buf)) > 0) r.output.append(buf, static_cast<std::size_t>(n));
  ::close(out_fd);
  return r;
}

fs::path default_package_cache() { return default_cache_dir(); }

namespace {
std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}
std::string tail(const std::string& s, std::size_t n = 600) { return s.size() > n ? "..." + s.substr(s.size() - n) : s; }
}  // namespace

DebianPackage fetch_debian_package(const std::string& name, const fs::path& cache_dir) {
  if (name.empty() || name.find_first_of("/ \t") != std::string::npos)
    throw InputError("invalid Debian package name '" + name + "'");
  const fs::path dir = cache_dir / "debian" / name;
  const fs::path stamp = dir / "VERSION";
  DebianPackage pkg;
  pkg.name = name;
  pkg.root = dir / "root";
  std::error_code ec;
  auto find_deb = [&]() -> fs::path {
    std::vector<fs::path> debs;
    if (fs::is_directory(dir, ec))
      for (const auto& e : fs::directory_iterator(dir, ec))
        if (e.path().extension() == ".deb" && e.path().filename().string().rfind(name + "_", 0) == 0)
          debs.push_back(e.path());
    std::sort(debs.begin(), debs.end());
    return debs.empty() ? fs::path() : debs.back();
  };
  if (fs::exists(stamp, ec) && fs::is_directory(pkg.root, ec)) {
    pkg.version = trim(read_file_text(stamp));
    pkg.deb = find_deb();
    return pkg;
  }
  ensure_dir(dir);
  pkg.deb = find_deb();
  if (pkg.deb.empty()) {
    // apt-get download writes into its working folder: use a private one, then move the .deb.
    const fs::path dl = temp_path_for(dir / "download");
    ensure_dir(dl);
    log_info("apt-get download " + name + " (into " + dir.string() + ")");
    const ProcessResult r = run_process({"apt-get", "download", "-q", name}, dl);
    fs::path got;
    for (const auto& e : fs::directory_iterator(dl, ec))
      if (e.path().extension() == ".deb") got = e.path();
    if (r.status != 0 || got.empty()) {
      fs::remove_all(dl, ec);
      throw Error("cannot download Debian package '" + name + "' with apt-get (exit " + std::to_string(r.status) +
                  (r.status == 127 ? ", apt-get not found" : "") + "): " + tail(trim(r.output)));
    }
    pkg.deb = dir / got.filename();
    fs::rename(got, pkg.deb, ec);
    fs::remove_all(dl, ec);
    if (!fs::exists(pkg.deb)) throw Error(at_file(pkg.deb.string(), "cannot move the downloaded package into the cache"));
  }
  const ProcessResult v = run_process({"dpkg-deb", "-f", pkg.deb.string(), "Version"});
  if (v.status != 0) throw Error(at_file(pkg.deb.string(), "dpkg-deb -f failed: " + tail(trim(v.output))));
  pkg.version = trim(v.output);
  const fs::path tmp_root = temp_path_for(dir / "root");
  const ProcessResult x = run_process({"dpkg-deb", "-x", pkg.deb.string(), tmp_root.string()});
  if (x.status != 0) {
    fs::remove_all(tmp_root, ec);
    throw Error(at_file(pkg.deb.string(), "dpkg-deb -x failed: " + tail(trim(x.output))));
  }
  fs::rename(tmp_root, pkg.root, ec);
  if (ec) {
    // Another process finished first: keep its tree.
    fs::remove_all(tmp_root, ec);
    if (!fs::is_directory(pkg.root)) throw Error(at_file(pkg.root.string(), "cannot move the extracted package into place"));
  }
  atomic_write_text(stamp, pkg.version + "\n");
  return pkg;
}

}  // namespace medsyn

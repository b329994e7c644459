#include "medsyn/core/hashing.h"

#include <openssl/evp.h>

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "medsyn/core/error.h"
#include "medsyn/core/fs.h"

namespace medsyn {

namespace {

std::string to_hex(const unsigned char* d, unsigned n) {
  static const char* digits = "0123456789abcdef";
  std::string s(n * 2, '0');
  for (unsigned i = 0; i < n; ++i) {
    s[2 * i] = digits[d[i] >> 4];
    s[2 * i + 1] = digits[d[i] & 15];
  }
  return s;
}

// Only regular files are hashed: a FIFO would block and /dev/zero would never end.
std::string digest_file(const std::filesystem::path& path, const EVP_MD* md) {
  const int fd = open_regular_file(path, "hashing");
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, md, nullptr);
  std::vector<char> buf(1 << 20);
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      EVP_MD_CTX_free(ctx);
      throw InputError(at_file(path.string(), "read failed while hashing: " + why));
    }
    if (n == 0) break;
    EVP_DigestUpdate(ctx, buf.data(), static_cast<std::size_t>(n));
  }
  ::close(fd);
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  EVP_DigestFinal_ex(ctx, out, &n);
  EVP_MD_CTX_free(ctx);
  return to_hex(out, n);
}

}  // namespace

std::string sha256_hex(const void* data, std::size_t size) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  EVP_Digest(data, size, out, &n, EVP_sha256(), nullptr);
  return to_hex(out, n);
}
std::string sha256_hex(const std::string& s) { return sha256_hex(s.data(), s.size()); }
std::string sha256_file(const std::filesystem::path& path) { return digest_file(path, EVP_sha256()); }
std::string md5_file(const std::filesystem::path& path) { return digest_file(path, EVP_md5()); }

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), EVP_sha256(), nullptr);
}
Sha256::~Sha256() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }
Sha256& Sha256::update(const void* data, std::size_t size) {
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data, size);
  return *this;
}
Sha256& Sha256::update(const std::string& s) {
  const std::uint64_t n = s.size();
  update(&n, sizeof n);
  return update(s.data(), s.size());
}
std::string Sha256::hex_digest() {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), out, &n);
  return to_hex(out, n);
}

}  // namespace medsyn

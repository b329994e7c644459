#pragma once
// Content hashes (OpenSSL EVP). Hex strings, lower case.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace medsyn {

std::string sha256_hex(const void* data, std::size_t size);
std::string sha256_hex(const std::string& s);
std::string sha256_file(const std::filesystem::path& path);
std::string md5_file(const std::filesystem::path& path);

// Incremental SHA-256 for hashing many inputs into one key.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  Sha256& update(const void* data, std::size_t size);
  Sha256& update(const std::string& s);  // length-prefixed, so ("ab","c") != ("a","bc")
  std::string hex_digest();

 private:
  void* ctx_;
};

}  // namespace medsyn

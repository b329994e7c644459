#include "medsyn/core/npy.h"

#include <zip.h>

#include <cmath>
#include <cstring>
#include <regex>
#include <sstream>

#include "medsyn/core/error.h"
#include "medsyn/core/fs.h"

namespace fs = std::filesystem;

namespace medsyn {

const char* npy_descr(DType t) {
  switch (t) {
    case DType::f32: return "<f4";
    case DType::f64: return "<f8";
    case DType::u8: return "|u1";
    case DType::u16: return "<u2";
    case DType::i32: return "<i4";
    case DType::i64: return "<i8";
    case DType::b1: return "|b1";
  }
  return "?";
}

std::size_t dtype_size(DType t) {
  switch (t) {
    case DType::f32: return 4;
    case DType::f64: return 8;
    case DType::u8: return 1;
    case DType::u16: return 2;
    case DType::i32: return 4;
    case DType::i64: return 8;
    case DType::b1: return 1;
  }
  return 0;
}

std::int64_t NpyArray::numel() const {
  std::int64_t n = 1;
  for (auto s : shape) n *= s;
  return n;
}

namespace {

template <typename Out>
std::vector<Out> convert(const NpyArray& a) {
  const std::int64_t n = a.numel();
  std::vector<Out> out(static_cast<std::size_t>(n));
  const std::uint8_t* p = a.bytes.data();
  for (std::int64_t i = 0; i < n; ++i) {
    switch (a.dtype) {
      case DType::f32: { float v; std::memcpy(&v, p + 4 * i, 4); out[i] = static_cast<Out>(v); break; }
      case DType::f64: { double v; std::memcpy(&v, p + 8 * i, 8); out[i] = static_cast<Out>(v); break; }
      case DType::u8: out[i] = static_cast<Out>(p[i]); break;
      case DType::b1: out[i] = static_cast<Out>(p[i] ? 1 : 0); break;
      case DType::u16: { std::uint16_t v; std::memcpy(&v, p + 2 * i, 2); out[i] = static_cast<Out>(v); break; }
      case DType::i32: { std::int32_t v; std::memcpy(&v, p + 4 * i, 4); out[i] = static_cast<Out>(v); break; }
      case DType::i64: { std::int64_t v; std::memcpy(&v, p + 8 * i, 8); out[i] = static_cast<Out>(v); break; }
    }
  }
  return out;
}

DType dtype_from_descr(const std::string& d, const std::string& name) {
  if (d == "<f4") return DType::f32;
  if (d == "<f8") return DType::f64;
  if (d == "|u1" || d == "<u1") return DType::u8;
  if (d == "<u2") return DType::u16;
  if (d == "<i4") return DType::i32;
  if (d == "<i8") return DType::i64;
  if (d == "|b1") return DType::b1;
  throw InputError(at_file(name, "unsupported .npy dtype '" + d +
                                     "' (supported: float32, float64, uint8, uint16, int32, int64, bool; little-endian)"));
}

}  // namespace

std::vector<double> NpyArray::as_f64() const { return convert<double>(*this); }
std::vector<float> NpyArray::as_f32() const { return convert<float>(*this); }
std::vector<std::int64_t> NpyArray::as_i64() const { return convert<std::int64_t>(*this); }

NpyArray parse_npy(const std::vector<std::uint8_t>& b, const std::string& name) {
  static const char magic[] = "\x93NUMPY";
  if (b.size() < 10 || std::memcmp(b.data(), magic, 6) != 0)
    throw InputError(at_file(name, "not a .npy file (bad magic bytes)"));
  const int major = b[6];
  std::size_t header_len, offset;
  if (major == 1) {
    header_len = b[8] | (b[9] << 8);
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (b.size() < 12) throw InputError(at_file(name, "truncated .npy header"));
    header_len = b[8] | (b[9] << 8) | (static_cast<std::size_t>(b[10]) << 16) | (static_cast<std::size_t>(b[11]) << 24);
    offset = 12;
  } else {
    throw InputError(at_file(name, "unsupported .npy format version " + std::to_string(major)));
  }
  if (offset + header_len > b.size()) throw InputError(at_file(name, "truncated .npy header"));
  const std::string header(reinterpret_cast<const char*>(b.data() + offset), header_len);
  std::smatch m;
  if (!std::regex_search(header, m, std::regex(R"('descr'\s*:\s*'([^']+)')")))
    throw InputError(at_file(name, ".npy header has no 'descr'"));
  NpyArray a;
  a.dtype = dtype_from_descr(m[1], name);
  if (std::regex_search(header, m, std::regex(R"('fortran_order'\s*:\s*(True|False))")) && m[1] == "True")
    throw InputError(at_file(name, "Fortran-ordered arrays are not supported (save with np.ascontiguousarray)"));
  if (!std::regex_search(header, m, std::regex(R"('shape'\s*:\s*\(([^)]*)\))")))
    throw InputError(at_file(name, ".npy header has no 'shape'"));
  std::stringstream ss(m[1].str());
  std::string item;
  while (std::getline(ss, item, ',')) {
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \tL") + 1);
    if (!item.empty()) a.shape.push_back(std::stoll(item));
  }
  const std::size_t nbytes = static_cast<std::size_t>(a.numel()) * dtype_size(a.dtype);
  const std::size_t data_off = offset + header_len;
  if (b.size() - data_off < nbytes)
    throw InputError(at_file(name, "truncated .npy data: expected " + std::to_string(nbytes) + " bytes, found " +
                                       std::to_string(b.size() - data_off)));
  a.bytes.assign(b.begin() + static_cast<std::ptrdiff_t>(data_off), b.begin() + static_cast<std::ptrdiff_t>(data_off + nbytes));
  return a;
}

std::vector<std::uint8_t> serialize_npy(const NpyArray& a) {
  std::string shape;
  for (std::size_t i = 0; i < a.shape.size(); ++i) shape += (i ? ", " : "") + std::to_string(a.shape[i]);
  if (a.shape.size() == 1) shape += ",";
  std::string header = "{'descr': '" + std::string(npy_descr(a.dtype)) + "', 'fortran_order': False, 'shape': (" + shape + "), }";
  const std::size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::vector<std::uint8_t> out;
  out.reserve(10 + header.size() + a.bytes.size());
  const char magic[] = "\x93NUMPY\x01\x00";
  out.insert(out.end(), magic, magic + 8);
  out.push_back(static_cast<std::uint8_t>(header.size() & 0xFF));
  out.push_back(static_cast<std::uint8_t>(header.size() >> 8));
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), a.bytes.begin(), a.bytes.end());
  return out;
}

NpyArray read_npy(const fs::path& path) { return parse_npy(read_file_bytes(path), path.string()); }
void write_npy(const fs::path& path, const NpyArray& a) { atomic_write_bytes(path, serialize_npy(a)); }

std::map<std::string, NpyArray> read_npz(const fs::path& path) {
  if (!fs::exists(path)) throw InputError(at_file(path.string(), "file does not exist"));
  int err = 0;
  zip_t* z = zip_open(path.c_str(), ZIP_RDONLY, &err);
  if (!z) throw InputError(at_file(path.string(), "not a readable .npz (zip) archive"));
  std::map<std::string, NpyArray> out;
  const zip_int64_t n = zip_get_num_entries(z, 0);
  try {
    for (zip_int64_t i = 0; i < n; ++i) {
      zip_stat_t st;
      zip_stat_init(&st);
      if (zip_stat_index(z, i, 0, &st) != 0) throw InputError(at_file(path.string(), "corrupt zip entry"));
      std::string key = st.name;
      zip_file_t* f = zip_fopen_index(z, i, 0);
      if (!f) throw InputError(at_file(path.string(), "cannot open entry '" + key + "'"));
      std::vector<std::uint8_t> buf(st.size);
      zip_int64_t got = st.size ? zip_fread(f, buf.data(), st.size) : 0;
      zip_fclose(f);
      if (got != static_cast<zip_int64_t>(st.size))
        throw InputError(at_file(path.string(), "entry '" + key + "' is truncated or corrupt"));
      if (key.size() > 4 && key.substr(key.size() - 4) == ".npy") key.resize(key.size() - 4);
      out.emplace(key, parse_npy(buf, path.string() + ":" + key));
    }
  } catch (...) {
    zip_discard(z);
    throw;
  }
  zip_discard(z);
  return out;
}

void write_npz(const fs::path& path, const std::map<std::string, NpyArray>& arrays, bool compress) {
  if (path.has_parent_path()) ensure_dir(path.parent_path());
  const fs::path tmp = temp_path_for(path);
  int err = 0;
  zip_t* z = zip_open(tmp.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  if (!z) throw InputError(at_file(path.string(), "cannot create .npz"));
  std::vector<std::vector<std::uint8_t>> keep;  // libzip reads buffers at close time
  keep.reserve(arrays.size());
  for (const auto& [key, arr] : arrays) {
    keep.push_back(serialize_npy(arr));
    zip_source_t* src = zip_source_buffer(z, keep.back().data(), keep.back().size(), 0);
    const zip_int64_t idx = zip_file_add(z, (key + ".npy").c_str(), src, ZIP_FL_OVERWRITE);
    if (idx < 0) {
      zip_source_free(src);
      zip_discard(z);
      throw InputError(at_file(path.string(), "cannot add '" + key + "'"));
    }
    zip_set_file_compression(z, static_cast<zip_uint64_t>(idx), compress ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0);
  }
  if (zip_close(z) != 0) {
    zip_discard(z);
    fs::remove(tmp);
    throw InputError(at_file(path.string(), "cannot write .npz"));
  }
  fs::rename(tmp, path);
}

NpyArray make_npy(const std::vector<float>& v, std::vector<std::int64_t> shape) {
  NpyArray a{DType::f32, std::move(shape), {}};
  a.bytes.resize(v.size() * 4);
  std::memcpy(a.bytes.data(), v.data(), a.bytes.size());
  return a;
}
NpyArray make_npy(const std::vector<double>& v, std::vector<std::int64_t> shape) {
  NpyArray a{DType::f64, std::move(shape), {}};
  a.bytes.resize(v.size() * 8);
  std::memcpy(a.bytes.data(), v.data(), a.bytes.size());
  return a;
}
NpyArray make_npy(const std::vector<std::uint8_t>& v, std::vector<std::int64_t> shape) {
  return NpyArray{DType::u8, std::move(shape), v};
}
NpyArray make_npy(const std::vector<std::int64_t>& v, std::vector<std::int64_t> shape) {
  NpyArray a{DType::i64, std::move(shape), {}};
  a.bytes.resize(v.size() * 8);
  std::memcpy(a.bytes.data(), v.data(), a.bytes.size());
  return a;
}

Matrix32 read_feature_matrix(const fs::path& path) {
  NpyArray a = read_npy(path);
  if (a.shape.size() != 2)
    throw InputError(at_file(path.string(), "expected a 2-D N x D feature matrix, got " +
                                                std::to_string(a.shape.size()) + " dimensions"));
  Matrix32 m;
  m.rows = a.shape[0];
  m.cols = a.shape[1];
  m.data = a.as_f32();
  for (std::int64_t i = 0; i < m.rows; ++i)
    for (std::int64_t j = 0; j < m.cols; ++j)
      if (!std::isfinite(m.data[i * m.cols + j]))
        throw InputError(at_file(path.string(), "row " + std::to_string(i) + " contains NaN or Inf (column " +
                                                    std::to_string(j) + ")"));
  return m;
}

void write_feature_matrix(const fs::path& path, const Matrix32& m) {
  write_npy(path, make_npy(m.data, {m.rows, m.cols}));
}

}  // namespace medsyn

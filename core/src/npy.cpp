#include "medsyn/core/npy.h"

#include <zip.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <regex>
#include <set>
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
  if (n < 0 || a.bytes.size() != static_cast<std::size_t>(n) * dtype_size(a.dtype))
    throw Error("NpyArray: " + std::to_string(a.bytes.size()) + " bytes do not match its shape");
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

namespace {

// What a .npy header declares. `data_offset` is where the array bytes start; `data_bytes` how
// many there are (computed with overflow checks, so no allocation is ever sized from an
// overflowed product).
struct NpyHeader {
  DType dtype = DType::f32;
  std::vector<std::int64_t> shape;
  bool fortran = false;
  std::size_t data_offset = 0;
  std::uint64_t data_bytes = 0;
};

// Bytes needed before the header text can be parsed: the magic, version and header length.
// Returns 0 when `b` is too short to tell.
std::size_t npy_prefix_size(const std::uint8_t* b, std::size_t n, const std::string& name) {
  static const char magic[] = "\x93NUMPY";
  if (n < 10 || std::memcmp(b, magic, 6) != 0) throw InputError(at_file(name, "not a .npy file (bad magic bytes)"));
  const int major = b[6];
  if (major == 1) return 10 + (b[8] | (b[9] << 8));
  if (major == 2 || major == 3) {
    if (n < 12) throw InputError(at_file(name, "truncated .npy header"));
    const std::size_t len = b[8] | (b[9] << 8) | (static_cast<std::size_t>(b[10]) << 16) |
                            (static_cast<std::size_t>(b[11]) << 24);
    // NumPy writes headers of a few hundred bytes; anything this large is not a real header.
    if (len > (1u << 20)) throw InputError(at_file(name, ".npy header length " + std::to_string(len) + " is implausible"));
    return 12 + len;
  }
  throw InputError(at_file(name, "unsupported .npy format version " + std::to_string(major)));
}

// One shape entry: a non-negative decimal integer (NumPy may append 'L' in old files).
std::int64_t parse_dim(std::string item, const std::string& name) {
  item.erase(0, item.find_first_not_of(" \t"));
  item.erase(item.find_last_not_of(" \tL") + 1);
  if (item.empty() || item.size() > 19 || item.find_first_not_of("0123456789") != std::string::npos)
    throw InputError(at_file(name, ".npy header: shape entry '" + item + "' is not a non-negative integer"));
  return std::stoll(item);  // at most 19 digits: fits
}

NpyHeader parse_npy_header(const std::uint8_t* b, std::size_t n, const std::string& name) {
  const std::size_t offset = n >= 7 && b[6] == 1 ? 10 : 12;
  const std::size_t end = npy_prefix_size(b, n, name);
  if (end > n) throw InputError(at_file(name, "truncated .npy header"));
  const std::string header(reinterpret_cast<const char*>(b + offset), end - offset);
  std::smatch m;
  if (!std::regex_search(header, m, std::regex(R"('descr'\s*:\s*'([^']+)')")))
    throw InputError(at_file(name, ".npy header has no 'descr'"));
  NpyHeader h;
  h.dtype = dtype_from_descr(m[1], name);
  h.fortran = std::regex_search(header, m, std::regex(R"('fortran_order'\s*:\s*(True|False))")) && m[1] == "True";
  if (!std::regex_search(header, m, std::regex(R"('shape'\s*:\s*\(([^)]*)\))")))
    throw InputError(at_file(name, ".npy header has no 'shape'"));
  std::stringstream ss(m[1].str());
  std::string item;
  std::vector<std::string> items;
  while (std::getline(ss, item, ',')) items.push_back(item);
  // "(3,)" splits into "3" and "": a trailing empty item is the tuple syntax, any other is an error.
  if (!items.empty() && items.back().find_first_not_of(" \t") == std::string::npos) items.pop_back();
  if (items.size() > 32) throw InputError(at_file(name, ".npy header: more than 32 dimensions"));
  std::uint64_t count = 1;
  for (const auto& it : items) {
    h.shape.push_back(parse_dim(it, name));
    count = checked_mul(count, static_cast<std::uint64_t>(h.shape.back()), at_file(name, "the declared shape"));
  }
  h.data_bytes = checked_mul(count, dtype_size(h.dtype), at_file(name, "the declared data size"));
  if (h.data_bytes > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
    throw InputError(at_file(name, "the declared shape holds " + std::to_string(h.data_bytes) + " bytes, which is not possible"));
  h.data_offset = end;
  return h;
}

std::string shape_text(const std::vector<std::int64_t>& s) {
  std::string t = "(";
  for (std::size_t i = 0; i < s.size(); ++i) t += (i ? ", " : "") + std::to_string(s[i]);
  return t + (s.size() == 1 ? ",)" : ")");
}

// Fortran (column-major) bytes -> C (row-major) order, for any number of dimensions.
std::vector<std::uint8_t> fortran_to_c(const std::uint8_t* src, const std::vector<std::int64_t>& shape, std::size_t es) {
  std::size_t count = 1;
  for (auto d : shape) count *= static_cast<std::size_t>(d);
  std::vector<std::uint8_t> out(count * es);
  if (count == 0) return out;
  const std::size_t nd = shape.size();
  std::vector<std::size_t> fstride(nd, 1), idx(nd, 0);
  for (std::size_t k = 1; k < nd; ++k) fstride[k] = fstride[k - 1] * static_cast<std::size_t>(shape[k - 1]);
  std::size_t foff = 0;  // Fortran element offset of the C-order multi-index `idx`
  for (std::size_t c = 0; c < count; ++c) {
    std::memcpy(out.data() + c * es, src + foff * es, es);
    // advance idx in C order (last index fastest)
    for (std::size_t k = nd; k-- > 0;) {
      if (++idx[k] < static_cast<std::size_t>(shape[k])) {
        foff += fstride[k];
        break;
      }
      foff -= fstride[k] * (idx[k] - 1);
      idx[k] = 0;
    }
  }
  return out;
}

NpyArray finish(NpyHeader h, const std::uint8_t* data, const std::string& name) {
  (void)name;
  NpyArray a;
  a.dtype = h.dtype;
  a.shape = std::move(h.shape);
  if (h.fortran && a.shape.size() > 1) a.bytes = fortran_to_c(data, a.shape, dtype_size(a.dtype));
  else a.bytes.assign(data, data + h.data_bytes);
  return a;
}

}  // namespace

NpyArray parse_npy(const std::vector<std::uint8_t>& b, const std::string& name) {
  NpyHeader h = parse_npy_header(b.data(), b.size(), name);
  const std::uint64_t have = b.size() - h.data_offset;
  if (have < h.data_bytes)
    throw InputError(at_file(name, "truncated .npy data: shape " + shape_text(h.shape) + " needs " +
                                       std::to_string(h.data_bytes) + " bytes, found " + std::to_string(have)));
  const std::uint8_t* data = b.data() + h.data_offset;
  return finish(std::move(h), data, name);
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

namespace {

// Deflate cannot expand data by more than about 1032:1; an entry that declares more bytes than
// that from its compressed size is crafted (or corrupt). Checked before reading anything.
constexpr std::uint64_t kMaxDeflateRatio = 1032;

struct ZipCloser {
  zip_t* z;
  ~ZipCloser() { zip_discard(z); }
};
struct ZipFileCloser {
  zip_file_t* f;
  ~ZipFileCloser() { zip_fclose(f); }
};

// Reads up to `want` bytes (fewer only at the end of the entry), growing `out` as data arrives,
// so a header that lies about sizes costs no memory beyond the bytes really present.
std::size_t read_some(zip_file_t* f, std::vector<std::uint8_t>& out, std::uint64_t want, const std::string& what) {
  std::size_t got = 0;
  std::uint8_t buf[1 << 16];
  while (got < want) {
    const zip_uint64_t chunk = std::min<std::uint64_t>(sizeof buf, want - got);
    const zip_int64_t n = zip_fread(f, buf, chunk);
    if (n < 0) throw InputError(what + " is corrupt (" + zip_file_strerror(f) + ")");
    if (n == 0) break;
    out.insert(out.end(), buf, buf + n);
    got += static_cast<std::size_t>(n);
  }
  return got;
}

struct Member {
  std::string key;  // without ".npy"
  NpyHeader header;
  std::vector<std::uint8_t> bytes;  // header + data (data only when read)
};

// Opens the archive and visits every member with its parsed .npy header; `read_data` also reads
// exactly the declared data bytes. Refuses members whose name appears twice (numpy reads the
// last copy, other tools the first: ambiguous) and entries with bytes after the declared array.
void visit_npz(const fs::path& path, bool read_data, const std::function<void(Member&)>& visit) {
  const std::string file = path.string();
  {
    const int fd = open_regular_file(path, "reading");  // missing, FIFO, device: named errors
    ::close(fd);
  }
  int err = 0;
  zip_t* z = zip_open(path.c_str(), ZIP_RDONLY, &err);
  if (!z) throw InputError(at_file(file, "not a readable .npz (zip) archive"));
  ZipCloser closer{z};
  const zip_int64_t n = zip_get_num_entries(z, 0);
  std::set<std::string> seen;
  for (zip_int64_t i = 0; i < n; ++i) {
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(z, static_cast<zip_uint64_t>(i), 0, &st) != 0 || !st.name)
      throw InputError(at_file(file, "corrupt zip entry " + std::to_string(i)));
    Member m;
    m.key = st.name;
    if (m.key.size() > 4 && m.key.compare(m.key.size() - 4, 4, ".npy") == 0) m.key.resize(m.key.size() - 4);
    const std::string what = at_file(file, "member '" + m.key + "'");
    if (!seen.insert(m.key).second)
      throw InputError(what + " appears twice in the archive (ambiguous: numpy reads the last copy); refusing");
    zip_file_t* f = zip_fopen_index(z, static_cast<zip_uint64_t>(i), 0);
    if (!f) throw InputError(what + " cannot be opened (" + zip_strerror(z) + ")");
    ZipFileCloser fcloser{f};
    // The header: the fixed prefix, then the header text it announces.
    read_some(f, m.bytes, 10, what);
    if (m.bytes.size() >= 7 && m.bytes[6] != 1) read_some(f, m.bytes, 2, what);  // 4-byte header length
    const std::string member_name = file + ":" + m.key;
    const std::size_t prefix = npy_prefix_size(m.bytes.data(), m.bytes.size(), member_name);
    if (prefix > m.bytes.size()) read_some(f, m.bytes, prefix - m.bytes.size(), what);
    m.header = parse_npy_header(m.bytes.data(), m.bytes.size(), member_name);
    const std::uint64_t total = checked_add(m.header.data_offset, m.header.data_bytes, what);
    if ((st.valid & ZIP_STAT_SIZE) && st.size < total)
      throw InputError(what + ": shape " + shape_text(m.header.shape) + " needs " + std::to_string(total) +
                       " bytes, the entry holds " + std::to_string(st.size) + " (truncated)");
    if ((st.valid & ZIP_STAT_SIZE) && st.size > total)
      throw InputError(what + " holds " + std::to_string(st.size - total) +
                       " bytes after the declared array (corrupt or crafted); refusing");
    if ((st.valid & ZIP_STAT_COMP_SIZE) && (st.valid & ZIP_STAT_COMP_METHOD) && st.comp_method != ZIP_CM_STORE &&
        total / kMaxDeflateRatio > st.comp_size + 1024)
      throw InputError(what + ": shape " + shape_text(m.header.shape) + " declares " + std::to_string(total) +
                       " bytes, more than " + std::to_string(st.comp_size) + " compressed bytes can hold");
    if (read_data) {
      // m.bytes holds exactly the header (read_some stopped at its end); now the declared data.
      const std::size_t got = read_some(f, m.bytes, m.header.data_bytes, what);
      if (got < m.header.data_bytes)
        throw InputError(what + ": shape " + shape_text(m.header.shape) + " needs " + std::to_string(m.header.data_bytes) +
                         " data bytes, the entry ends after " + std::to_string(got) + " (truncated)");
      // Anything after the declared array is refused; one more byte tells, without reading it all.
      std::vector<std::uint8_t> extra;
      if (read_some(f, extra, 1, what) != 0)
        throw InputError(what + " has bytes after the declared array (corrupt or crafted); refusing");
    }
    visit(m);
  }
}

}  // namespace

std::map<std::string, NpyArray> read_npz(const fs::path& path) {
  std::map<std::string, NpyArray> out;
  visit_npz(path, true, [&](Member& m) {
    const std::string name = path.string() + ":" + m.key;
    const std::size_t off = m.header.data_offset;
    out.emplace(m.key, finish(std::move(m.header), m.bytes.data() + off, name));
  });
  return out;
}

std::map<std::string, NpyInfo> read_npz_info(const fs::path& path) {
  std::map<std::string, NpyInfo> out;
  visit_npz(path, false, [&](Member& m) { out.emplace(m.key, NpyInfo{m.header.dtype, m.header.shape}); });
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
  require_finite(m, path.string());
  return m;
}

void require_finite(const FeatureView& m, const std::string& name) {
  for (std::int64_t i = 0; i < m.rows; ++i) {
    const float* r = m.row(i);
    for (std::int64_t j = 0; j < m.cols; ++j)
      if (!std::isfinite(r[j]))
        throw InputError(at_file(name, "row " + std::to_string(i) + " contains NaN or Inf (column " + std::to_string(j) + ")"));
  }
}

void write_feature_matrix(const fs::path& path, const Matrix32& m) {
  write_npy(path, make_npy(m.data, {m.rows, m.cols}));
}

}  // namespace medsyn

// NIfTI-1 single-file reader (.nii, .nii.gz). The 348-byte header is parsed here; zlib's gz*
// functions read plain and gzip-compressed files alike.
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "medsyn/core/error.h"
#include "medsyn/core/fs.h"
#include "medsyn/core/option_error.h"
#include "medsyn/core/medical_io.h"

namespace fs = std::filesystem;

namespace medsyn {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// Bytes a file may hold after the voxels its header declares: NIfTI allows nothing there, but
// some writers pad; more than this is refused (a crafted or corrupt file, or a gzip bomb).
constexpr std::size_t kTrailingSlack = 1 << 20;
// Largest volume read: 2^30 voxels (4 GiB as float32 samples).
constexpr std::uint64_t kMaxVoxels = 1ull << 30;

// A plain or gzip-compressed file, read incrementally so that memory follows the bytes the
// header asked for, never what the stream would inflate to.
class GzReader {
 public:
  explicit GzReader(const fs::path& path) : name_(path.string()) {
    const int fd = open_regular_file(path, "reading");  // refuses FIFOs and devices
    f_ = gzdopen(fd, "rb");
    if (!f_) {
      ::close(fd);
      throw InputError(at_file(name_, "cannot open for reading"));
    }
  }
  ~GzReader() { gzclose(f_); }
  GzReader(const GzReader&) = delete;
  GzReader& operator=(const GzReader&) = delete;

  // Appends up to `want` bytes to `out` (fewer only at the end of the data).
  std::size_t read(std::vector<std::uint8_t>& out, std::uint64_t want) {
    std::size_t got = 0;
    std::uint8_t buf[1 << 16];
    while (got < want) {
      const unsigned chunk = static_cast<unsigned>(std::min<std::uint64_t>(sizeof buf, want - got));
      const int n = gzread(f_, buf, chunk);
      if (n < 0) fail();
      if (n == 0) break;
      out.insert(out.end(), buf, buf + n);
      got += static_cast<std::size_t>(n);
    }
    if (got < want) check_ok();
    return got;
  }
  // Reads and discards up to `limit` + 1 bytes; returns how many there were.
  std::uint64_t skip(std::uint64_t limit) {
    std::uint64_t got = 0;
    std::uint8_t buf[1 << 16];
    while (got <= limit) {
      const int n = gzread(f_, buf, sizeof buf);
      if (n < 0) fail();
      if (n == 0) break;
      got += static_cast<std::uint64_t>(n);
    }
    if (got <= limit) check_ok();
    return got;
  }

 private:
  [[noreturn]] void fail() {
    int err = 0;
    const std::string msg = gzerror(f_, &err);
    throw InputError(at_file(name_, "corrupt or truncated gzip data (" + msg + ")"));
  }
  void check_ok() {
    int err = 0;
    const std::string msg = gzerror(f_, &err);
    if (err != Z_OK && err != Z_STREAM_END) throw InputError(at_file(name_, "corrupt or truncated gzip data (" + msg + ")"));
  }
  std::string name_;
  gzFile f_ = nullptr;
};

template <class T>
T load(const std::uint8_t* p, bool swap) {
  T v;
  std::uint8_t b[sizeof(T)];
  std::memcpy(b, p, sizeof(T));
  if (swap) std::reverse(b, b + sizeof(T));
  std::memcpy(&v, b, sizeof(T));
  return v;
}

struct DtypeInfo {
  int code;
  int bytes;
  const char* name;
};
const DtypeInfo* dtype_info(int code) {
  static const DtypeInfo table[] = {{2, 1, "uint8"},   {256, 1, "int8"},   {4, 2, "int16"},   {512, 2, "uint16"},
                                    {8, 4, "int32"},   {768, 4, "uint32"}, {16, 4, "float32"}, {64, 8, "float64"}};
  for (const auto& d : table)
    if (d.code == code) return &d;
  return nullptr;
}

double voxel(const std::uint8_t* p, int code, bool swap) {
  switch (code) {
    case 2: return *p;
    case 256: return static_cast<std::int8_t>(*p);
    case 4: return load<std::int16_t>(p, swap);
    case 512: return load<std::uint16_t>(p, swap);
    case 8: return load<std::int32_t>(p, swap);
    case 768: return load<std::uint32_t>(p, swap);
    case 16: return load<float>(p, swap);
    case 64: return load<double>(p, swap);
  }
  return 0.0;
}

}  // namespace

bool is_nifti_file(const fs::path& path) {
  const std::string n = lower(path.filename().string());
  auto ends = [&](const std::string& suf) { return n.size() > suf.size() && n.compare(n.size() - suf.size(), suf.size(), suf) == 0; };
  return ends(".nii") || ends(".nii.gz");
}

int parse_slice_axis(const std::string& text) {
  const std::string t = lower(text);
  if (t == "0" || t == "x" || t == "sagittal") return 0;
  if (t == "1" || t == "y" || t == "coronal") return 1;
  if (t == "2" || t == "z" || t == "axial") return 2;
  throw OptionError("axis", "expected x|y|z (or 0|1|2, sagittal|coronal|axial), got '" + text + "'");
}

const char* slice_axis_name(int axis) {
  static const char* names[] = {"x", "y", "z"};
  return axis >= 0 && axis < 3 ? names[axis] : "?";
}

SampleStack read_nifti(const fs::path& path, int axis, int step, std::size_t* nonfinite_out) {
  const std::string name = path.string();
  if (axis < 0 || axis > 2) throw InputError(at_file(name, "slice axis must be 0, 1 or 2"));
  if (step < 1) throw InputError(at_file(name, "slice step must be >= 1"));
  GzReader gz(path);  // "file does not exist", or a refusal for FIFOs and devices
  std::vector<std::uint8_t> b;
  gz.read(b, 348);
  if (b.size() < 348) throw InputError(at_file(name, "too short for a NIfTI-1 header (" + std::to_string(b.size()) + " bytes, need 348)"));
  const std::int32_t sizeof_hdr = load<std::int32_t>(b.data(), false);
  bool swap = false;
  if (sizeof_hdr != 348) {
    if (load<std::int32_t>(b.data(), true) == 348) swap = true;
    else if (sizeof_hdr == 540 || load<std::int32_t>(b.data(), true) == 540)
      throw InputError(at_file(name, "NIfTI-2 files are not supported (only NIfTI-1)"));
    else throw InputError(at_file(name, "not a NIfTI-1 file (sizeof_hdr is " + std::to_string(sizeof_hdr) + ", expected 348)"));
  }
  const char* magic = reinterpret_cast<const char*>(b.data() + 344);
  if (std::memcmp(magic, "ni1\0", 4) == 0)
    throw InputError(at_file(name, "a .hdr/.img NIfTI pair header; only single-file NIfTI (.nii) is supported"));
  if (std::memcmp(magic, "n+1\0", 4) != 0)
    throw InputError(at_file(name, "bad NIfTI-1 magic (expected \"n+1\")"));
  std::int16_t dim[8];
  for (int i = 0; i < 8; ++i) dim[i] = load<std::int16_t>(b.data() + 40 + 2 * i, swap);
  const int ndim = dim[0];
  if (ndim < 1 || ndim > 7) throw InputError(at_file(name, "header field dim[0] = " + std::to_string(ndim) + " (expected 1..7)"));
  std::int64_t n[7] = {1, 1, 1, 1, 1, 1, 1};
  for (int i = 1; i <= ndim; ++i) {
    if (dim[i] < 1) throw InputError(at_file(name, "header field dim[" + std::to_string(i) + "] = " + std::to_string(dim[i]) + " (must be >= 1)"));
    n[i - 1] = dim[i];
  }
  for (int i = 4; i < 7; ++i)
    if (n[i] != 1) throw InputError(at_file(name, "5-D or higher NIfTI data is not supported (dim[" + std::to_string(i + 1) + "] = " + std::to_string(n[i]) + ")"));
  const int code = load<std::int16_t>(b.data() + 70, swap);
  const DtypeInfo* dt = dtype_info(code);
  if (!dt)
    throw InputError(at_file(name, "unsupported NIfTI datatype " + std::to_string(code) +
                                       " (supported: uint8, int8, int16, uint16, int32, uint32, float32, float64)"));
  const float vox_offset_f = load<float>(b.data() + 108, swap);
  if (!(vox_offset_f >= 348.f)) throw InputError(at_file(name, "header field vox_offset must be >= 348"));
  if (!(vox_offset_f <= 16777216.f))  // 16 MiB of header extensions: far more than any real file
    throw InputError(at_file(name, "header field vox_offset = " + std::to_string(vox_offset_f) + " is implausibly large"));
  const std::size_t vox_offset = static_cast<std::size_t>(vox_offset_f);
  float slope = load<float>(b.data() + 112, swap), inter = load<float>(b.data() + 116, swap);
  if (!std::isfinite(slope) || slope == 0.f) {  // NIfTI: scl_slope 0 means "no scaling"
    slope = 1.f;
    inter = 0.f;
  }
  if (!std::isfinite(inter)) inter = 0.f;
  const std::int64_t nx = n[0], ny = n[1], nz = n[2], nt = n[3];
  // Sizes from the header, overflow-checked and bounded before anything is allocated.
  const std::string dims_what = at_file(name, "the declared dimensions");
  const std::uint64_t nvox = checked_mul(checked_mul(checked_mul(nx, ny, dims_what), nz, dims_what), nt, dims_what);
  if (nvox > kMaxVoxels)
    throw InputError(at_file(name, std::to_string(nx) + "x" + std::to_string(ny) + "x" + std::to_string(nz) + "x" +
                                       std::to_string(nt) + " = " + std::to_string(nvox) + " voxels, more than the limit of " +
                                       std::to_string(kMaxVoxels) + " per file"));
  const std::size_t need = vox_offset + static_cast<std::size_t>(nvox) * dt->bytes;
  gz.read(b, need - b.size());
  if (b.size() < need)
    throw InputError(at_file(name, "truncated NIfTI: " + std::to_string(nx) + "x" + std::to_string(ny) + "x" +
                                       std::to_string(nz) + "x" + std::to_string(nt) + " " + dt->name + " voxels need " +
                                       std::to_string(need) + " bytes, the file has " + std::to_string(b.size())));
  // What follows the declared voxels is read only up to the slack: a file that inflates beyond
  // it is refused instead of being read whole.
  if (gz.skip(kTrailingSlack) > kTrailingSlack)
    throw InputError(at_file(name, "holds (or inflates to) more than " + std::to_string(kTrailingSlack) +
                                       " bytes beyond the " + std::to_string(need) +
                                       " its header declares (corrupt or crafted); refusing"));

  SampleStack s;
  s.format = "nifti";
  s.units = "nifti";
  s.channels = 1;
  s.stored_bits = dt->bytes * 8;
  s.is_signed = code == 256 || code == 4 || code == 8 || code == 16 || code == 64;
  s.rescaled = slope != 1.f || inter != 0.f;
  s.axis = axis;
  const std::int64_t size[3] = {nx, ny, nz};
  const std::int64_t nslices = size[axis];
  // In-plane axes: the lower-index one horizontal, the other vertical (pointing up).
  const int ha = axis == 0 ? 1 : 0, va = axis == 2 ? 1 : 2;
  s.width = static_cast<int>(size[ha]);
  s.height = static_cast<int>(size[va]);
  const std::size_t plane = static_cast<std::size_t>(s.width) * s.height;
  std::vector<std::int64_t> keep;
  for (std::int64_t k = 0; k < nslices; k += step) keep.push_back(k);
  s.count = static_cast<int>(keep.size() * nt);
  s.data.resize(plane * s.count);
  std::size_t nonfinite = 0;
  const std::uint8_t* base = b.data() + vox_offset;
  int img = 0;
  for (std::int64_t t = 0; t < nt; ++t)
    for (std::int64_t k : keep) {
      float* dst = s.data.data() + plane * img;
      for (int r = 0; r < s.height; ++r)
        for (int c = 0; c < s.width; ++c) {
          std::int64_t ijk[3];
          ijk[axis] = k;
          ijk[ha] = c;
          ijk[va] = s.height - 1 - r;
          const std::size_t idx = static_cast<std::size_t>(ijk[0] + nx * (ijk[1] + ny * (ijk[2] + nz * t)));
          double v = voxel(base + idx * dt->bytes, code, swap) * slope + inter;
          if (!std::isfinite(v)) {
            v = 0.0;
            ++nonfinite;
          }
          dst[static_cast<std::size_t>(r) * s.width + c] = static_cast<float>(v);
        }
      s.index.push_back(static_cast<int>(k));
      s.volume.push_back(static_cast<int>(t));
      ++img;
    }
  if (nonfinite_out) *nonfinite_out = nonfinite;
  return s;
}

}  // namespace medsyn

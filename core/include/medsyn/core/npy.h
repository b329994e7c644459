#pragma once
// NumPy .npy and .npz I/O (format version 1.0/2.0/3.0, little-endian; Fortran-ordered arrays,
// which np.save writes for e.g. transposed views, are converted to C order when read).
// Hostile input: every size is computed from the header with overflow checks before anything is
// allocated, and memory grows only with bytes really present. An .npz member must hold exactly
// its declared array (bytes after it are refused, as is a member name that appears twice) and
// must not declare more than Deflate could expand its compressed bytes to.
// Matrices are always compact row-major: element (i, j) of an N x D array is data[i*D + j].
//   write_npy / write_npz are atomic (temp file + rename).
//   read_npz reads stored and Deflate-compressed archives (np.savez and np.savez_compressed).
// Supported dtypes: <f4, <f8, |u1, <u2, <i4, <i8, |b1 (read); writing takes float, double, uint8,
// int64.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace medsyn {

enum class DType { f32, f64, u8, u16, i32, i64, b1 };
const char* npy_descr(DType t);
std::size_t dtype_size(DType t);

struct NpyArray {
  DType dtype = DType::f32;
  std::vector<std::int64_t> shape;
  std::vector<std::uint8_t> bytes;  // raw little-endian data, C order

  std::int64_t numel() const;
  // Converting copies (any numeric dtype). Throws InputError on bool arrays.
  std::vector<double> as_f64() const;
  std::vector<float> as_f32() const;
  std::vector<std::int64_t> as_i64() const;
};

NpyArray parse_npy(const std::vector<std::uint8_t>& file_bytes, const std::string& name);
std::vector<std::uint8_t> serialize_npy(const NpyArray& a);

NpyArray read_npy(const std::filesystem::path& path);
void write_npy(const std::filesystem::path& path, const NpyArray& a);

std::map<std::string, NpyArray> read_npz(const std::filesystem::path& path);
// dtype and shape of every member, reading only their headers (cheap: sizes can be checked
// before the data is loaded).
struct NpyInfo {
  DType dtype = DType::f32;
  std::vector<std::int64_t> shape;
};
std::map<std::string, NpyInfo> read_npz_info(const std::filesystem::path& path);
// Keys without the ".npy" suffix. `compress` uses Deflate (like np.savez_compressed).
void write_npz(const std::filesystem::path& path, const std::map<std::string, NpyArray>& arrays,
               bool compress = false);

// Convenience constructors.
NpyArray make_npy(const std::vector<float>& v, std::vector<std::int64_t> shape);
NpyArray make_npy(const std::vector<double>& v, std::vector<std::int64_t> shape);
NpyArray make_npy(const std::vector<std::uint8_t>& v, std::vector<std::int64_t> shape);
NpyArray make_npy(const std::vector<std::int64_t>& v, std::vector<std::int64_t> shape);

// An N x D float32 matrix read from .npy; validates 2-D and finite values
// ("F.npy: row 17 contains NaN or Inf").
struct Matrix32 {
  std::int64_t rows = 0, cols = 0;
  std::vector<float> data;  // row-major
};
Matrix32 read_feature_matrix(const std::filesystem::path& path);
// A read-only view of an N x D row-major float32 matrix: a Matrix32 (implicit conversion) or memory
// owned by someone else (a NumPy array handed over by the Python module). The feature metrics read
// through it, so a caller holding features never copies them to call a metric.
struct FeatureView {
  std::int64_t rows = 0, cols = 0;
  const float* data = nullptr;  // rows * cols values
  FeatureView() = default;
  FeatureView(const float* values, std::int64_t n_rows, std::int64_t n_cols) : rows(n_rows), cols(n_cols), data(values) {}
  FeatureView(const Matrix32& m) : rows(m.rows), cols(m.cols), data(m.data.data()) {}  // NOLINT: implicit by design
  const float* row(std::int64_t i) const { return data + static_cast<std::size_t>(i) * static_cast<std::size_t>(cols); }
};
// InputError "NAME: row R contains NaN or Inf" (the check read_feature_matrix makes on files).
void require_finite(const FeatureView& m, const std::string& name);
void write_feature_matrix(const std::filesystem::path& path, const Matrix32& m);

}  // namespace medsyn

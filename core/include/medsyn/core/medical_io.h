#pragma once
// Medical image formats (DICOM via DCMTK, NIfTI-1) and their normalisation to [0,1].
//
// Data convention (stated once, here):
//  * A decoded file is a SampleStack: `count` 2D images of identical C x H x W (DICOM frames, or
//    NIfTI slices along one axis), each stored CHW, float32 samples in the file's *physical units*:
//      - DICOM monochrome: stored value * RescaleSlope + RescaleIntercept (signed/unsigned, bits
//        stored/high bit honoured). For CT this is Hounsfield units (units = "HU").
//      - DICOM colour (RGB, YBR_*, PALETTE COLOR): RGB, 3 channels, in [0, 2^bits - 1] with bits 8
//        (8-bit sources) or 16; palettes are expanded, YBR converted to RGB (DCMTK).
//      - NIfTI: voxel value * scl_slope + scl_inter (no scaling when scl_slope is 0).
//  * Normalisation to [0,1] is explicit and recorded (Normalisation), chosen in this order:
//      1. a window given by the user (--window center,width or a preset name):
//           lo = center - width/2, v' = clamp((v - lo) / width, 0, 1)
//      2. DICOM colour and 8-bit monochrome without rescale: the bit-depth range [0, 2^bits - 1]
//         (signed: [-2^(bits-1), 2^(bits-1) - 1])
//      3. DICOM monochrome with a VOI window in the file (WindowCenter/WindowWidth, first value):
//         that window, same formula as 1 (source "file")
//      4. otherwise the min/max over the whole stack (all frames / the whole volume): "minmax".
//    MONOCHROME1 (white = low values) is inverted after normalisation (v' = 1 - v').
//  * NIfTI slices: axis 0 (x, sagittal), 1 (y, coronal) or 2 (z, axial; default). The slice is
//    shown with the remaining lower-index axis horizontal (left to right) and the other vertical
//    pointing up (row 0 is the highest index), as viewers with origin='lower' do. The qform/sform
//    orientation is not applied.
// Every failure throws InputError naming the file and what is wrong (truncated pixel data, an
// unsupported transfer syntax or datatype, a corrupt gzip stream, ...).
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "medsyn/core/image.h"

namespace medsyn {

struct Window {
  double center = 0.0;
  double width = 1.0;
  std::string name;    // preset name ("brain") or "" for numbers
  std::string source;  // "user" or "file"
};

// "40,80" (center,width) or a preset: brain (40,80), subdural (75,215), stroke (40,40),
// soft_tissue (50,400), mediastinum (50,350), liver (30,150), lung (-600,1500), bone (400,1800).
// Throws OptionError naming `what` (the option's field, e.g. "window") for malformed text or width <= 0.
Window parse_window(const std::string& text, const std::string& what = "window");
// The linear window above, for one value.
inline float apply_window(double v, const Window& w) {
  const double lo = w.center - w.width / 2.0;
  double t = (v - lo) / w.width;
  t = t < 0.0 ? 0.0 : (t > 1.0 ? 1.0 : t);
  return static_cast<float>(t);
}

struct SampleStack {
  int count = 0, channels = 0, height = 0, width = 0;
  std::vector<float> data;  // count images, each CHW; physical units (see above)

  std::string format;            // "dicom" or "nifti"
  std::string units;             // "HU" (CT), "stored" (other DICOM), "rgb" (colour), "nifti"
  int stored_bits = 0;           // precision of the stored samples (DICOM BitsStored, NIfTI bitpix)
  bool is_signed = false;
  bool rescaled = false;         // a slope/intercept other than (1, 0) was applied
  bool invert = false;           // MONOCHROME1
  std::optional<Window> file_window;  // DICOM WindowCenter/WindowWidth
  // DICOM details
  std::string modality_tag;      // (0008,0060), e.g. "CT"
  std::string photometric;       // as stored, e.g. "MONOCHROME2", "PALETTE COLOR"
  std::string transfer_syntax;   // name, e.g. "RLE Lossless"
  // Position of each image in the source: DICOM frame index, or NIfTI slice index along `axis`
  // and volume (4th dimension) index.
  std::vector<int> index;
  std::vector<int> volume;
  int axis = -1;                 // NIfTI slice axis (0, 1, 2); -1 for DICOM

  std::size_t image_size() const { return static_cast<std::size_t>(channels) * height * width; }
  const float* image_data(int i) const { return data.data() + static_cast<std::size_t>(i) * image_size(); }
};

struct Normalisation {
  std::string method;  // "window", "bit_depth" or "minmax"
  double lo = 0.0, hi = 1.0;   // value range mapped to [0,1]
  std::optional<Window> window;  // when method == "window"
  bool invert = false;
};

// The normalisation rule above for a stack, given an optional user window.
Normalisation choose_normalisation(const SampleStack& s, const std::optional<Window>& user_window);
// Image `i` of the stack mapped to [0,1] with `n`.
Image normalise(const SampleStack& s, int i, const Normalisation& n);

// Format detection: .dcm/.dicom/.ima extension or "DICM" at byte 128; .nii / .nii.gz.
bool is_dicom_file(const std::filesystem::path& path);
bool is_nifti_file(const std::filesystem::path& path);

// DICOM: uncompressed (implicit/explicit VR, little/big endian, deflated), RLE Lossless,
// JPEG (baseline, extended, lossless), JPEG-LS. Multi-frame files give one image per frame.
// JPEG 2000 is not supported by DCMTK and is reported as such.
SampleStack read_dicom(const std::filesystem::path& path);

// NIfTI-1 single file (.nii, .nii.gz): datatypes uint8, int8, int16, uint16, int32, uint32,
// float32, float64; 3-D or 4-D (every volume is sliced; `volume` says which). Non-finite voxels
// (NaN/Inf) are set to 0 and counted in `nonfinite` (when not null).
// `axis`: 0, 1 or 2; `step` keeps every step-th slice (1 = all).
SampleStack read_nifti(const std::filesystem::path& path, int axis = 2, int step = 1,
                       std::size_t* nonfinite = nullptr);

// "x"/"sagittal"/"0", "y"/"coronal"/"1", "z"/"axial"/"2" -> 0..2; InputError otherwise.
int parse_slice_axis(const std::string& text);
const char* slice_axis_name(int axis);  // "x", "y", "z"

// Smallest PNG bit depth that represents the [0,1] image exactly: 8 when every value is k/255,
// otherwise 16.
int exact_png_bit_depth(const Image& img);

}  // namespace medsyn

// DICOM reading with DCMTK. Monochrome pixels are decoded here (exact float rescale, which
// DicomImage cannot do: it truncates fractional slopes to integers); colour images (RGB, YBR,
// palette) go through DicomImage, which does the colour-model conversions.
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <fstream>
#include <mutex>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dctk.h>
#include <dcmtk/dcmdata/dcrledrg.h>
#include <dcmtk/dcmimage/diregist.h>  // enables colour models in DicomImage
#include <dcmtk/dcmimgle/dcmimage.h>
#include <dcmtk/dcmjpeg/djdecode.h>
#include <dcmtk/dcmjpls/djdecode.h>
#include <dcmtk/oflog/oflog.h>

#include "medsyn/core/error.h"
#include "medsyn/core/fs.h"
#include "medsyn/core/medical_io.h"

namespace fs = std::filesystem;

namespace medsyn {

namespace {

void init_dcmtk() {
  static std::once_flag once;
  std::call_once(once, [] {
    // DCMTK logs warnings on stderr by itself; errors reach the user through our messages.
    OFLog::configure(OFLogger::OFF_LOG_LEVEL);
    DcmRLEDecoderRegistration::registerCodecs();
    DJDecoderRegistration::registerCodecs();
    DJLSDecoderRegistration::registerCodecs();
  });
}

// Largest image stack decoded from one file: 2^30 samples (4 GiB as float32).
constexpr std::uint64_t kMaxSamples = 1ull << 30;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string get_string(DcmItem* ds, const DcmTagKey& tag) {
  OFString v;
  if (ds->findAndGetOFString(tag, v).good()) {
    std::string s = v.c_str();
    while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
    return s;
  }
  return "";
}

long get_uint16(DcmItem* ds, const DcmTagKey& tag, long fallback) {
  Uint16 v;
  if (ds->findAndGetUint16(tag, v).good()) return v;
  return fallback;
}

std::optional<double> get_f64(DcmItem* ds, const DcmTagKey& tag) {
  Float64 v;
  if (ds->findAndGetFloat64(tag, v, 0).good() && std::isfinite(v)) return v;
  return std::nullopt;
}

}  // namespace

bool is_dicom_file(const fs::path& path) {
  const std::string e = lower(path.extension().string());
  if (e == ".dcm" || e == ".dicom" || e == ".ima") return true;
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return false;  // never open a FIFO (it would block)
  std::ifstream in(path, std::ios::binary);
  char buf[132];
  if (!in.read(buf, sizeof buf)) return false;
  return std::memcmp(buf + 128, "DICM", 4) == 0;
}

SampleStack read_dicom(const fs::path& path) {
  init_dcmtk();
  const std::string name = path.string();
  std::error_code ec;
  ::close(open_regular_file(path, "reading"));  // missing files, FIFOs and devices: named errors
  if (fs::file_size(path, ec) == 0) throw InputError(at_file(name, "empty file"));

  DcmFileFormat ff;
  OFCondition cond = ff.loadFile(name.c_str());
  if (cond == EC_StreamNotifyClient)
    throw InputError(at_file(name, "truncated or not a DICOM file (the data ends before the element it announced)"));
  if (cond.bad()) throw InputError(at_file(name, std::string("not a readable DICOM file (") + cond.text() + ")"));
  DcmDataset* ds = ff.getDataset();
  const E_TransferSyntax orig_xfer = ds->getOriginalXfer();
  SampleStack s;
  s.format = "dicom";
  s.transfer_syntax = DcmXfer(orig_xfer).getXferName();

  if (!ds->tagExistsWithValue(DCM_PixelData))
    throw InputError(at_file(name, "DICOM file has no pixel data (PixelData element missing or empty)"));
  const long rows = get_uint16(ds, DCM_Rows, 0), cols = get_uint16(ds, DCM_Columns, 0);
  if (rows <= 0 || cols <= 0) throw InputError(at_file(name, "DICOM Rows/Columns missing or zero"));
  const long bits_alloc = get_uint16(ds, DCM_BitsAllocated, 0);
  const long bits_stored = get_uint16(ds, DCM_BitsStored, bits_alloc);
  const long high_bit = get_uint16(ds, DCM_HighBit, bits_stored - 1);
  const long pixel_rep = get_uint16(ds, DCM_PixelRepresentation, 0);
  const long spp = get_uint16(ds, DCM_SamplesPerPixel, 1);
  long frames = 1;
  {
    Sint32 nf = 1;
    if (ds->findAndGetSint32(DCM_NumberOfFrames, nf).good()) frames = nf;
    if (frames <= 0) throw InputError(at_file(name, "NumberOfFrames must be positive, got " + std::to_string(frames)));
  }
  s.modality_tag = get_string(ds, DCM_Modality);
  s.photometric = get_string(ds, DCM_PhotometricInterpretation);
  if (bits_alloc != 8 && bits_alloc != 16 && bits_alloc != 32)
    throw InputError(at_file(name, "unsupported BitsAllocated " + std::to_string(bits_alloc) +
                                       " (supported: 8, 16, 32; 1-bit segmentations are not images)"));
  if (bits_stored <= 0 || bits_stored > bits_alloc || high_bit < bits_stored - 1 || high_bit >= bits_alloc)
    throw InputError(at_file(name, "inconsistent BitsStored/HighBit (" + std::to_string(bits_stored) + "/" +
                                       std::to_string(high_bit) + ") for BitsAllocated " + std::to_string(bits_alloc)));

  // Decompress (RLE, JPEG, JPEG-LS) into little-endian explicit VR.
  if (DcmXfer(orig_xfer).isEncapsulated()) {
    cond = ds->chooseRepresentation(EXS_LittleEndianExplicit, nullptr);
    if (cond.bad() || !ds->canWriteXfer(EXS_LittleEndianExplicit))
      throw InputError(at_file(name, "cannot decode pixel data with transfer syntax '" + s.transfer_syntax +
                                         "' (" + cond.text() +
                                         "; supported: uncompressed, RLE, JPEG baseline/extended/lossless, JPEG-LS)"));
    // Decoders may change the photometric interpretation (e.g. YBR_FULL_422 -> RGB).
    s.photometric = get_string(ds, DCM_PhotometricInterpretation);
  }
  const std::string photo = s.photometric;
  const bool mono = photo == "MONOCHROME1" || photo == "MONOCHROME2";
  const bool ybr422 = photo == "YBR_FULL_422" || photo == "YBR_PARTIAL_422";

  DcmElement* pixel_elem = nullptr;
  if (ds->findAndGetElement(DCM_PixelData, pixel_elem).bad() || !pixel_elem)
    throw InputError(at_file(name, "cannot access pixel data"));
  if (spp != 1 && spp != 3)
    throw InputError(at_file(name, "SamplesPerPixel " + std::to_string(spp) + " (supported: 1 or 3)"));
  // Sizes from the header, overflow-checked and bounded before anything is allocated: Rows and
  // Columns are 16-bit but NumberOfFrames is not.
  const std::string what = at_file(name, "Rows x Columns x SamplesPerPixel x NumberOfFrames");
  const std::uint64_t samples = checked_mul(checked_mul(checked_mul(rows, cols, what), ybr422 ? 3 : spp, what), frames, what);
  if (samples > kMaxSamples)
    throw InputError(at_file(name, std::to_string(frames) + " frame(s) of " + std::to_string(rows) + "x" + std::to_string(cols) +
                                       "x" + std::to_string(spp) + " = " + std::to_string(samples) +
                                       " samples, more than the limit of " + std::to_string(kMaxSamples) + " per file"));
  const std::size_t bytes_per = static_cast<std::size_t>(bits_alloc / 8);
  const std::size_t per_frame_samples = static_cast<std::size_t>(rows) * cols * (ybr422 ? 2 : spp);
  const std::size_t expected = per_frame_samples * bytes_per * static_cast<std::size_t>(frames);
  const std::size_t have = pixel_elem->getLength();
  if (have < expected)
    throw InputError(at_file(name, "pixel data is truncated: " + std::to_string(frames) + " frame(s) of " +
                                       std::to_string(rows) + "x" + std::to_string(cols) + "x" +
                                       std::to_string(spp) + " at " + std::to_string(bits_alloc) +
                                       " bits need " + std::to_string(expected) + " bytes, the file has " +
                                       std::to_string(have)));

  s.count = static_cast<int>(frames);
  s.height = static_cast<int>(rows);
  s.width = static_cast<int>(cols);
  s.index.resize(frames);
  s.volume.assign(frames, 0);
  for (long f = 0; f < frames; ++f) s.index[f] = static_cast<int>(f);

  if (mono) {
    if (spp != 1) throw InputError(at_file(name, photo + " with SamplesPerPixel " + std::to_string(spp)));
    if (ds->tagExists(DCM_ModalityLUTSequence))
      throw InputError(at_file(name, "Modality LUT Sequence is not supported (only RescaleSlope/Intercept)"));
    s.channels = 1;
    s.stored_bits = static_cast<int>(bits_stored);
    s.is_signed = pixel_rep == 1;
    s.invert = photo == "MONOCHROME1";
    const double slope = get_f64(ds, DCM_RescaleSlope).value_or(1.0);
    const double intercept = get_f64(ds, DCM_RescaleIntercept).value_or(0.0);
    if (slope == 0.0) throw InputError(at_file(name, "RescaleSlope is 0"));
    s.rescaled = slope != 1.0 || intercept != 0.0;
    s.units = lower(s.modality_tag) == "ct" ? "HU" : "stored";
    const auto wc = get_f64(ds, DCM_WindowCenter), ww = get_f64(ds, DCM_WindowWidth);
    if (wc && ww && *ww > 0) s.file_window = Window{*wc, *ww, "", "file"};

    const std::size_t n = static_cast<std::size_t>(rows) * cols * frames;
    s.data.resize(n);
    const int shift = static_cast<int>(high_bit + 1 - bits_stored);
    const std::uint64_t mask = bits_stored >= 64 ? ~0ull : ((1ull << bits_stored) - 1);
    const std::uint64_t sign_bit = 1ull << (bits_stored - 1);
    auto convert = [&](std::uint64_t raw) -> float {
      std::uint64_t u = (raw >> shift) & mask;
      double v;
      if (s.is_signed && (u & sign_bit)) v = static_cast<double>(static_cast<std::int64_t>(u) - static_cast<std::int64_t>(mask) - 1);
      else v = static_cast<double>(u);
      return static_cast<float>(v * slope + intercept);
    };
    if (bits_alloc == 8) {
      Uint8* p = nullptr;
      if (pixel_elem->getUint8Array(p).bad() || !p) throw InputError(at_file(name, "cannot read 8-bit pixel data"));
      for (std::size_t i = 0; i < n; ++i) s.data[i] = convert(p[i]);
    } else {
      Uint16* p = nullptr;
      if (pixel_elem->getUint16Array(p).bad() || !p) throw InputError(at_file(name, "cannot read pixel data"));
      if (bits_alloc == 16) {
        for (std::size_t i = 0; i < n; ++i) s.data[i] = convert(p[i]);
      } else {
        // 32-bit values held as pairs of 16-bit words in host order; their order follows the
        // file's byte order.
        const bool big = DcmXfer(orig_xfer).getByteOrder() == EBO_BigEndian;
        for (std::size_t i = 0; i < n; ++i) {
          const std::uint64_t a = p[2 * i], b = p[2 * i + 1];
          s.data[i] = convert(big ? (a << 16 | b) : (b << 16 | a));
        }
      }
    }
    return s;
  }

  // Colour: RGB, YBR_*, PALETTE COLOR via DicomImage (after decompression the dataset is
  // little-endian explicit; an uncompressed dataset keeps its original transfer syntax).
  const E_TransferSyntax xfer = DcmXfer(orig_xfer).isEncapsulated() ? EXS_LittleEndianExplicit : orig_xfer;
  DicomImage di(ds, xfer, 0UL, 0UL, static_cast<unsigned long>(frames));
  if (di.getStatus() != EIS_Normal)
    throw InputError(at_file(name, std::string("cannot decode DICOM image (") + DicomImage::getString(di.getStatus()) +
                                       ", photometric interpretation '" + photo + "')"));
  if (di.isMonochrome()) throw InputError(at_file(name, "unexpected monochrome image for '" + photo + "'"));
  const int out_bits = bits_stored <= 8 ? 8 : 16;
  s.channels = 3;
  s.stored_bits = out_bits;
  s.units = "rgb";
  const std::size_t plane = static_cast<std::size_t>(rows) * cols;
  s.data.resize(plane * 3 * frames);
  if (static_cast<long>(di.getFrameCount()) != frames)
    throw InputError(at_file(name, "decoded " + std::to_string(di.getFrameCount()) + " frames, expected " +
                                       std::to_string(frames)));
  for (long f = 0; f < frames; ++f) {
    const void* out = di.getOutputData(out_bits, static_cast<unsigned long>(f), 0);
    if (!out) throw InputError(at_file(name, "cannot render frame " + std::to_string(f)));
    float* dst = s.data.data() + static_cast<std::size_t>(f) * plane * 3;
    for (std::size_t i = 0; i < plane; ++i)
      for (int c = 0; c < 3; ++c) {
        const double v = out_bits == 8 ? static_cast<const Uint8*>(out)[i * 3 + c]
                                       : static_cast<const Uint16*>(out)[i * 3 + c];
        dst[c * plane + i] = static_cast<float>(v);
      }
  }
  return s;
}

}  // namespace medsyn

#pragma once
// Reading and writing 2D image files.
//   read_image: PNG, JPEG, TIFF, BMP (8/16-bit, gray/RGB/RGBA) -> Image in [0,1]
//               (8-bit divided by 255, 16-bit by 65535). Colour order is RGB.
//   write_png:  8-bit (default) or 16-bit PNG, written atomically (temp file + rename).
// Medical volumes (DICOM, NIfTI) live in medical_io.h.
// Every failure throws InputError naming the file and what is wrong.
#include <cstdint>
#include <filesystem>
#include <vector>

#include "medsyn/core/image.h"

namespace medsyn {

Image read_image(const std::filesystem::path& path);
// Decode from bytes already in memory; `name` is used in error messages.
Image decode_image(const std::vector<std::uint8_t>& bytes, const std::string& name);

void write_png(const std::filesystem::path& path, const Image& img, int bit_depth = 8);
std::vector<std::uint8_t> encode_png(const Image& img, int bit_depth = 8);

// 8-bit quantisation used by write_png: round(v*255) after clamping to [0,1].
std::vector<std::uint8_t> to_u8_hwc(const Image& img);
Image from_u8_hwc(const std::uint8_t* data, int height, int width, int channels);

// True for file extensions read_image understands (case-insensitive).
bool is_raster_image_file(const std::filesystem::path& path);

}  // namespace medsyn

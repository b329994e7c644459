#pragma once
// Pillow's resize of 8-bit images (Image.resize on mode "L"/"RGB" with BILINEAR, BICUBIC or
// LANCZOS), reproduced bit for bit: the reference preprocessing of CMMD (google-research cmmd,
// sayakpaul/cmmd-pytorch: io_util._center_crop_and_resize) and of dgm-eval's DINOv2 encoder
// (torchvision Resize on a PIL image = Image.resize) resizes uint8 images, and the rounding after
// each pass is part of what their networks see. Private to medsyn_metrics (preprocess() uses it).
#include "medsyn/core/image.h"

namespace medsyn::detail {

// `img` values in [0,1] are quantised to 8 bits first (round(v * 255), clamped): exact for images
// read from 8-bit files, which hold k / 255. Returns k' / 255 with k' what Pillow 8-bit resampling
// gives: coefficients as in libImaging/Resample.c precompute_coeffs (support widened by the
// downscale factor), fixed point with 22 fraction bits, horizontal pass then vertical pass, each
// rounded and clipped to 0..255; a pass whose size does not change is skipped, as Pillow does.
// Filters: bilinear, bicubic (a = -0.5), lanczos (a = 3); others throw InputError.
Image pil_resize_uint8(const Image& img, int height, int width, ResizeFilter filter);

// Quantises [0,1] values to k / 255 (round half away from zero, clamped), as above.
void quantize_uint8(Image& img);

}  // namespace medsyn::detail

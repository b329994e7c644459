#pragma once
// Image <-> tensor conversion and device parsing. Includes LibTorch: use only in .cpp files of
// torch-using modules.
#include <vector>

#include <torch/torch.h>

#include "medsyn/core/image.h"

namespace medsyn {

torch::Device parse_device(const std::string& spec);  // InputError when malformed/unavailable

// Stacks images of identical shape into an N x C x H x W float32 tensor (CPU).
torch::Tensor images_to_tensor(const std::vector<Image>& images);
Image tensor_to_image(const torch::Tensor& chw);  // C x H x W, any device/dtype; clamps to [0,1]

}  // namespace medsyn

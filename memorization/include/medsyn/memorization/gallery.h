#pragma once
// Gallery views: the training set is indexed as each image plus centred zooms of it, and a query's
// similarity to a training image is the best over that image's views. A copy cropped by a few
// pixels and resized back is a zoom of 1.05-1.3 of its source; an embedding trained (or not) to be
// invariant to that gets only part of the way, but next to the matching zoomed view it sits as
// close as an exact copy. The holdout calibration searches the same gallery, so tau (and with it
// the false-positive rate on new patients) accounts for the extra views. The views work with any
// embedder (they transform the preprocessed image before the extractor sees it).
//
// Conventions:
//  - A zoom (fx, fy) > 1 enlarges the centre: output pixel (x, y) samples the input at
//    c + (p - c) / f per axis (pixel centres, c = (size - 1) / 2), bilinear, coordinates clamped to
//    the border (torch grid_sample: bilinear, padding "border", align_corners false).
//  - Zoom lists are text: comma-separated, each isotropic ("1.1") or per axis ("1.2x1" = x 1.2,
//    y 1); "" or "none" = no extra views. Each zoom must be in (0.25, 4).
//  - Gallery rows are view-major: row = view * n_images + image; view 0 is the image itself.
// No LibTorch or FAISS in this header.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "medsyn/core/image.h"
#include "medsyn/memorization/knn.h"

namespace medsyn {
class FeatureExtractor;
}

namespace medsyn::memorization {

struct Zoom {
  double x = 1, y = 1;
};

// Parses a zoom list; InputError naming `what` (e.g. "--train-zooms") and the bad item.
std::vector<Zoom> parse_zoom_list(const std::string& text, const std::string& what);
// "1.1" for isotropic zooms, "1.2x1" otherwise; "1" for the identity.
std::string zoom_label(const Zoom& z);

// Centred zoom of every channel (see the conventions above); same size as the input.
Image zoom_centred(const Image& img, const Zoom& z);

// An extractor that zooms each (preprocessed) image before `inner` embeds it. Non-owning: `inner`
// must outlive it. id() = "zoom(LABEL)>" + inner id, so feature caches keep the views apart.
std::unique_ptr<FeatureExtractor> zoomed_extractor(FeatureExtractor& inner, const Zoom& z);

// Image-level neighbours from a search over a gallery of `views` x `n_images` rows that returned
// at least k * views rows per query (or every row): per query the k best distinct images, each with
// its best similarity, in decreasing order (padded with (-inf, -1) when there are fewer images).
// `best_view` (nq x k) receives the view index (0 = the image itself) of each neighbour.
KnnResult collapse_gallery(const KnnResult& rows, std::int64_t n_images, int k, std::vector<int>* best_view = nullptr);

}  // namespace medsyn::memorization

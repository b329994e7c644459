#pragma once
// The downstream classifier: a compact ResNet-style CNN trained from scratch on a training mix,
// selected on the real validation split, evaluated on the real test split. Plain structs; LibTorch
// lives only in src/classifier.cpp.
//
// Conventions (stated once, here):
//  - Images are float32 CHW in [0,1], all of one shape (channels x height x width), packed
//    back to back: image i starts at pixels[i * channels * height * width].
//  - Labels are class indices in [0, K). Outputs are softmax probabilities, compact N x K
//    row-major (for K == 2, column 1 is the positive class's score).
//  - Training is deterministic per seed on CPU: weights are initialised from the seed, batches
//    and augmentations come from std::mt19937_64(seed), and every op runs on ONE intra-op thread,
//    so results do not depend on how many runs go in parallel or on the machine's core count.
//    (On CUDA, cuDNN is put in deterministic mode, but bit-identical results are not promised.)
//  - Training length: steps = clamp(epochs * ceil(n / batch), min_steps, max_steps) (max_steps 0 =
//    no cap); the model is evaluated on
//    the validation split min(epochs, checkpoints) times, evenly spaced over the steps, and the
//    checkpoint with the best validation AUROC (binary; macro one-vs-rest for
//    K > 2; ties -> the earlier one) is the one evaluated on the test split.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace medsyn::downstream {

struct ImageSet {
  int channels = 0, height = 0, width = 0;
  std::vector<float> pixels;  // size() * channels * height * width
  std::vector<int> labels;    // class indices in [0, K)
  std::size_t size() const { return labels.size(); }
  std::size_t image_floats() const { return static_cast<std::size_t>(channels) * height * width; }
  const float* image(std::size_t i) const { return pixels.data() + i * image_floats(); }
};

// A training mix: images picked from one or more ImageSets without copying them.
struct TrainingMix {
  std::vector<const float*> images;  // each points at one image of the shared shape
  std::vector<int> labels;
  std::size_t size() const { return labels.size(); }
};

struct ClassifierOptions {
  std::string arch = "resnet";  // "resnet" (ResNet-style, 2 residual stages) or "cnn" (plain convs)
  int width = 16;               // channels of the first stage; later stages double it
  int epochs = 30;              // passes over the training mix (see above)
  int checkpoints = 10;         // validations (model-selection candidates), at most `epochs`
  int min_steps = 100;          // lower bound on optimisation steps (tiny subsets)
  int max_steps = 400;          // upper bound (0 = none): caps the cost of large training sets
  int batch_size = 64;
  double lr = 2e-3;             // AdamW, cosine decay to 0 over all steps
  double weight_decay = 5e-4;
  bool augment = true;          // random horizontal flip + shift by up to 2 pixels (zero fill)
  bool balanced_loss = true;    // cross-entropy weighted by n / (K n_c) of the training mix
  bool tta = true;              // evaluate on the average of each image and its horizontal flip
  std::string device = "cpu";   // "cpu", "cuda", "cuda:N"
};

// Throws InputError for an unknown arch, non-positive sizes, or a bad device.
void validate(const ClassifierOptions& options);
// Architectures this build knows ("resnet", "cnn"), for --help and errors.
std::vector<std::string> classifier_archs();

struct ClassifierRun {
  std::vector<double> test_probs;  // test.size() x num_classes
  std::vector<double> val_curve;   // validation AUROC at each checkpoint
  int best_checkpoint = 0;         // 1-based index into val_curve
  double best_val_auroc = 0;
  int steps = 0;
  std::size_t parameters = 0;
  double seconds = 0;
};

// Trains on `train`, selects on `val`, predicts `test`. Every set must have the shape of `val`;
// num_classes >= 2. Deterministic for a given seed (see above).
ClassifierRun train_classifier(const TrainingMix& train, const ImageSet& val, const ImageSet& test, int num_classes,
                               const ClassifierOptions& options, std::uint64_t seed);

// Model selection score on a split: AUROC (binary) or macro one-vs-rest AUROC (K > 2, over the
// classes present in `labels` that are not all of it); NaN when fewer than two classes occur.
double selection_auroc(const std::vector<int>& labels, const std::vector<double>& probs, int num_classes);

// Sets up LibTorch for the experiments: one intra-op thread (see above). Call once per process
// before train_classifier; also registers the LibTorch version for provenance.
void init_classifier_runtime();

}  // namespace medsyn::downstream

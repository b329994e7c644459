// `medsynbench downstream`: data-limited classifier experiments (real, real+syn, syn, 2xreal) with
// paired statistics; `medsynbench adherence`: prompt adherence (CAS and reverse CAS) with the same
// classifier. Option parsing only; the work lives in medsyn/downstream/{experiment,adherence}.h.
#include <iostream>
#include <memory>
#include <sstream>

#include "commands.h"
#include "torch_command.h"
#include "medsyn/core/error.h"
#include "medsyn/core/json.h"
#include "medsyn/downstream/adherence.h"
#include "medsyn/downstream/experiment.h"

namespace medsyn::cli {

namespace ds = medsyn::downstream;

namespace {

struct DownstreamArgs {
  ds::DownstreamOptions opt;
  std::string real, synthetic, out, fractions = "0.01,0.05,0.1,0.25,1.0", arms = "real,real+syn,syn,2xreal";
  std::string control = "none";
  bool no_augment = false, no_balanced_loss = false, no_tta = false;
  bool json_out = false;
};

struct AdherenceArgs {
  ds::AdherenceOptions opt;
  std::string real, synthetic, out;
  bool no_reverse = false, no_augment = false, no_tta = false;
  bool json_out = false;
};

// The options as given, for results.json.
std::string given_options(const std::string& command, const CLI::App* c) {
  std::string cmd = "medsynbench " + command;
  for (const auto* opt : c->get_options()) {
    if (opt->count() == 0) continue;
    if (opt->get_type_size() == 0) cmd += " " + opt->get_name();
    else
      for (const auto& v : opt->results()) cmd += " " + opt->get_name() + " " + v;
  }
  return cmd;
}

void register_adherence_command(CLI::App& root) {
  auto a = std::make_shared<AdherenceArgs>();
  auto& o = a->opt;
  CLI::App* c = root.add_subcommand(
      "adherence",
      "Prompt adherence without downloaded weights: the Classification Accuracy Score (classifiers trained on the "
      "real training split, scored on the synthetic images against the classes their prompts name) and the reverse "
      "CAS (trained on the synthetic images, tested on the real test split), with intervals over seeds and DeLong");
  c->add_option("--real", a->real, "Real dataset folder (manifest.jsonl with train/val/test splits and labels)")
      ->required();
  c->add_option("--synthetic", a->synthetic,
                "Synthetic dataset folder (manifest.jsonl; the class is the one the prompt names, else the label "
                "field; records of split val/test are ignored)")
      ->required();
  c->add_option("--out", a->out, "Output folder: results.json, table.md, predictions/{cas,real,reverse}.csv")->required();
  c->add_option("--modality", o.modality, "Modality to use (default: the real dataset's only one)");
  c->add_option("--label-field", o.label_field, "Manifest field with the class label")->capture_default_str();
  c->add_option("--seeds", o.seeds, "Classifier seeds per direction")->capture_default_str();
  c->add_option("--seed-base", o.seed_base, "Base seed from which every seed is derived")->capture_default_str();
  c->add_option("--ci-level", o.ci_level, "Level of every interval")->capture_default_str();
  c->add_flag("--no-reverse", a->no_reverse, "Skip the reverse CAS (train on synthetic, test on real)");
  c->add_option("--arch", o.classifier.arch, "Classifier: resnet (compact ResNet-style CNN) or cnn (plain CNN)")
      ->capture_default_str();
  c->add_option("--width", o.classifier.width, "Channels of the first stage (later stages double it)")
      ->capture_default_str();
  c->add_option("--epochs", o.classifier.epochs, "Epochs; steps = clamp(epochs * ceil(n / batch), min-steps, max-steps)")
      ->capture_default_str();
  c->add_option("--checkpoints", o.classifier.checkpoints,
                "Validations per model (evenly spaced; the best real validation AUROC is kept)")
      ->capture_default_str();
  c->add_option("--min-steps", o.classifier.min_steps, "Minimum optimisation steps")->capture_default_str();
  c->add_option("--max-steps", o.classifier.max_steps, "Maximum optimisation steps per model (0 = no cap)")
      ->capture_default_str();
  c->add_option("--batch-size", o.classifier.batch_size, "Mini-batch size")->capture_default_str();
  c->add_flag("--no-augment", a->no_augment, "Train without flip/shift augmentation");
  c->add_flag("--no-tta", a->no_tta, "Predict without averaging over the horizontal flip");
  c->add_option("--jobs", o.jobs, "Models trained in parallel on CPU (0 = one per core; results do not depend on it)")
      ->capture_default_str();
  add_device_option(c, o.classifier.device);
  c->add_flag("--json", a->json_out, "Print the results JSON on stdout");
  MEDSYN_TORCH_CALLBACK(c, a, [a, c] {
    auto& o = a->opt;
    o.real_dir = a->real;
    o.synthetic_dir = a->synthetic;
    o.out_dir = a->out;
    o.reverse = !a->no_reverse;
    o.classifier.augment = !a->no_augment;
    o.classifier.tta = !a->no_tta;
    o.command_line = given_options("adherence", c);
    const ds::AdherenceResult res = ds::run_adherence(o);
    if (a->json_out) {
      json j = ds::adherence_json(o, res);
      j["out_dir"] = a->out;
      print_json(j);
    } else {
      std::cout << ds::adherence_markdown(o, res);
      std::cout << "\nwritten: " << a->out << "/{results.json, table.md, predictions/}\n";
    }
  });
}


}  // namespace

void register_downstream_commands(CLI::App& root) {
  register_adherence_command(root);
  auto a = std::make_shared<DownstreamArgs>();
  auto& o = a->opt;
  CLI::App* c = root.add_subcommand(
      "downstream",
      "Data-limited classifier experiments: for each fraction of the real training split train on real, "
      "real+syn, syn and 2xreal over seeds; test AUROC etc. on the real test split; paired tests with "
      "Holm/BH correction");
  c->add_option("--real", a->real, "Real dataset folder (manifest.jsonl with train/val/test splits and labels)")
      ->required();
  c->add_option("--synthetic", a->synthetic,
                "Synthetic dataset folder (manifest.jsonl with labels; records of split val/test are ignored)");
  c->add_option("--out", a->out, "Output folder: results.json, table.md/csv, comparisons.csv, runs.csv, predictions/")
      ->required();
  c->add_option("--modality", o.modality, "Modality to use (default: the real dataset's only one)");
  c->add_option("--label-field", o.label_field, "Manifest field with the class label")->capture_default_str();
  c->add_option("--fractions", a->fractions, "Fractions of the real training split, each in (0, 1]")
      ->capture_default_str();
  c->add_option("--arms", a->arms, "Arms: real, real+syn, syn, 2xreal")->capture_default_str();
  c->add_option("--synthetic-ratio", o.synthetic_ratio, "real+syn adds this many synthetic images per real image")
      ->capture_default_str();
  c->add_option("--seeds", o.seeds, "Seeds (subsets and training) per fraction and arm")->capture_default_str();
  c->add_option("--seed-base", o.seed_base, "Base seed from which every seed is derived")->capture_default_str();
  c->add_option("--arch", o.classifier.arch, "Classifier: resnet (compact ResNet-style CNN) or cnn (plain CNN)")
      ->capture_default_str();
  c->add_option("--width", o.classifier.width, "Channels of the first stage (later stages double it)")
      ->capture_default_str();
  c->add_option("--epochs", o.classifier.epochs,
                "Epochs; steps = clamp(epochs * ceil(n / batch), min-steps, max-steps)")
      ->capture_default_str();
  c->add_option("--checkpoints", o.classifier.checkpoints,
                "Validations per model (evenly spaced; the best validation AUROC is kept)")
      ->capture_default_str();
  c->add_option("--min-steps", o.classifier.min_steps, "Minimum optimisation steps (tiny training sets)")
      ->capture_default_str();
  c->add_option("--max-steps", o.classifier.max_steps, "Maximum optimisation steps per model (0 = no cap)")
      ->capture_default_str();
  c->add_option("--batch-size", o.classifier.batch_size, "Mini-batch size")->capture_default_str();
  c->add_option("--lr", o.classifier.lr, "AdamW learning rate (cosine decay)")->capture_default_str();
  c->add_option("--weight-decay", o.classifier.weight_decay, "AdamW weight decay")->capture_default_str();
  c->add_flag("--no-augment", a->no_augment, "Train without flip/shift augmentation");
  c->add_flag("--no-balanced-loss", a->no_balanced_loss, "Plain cross-entropy (default: weighted by inverse class frequency)");
  c->add_flag("--no-tta", a->no_tta, "Evaluate without averaging over the horizontal flip");
  c->add_option("--adjust", o.adjust, "Multiple-testing correction across all comparisons: holm | bh")
      ->capture_default_str();
  c->add_option("--test", o.test, "Test behind the adjusted p and the verdicts: t | wilcoxon")->capture_default_str();
  c->add_option("--alpha", o.alpha, "Significance level of the verdicts")->capture_default_str();
  c->add_option("--jobs", o.jobs, "Models trained in parallel on CPU (0 = one per core; results do not depend on it)")
      ->capture_default_str();
  c->add_option("--control", a->control,
                "Sanity control instead of --synthetic: positive (held-out real training images) or negative "
                "(the same with permuted labels)")
      ->capture_default_str();
  add_device_option(c, o.classifier.device);
  c->add_flag("--json", a->json_out, "Print the results JSON (without per-run records) on stdout");
  MEDSYN_TORCH_CALLBACK(c, a, [a, c] {
    auto& o = a->opt;
    o.real_dir = a->real;
    o.synthetic_dir = a->synthetic;
    o.out_dir = a->out;
    o.fractions = ds::parse_fraction_list(a->fractions, "--fractions");
    o.arms = ds::parse_arm_list(a->arms, "--arms");
    o.control = ds::parse_control(a->control);
    o.classifier.augment = !a->no_augment;
    o.classifier.balanced_loss = !a->no_balanced_loss;
    o.classifier.tta = !a->no_tta;
    // The options as given, for results.json.
    std::string cmd = "medsynbench downstream";
    for (const auto* opt : c->get_options()) {
      if (opt->count() == 0) continue;
      if (opt->get_type_size() == 0) cmd += " " + opt->get_name();
      else
        for (const auto& v : opt->results()) cmd += " " + opt->get_name() + " " + v;
    }
    o.command_line = cmd;
    const ds::DownstreamResult res = ds::run_downstream(o);
    if (a->json_out) {
      json j = ds::downstream_json(o, res);
      j.erase("runs");
      j["out_dir"] = a->out;
      print_json(j);
    } else {
      std::cout << ds::downstream_markdown(o, res);
      std::cout << "\nwritten: " << a->out << "/{results.json, table.md, table.csv, comparisons.csv, runs.csv, predictions/}\n";
    }
  });
}

}  // namespace medsyn::cli

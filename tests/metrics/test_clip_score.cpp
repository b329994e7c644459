// CLIP-style alignment score (metrics/clip_score.h, `metrics clip-score`): hand-computed cosines,
// the w = 2.5 variant, per-class groups, intervals, both embedding file forms, and bad input.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>

#include "medsyn/core/error.h"
#include "medsyn/core/fs.h"
#include "medsyn/core/image_io.h"
#include "medsyn/core/json.h"
#include "medsyn/core/manifest.h"
#include "medsyn/core/npy.h"
#include "medsyn/metrics/clip_score.h"
#include "medsyn/metrics/extractor.h"
#include "test_support.h"

namespace fs = std::filesystem;
using namespace medsyn;
using namespace medsyn::metrics;
using medsyn::test::TempDir;

namespace {

void write_text(const fs::path& p, const std::string& s) {
  std::ofstream f(p, std::ios::binary);
  f << s;
}

NpyArray f64_array(const std::vector<double>& v, std::int64_t rows, std::int64_t cols) {
  NpyArray a;
  a.dtype = DType::f64;
  a.shape = {rows, cols};
  a.bytes.resize(v.size() * sizeof(double));
  std::memcpy(a.bytes.data(), v.data(), a.bytes.size());
  return a;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("clip score: hand-computed cosines, clipping at 0, classes, w = 2.5", "[clipscore]") {
  TempDir tmp;
  write_text(tmp / "e.json", R"({"a": [1, 0], "b": [1, 1]})");
  const PromptEmbeddings pe = read_prompt_embeddings(tmp / "e.json");
  REQUIRE(pe.dim == 2);
  // cos: [1,0]~a = 1; [0,2]~b = 1/sqrt2; [1,1]~a = 1/sqrt2; [-1,0]~a = -1 (scores 0).
  const Matrix32 f{4, 2, {1, 0, 0, 2, 1, 1, -1, 0}};
  ClipScoreInput in{f, {"a", "b", "a", "a"}, {"m", "m", "m", "m"}, {"x", "x", "y", "y"}, {"i0", "i1", "i2", "i3"}};
  ClipScoreOptions o;
  o.bootstrap = 0;
  const auto g = clip_scores(in, pe, o);
  REQUIRE(g.size() == 3);
  const double r = 100.0 / std::sqrt(2.0);
  CHECK(g[0].label.empty());
  CHECK(g[0].n == 4);
  CHECK(g[0].clip_score.value == Approx((100 + 2 * r) / 4).epsilon(1e-12));
  CHECK(g[0].clip_score_w25.value == Approx((100 + 2 * r) / 4 * 0.025).epsilon(1e-12));
  CHECK(g[0].mean_cosine == Approx((2 / std::sqrt(2.0)) / 4).epsilon(1e-12));  // -1 counts here
  CHECK_FALSE(g[0].clip_score.has_ci());
  CHECK(g[0].clip_score.note.find("bootstrap 0") != std::string::npos);
  CHECK(g[1].label == "x");
  CHECK(g[1].clip_score.value == Approx((100 + r) / 2).epsilon(1e-12));
  CHECK(g[2].label == "y");
  CHECK(g[2].clip_score.value == Approx(r / 2).epsilon(1e-12));

  // With a bootstrap: the interval holds the mean, is deterministic, and scales to w = 2.5.
  o.bootstrap = 200;
  o.seed = 5;
  const auto b = clip_scores(in, pe, o);
  const auto b2 = clip_scores(in, pe, o);
  REQUIRE(b[0].clip_score.has_ci());
  CHECK(b[0].clip_score.ci_low <= b[0].clip_score.value);
  CHECK(b[0].clip_score.value <= b[0].clip_score.ci_high);
  CHECK(b[0].clip_score.ci_low == b2[0].clip_score.ci_low);
  CHECK(b[0].clip_score.ci_level == 0.95);
  CHECK(b[0].clip_score.ci_method.find("bootstrap") != std::string::npos);
  CHECK(b[0].clip_score_w25.ci_high == Approx(b[0].clip_score.ci_high * 0.025).epsilon(1e-12));
  CHECK(b[0].clip_score.estimand.find("100 x max(cos") != std::string::npos);
  const auto j = clip_score_group_to_json(b[1]);
  CHECK(j.at("n") == 2);
  CHECK(j.at("clip_score").at("ci_level") == 0.95);
}

TEST_CASE("clip score: .npy with a prompt list equals the JSON form; bad files are InputErrors naming file and field",
          "[clipscore][errors]") {
  TempDir tmp;
  write_npy(tmp / "e.npy", f64_array({3, 4, 0, 1}, 2, 2));
  write_text(tmp / "e.npy.prompts.txt", "a chest x-ray\r\nno finding\n");
  const PromptEmbeddings pe = read_prompt_embeddings(tmp / "e.npy");
  REQUIRE(pe.prompts == std::vector<std::string>{"a chest x-ray", "no finding"});
  CHECK(pe.vectors[0] == std::vector<double>{3, 4});
  write_text(tmp / "list.json", R"(["p", "q"])");
  const PromptEmbeddings pj = read_prompt_embeddings(tmp / "e.npy", tmp / "list.json");
  CHECK(pj.index.at("q") == 1);

  const Matrix32 f{1, 2, {4, 3}};
  ClipScoreInput in{f, {"a chest x-ray"}, {"m"}, {""}, {"img/0.png"}};
  const auto g = clip_scores(in, pe, {});
  REQUIRE(g.size() == 1);  // no classes
  CHECK(g[0].clip_score.value == Approx(100.0 * 24.0 / 25.0).epsilon(1e-12));
  CHECK(g[0].clip_score.note.find("one image") != std::string::npos);

  // A prompt missing from the file: names the file, the prompt and the image.
  in.prompts = {"pneumonia"};
  auto e = error_of([&] { clip_scores(in, pe, {}); });
  CHECK(e.find("e.npy") != std::string::npos);
  CHECK(e.find("'pneumonia'") != std::string::npos);
  CHECK(e.find("img/0.png") != std::string::npos);
  // Image and prompt dimensions differ.
  const Matrix32 f3{1, 3, {1, 2, 3}};
  in = {f3, {"a chest x-ray"}, {"m"}, {""}, {"img/0.png"}};
  e = error_of([&] { clip_scores(in, pe, {}); });
  CHECK(e.find("dimension mismatch") != std::string::npos);
  CHECK(e.find("e.npy") != std::string::npos);
  // Non-finite values in a .npy row: the row and its prompt are named.
  write_npy(tmp / "nan.npy", f64_array({1, std::nan(""), 0, 1}, 2, 2));
  write_text(tmp / "nan.npy.prompts.txt", "u\nv\n");
  e = error_of([&] { read_prompt_embeddings(tmp / "nan.npy"); });
  CHECK(e.find("nan.npy: row 0") != std::string::npos);
  CHECK(e.find("'u'") != std::string::npos);
  CHECK(e.find("non-finite value at index 1") != std::string::npos);
  // JSON: vectors of different lengths, a non-number, duplicates are impossible in JSON objects
  // (the parser keeps one), a zero vector.
  write_text(tmp / "bad.json", R"({"a": [1, 2], "b": [1, 2, 3]})");
  e = error_of([&] { read_prompt_embeddings(tmp / "bad.json"); });
  CHECK(e.find("bad.json: $[\"b\"]") != std::string::npos);
  CHECK(e.find("dimension mismatch") != std::string::npos);
  write_text(tmp / "str.json", R"({"a": [1, "x"]})");
  CHECK(error_of([&] { read_prompt_embeddings(tmp / "str.json"); }).find("$[\"a\"][1]: expected a number") != std::string::npos);
  write_text(tmp / "zero.json", R"({"a": [0, 0]})");
  CHECK(error_of([&] { read_prompt_embeddings(tmp / "zero.json"); }).find("all zeros") != std::string::npos);
  // A .npy without a prompt list, or a list of the wrong length.
  write_npy(tmp / "alone.npy", f64_array({1, 0}, 1, 2));
  CHECK(error_of([&] { read_prompt_embeddings(tmp / "alone.npy"); }).find("--prompts") != std::string::npos);
  write_text(tmp / "three.txt", "a\nb\nc\n");
  CHECK(error_of([&] { read_prompt_embeddings(tmp / "alone.npy", tmp / "three.txt"); }).find("lists 3 prompts") !=
        std::string::npos);
  write_text(tmp / "dup.txt", "a\na\n");
  CHECK(error_of([&] { read_prompt_embeddings(tmp / "e.npy", tmp / "dup.txt"); }).find("given twice") != std::string::npos);
  CHECK(error_of([&] { read_prompt_embeddings(tmp / "e.txt"); }).find("does not exist") != std::string::npos);
}

TEST_CASE("metrics clip-score: CLI on a dataset with prompts and classes equals the scores computed by hand",
          "[clipscore][cli]") {
  TempDir tmp;
  // 6 gray 4x4 images, 2 prompts, 2 classes; features = builtin:pixels:2 (2x2 area-like bicubic).
  fs::create_directories(tmp / "ds" / "img");
  std::vector<Record> recs;
  const char* prompts[2] = {"bright", "dark"};
  for (int i = 0; i < 6; ++i) {
    Image img(1, 4, 4);
    for (int y = 0; y < 4; ++y)
      for (int x = 0; x < 4; ++x) img.at(0, y, x) = static_cast<float>((i * 37 + y * 53 + x * 19) % 256) / 255.f;
    Record r;
    r.path = "img/" + std::to_string(i) + ".png";
    write_png(tmp / "ds" / r.path, img);
    r.modality = "chest_xray";
    r.prompt = prompts[i % 2];
    r.label_name = i < 3 ? "normal" : "pneumonia";
    recs.push_back(r);
  }
  write_manifest(tmp / "ds", recs);
  write_text(tmp / "e.json", R"({"bright": [1, 1, 1, 1], "dark": [1, -1, 0.5, -0.25]})");

  // By hand: the features the extractor gives, cosine with the prompt vector.
  auto ex = make_extractor("builtin:pixels:2");
  const double v[2][4] = {{1, 1, 1, 1}, {1, -1, 0.5, -0.25}};
  std::vector<double> score(6);
  for (int i = 0; i < 6; ++i) {
    const auto fi = ex->extract({preprocess(read_image(tmp / "ds" / recs[i].path), ex->input_spec())});
    double dot = 0, xx = 0, tt = 0;
    for (int k = 0; k < 4; ++k) {
      dot += fi[k] * v[i % 2][k];
      xx += static_cast<double>(fi[k]) * fi[k];
      tt += v[i % 2][k] * v[i % 2][k];
    }
    score[i] = 100.0 * std::max(0.0, dot / std::sqrt(xx * tt));
  }
  const std::string common = " --images " + test::shell_quote((tmp / "ds").string()) +
                             " --extractor builtin:pixels:2 --prompt-embeddings " + test::shell_quote((tmp / "e.json").string()) +
                             " --bootstrap 100 --seed 1 --no-cache";
  auto r = test::run_cli("metrics clip-score --json" + common);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const json j = json::parse(r.out);
  CHECK(j.at("schema") == "medsynbench.clip-score/1");
  const json& m = j.at("modalities").at("chest_xray");
  CHECK(m.at("n") == 6);
  CHECK(m.at("clip_score").at("value").get<double>() ==
        Approx((score[0] + score[1] + score[2] + score[3] + score[4] + score[5]) / 6).epsilon(1e-6));
  CHECK(m.at("classes").at("normal").at("clip_score").at("value").get<double>() ==
        Approx((score[0] + score[1] + score[2]) / 3).epsilon(1e-6));
  CHECK(m.at("classes").at("pneumonia").at("clip_score_w25").at("value").get<double>() ==
        Approx((score[3] + score[4] + score[5]) / 3 * 0.025).epsilon(1e-6));
  CHECK(m.at("clip_score").at("ci_low").is_number());
  CHECK(j.at("prompt_embeddings").at("prompts") == 2);
  CHECK(j.at("provenance").contains("git_commit"));
  // Text output.
  auto t = test::run_cli("metrics clip-score" + common);
  CHECK(t.exit_code == 0);
  CHECK(t.out.find("chest_xray / pneumonia") != std::string::npos);
  // A prompt without an embedding: exit 2, the file and the prompt named, before any extraction.
  write_text(tmp / "short.json", R"({"bright": [1, 1, 1, 1]})");
  auto bad = test::run_cli("metrics clip-score --images " + test::shell_quote((tmp / "ds").string()) +
                           " --extractor builtin:pixels:2 --prompt-embeddings " + test::shell_quote((tmp / "short.json").string()));
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("short.json") != std::string::npos);
  CHECK(bad.err.find("'dark'") != std::string::npos);
  // Dimension mismatch (pixels:2 is 4-d, the vectors 3-d).
  write_text(tmp / "d3.json", R"({"bright": [1, 1, 1], "dark": [1, 0, 0]})");
  auto dm = test::run_cli("metrics clip-score --images " + test::shell_quote((tmp / "ds").string()) +
                          " --extractor builtin:pixels:2 --no-cache --prompt-embeddings " + test::shell_quote((tmp / "d3.json").string()));
  CHECK(dm.exit_code == 2);
  CHECK(dm.err.find("dimension mismatch") != std::string::npos);
}

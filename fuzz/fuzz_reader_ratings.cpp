// Reader study ratings (readerstudy/analysis.h): the page's JSON export and the CSV format, checked
// against a fixed study of four images, then analysed (what `reader-study analyze` does with a
// file a reader sent back).
#include <string>

#include "fuzz_util.h"
#include "medsyn/core/error.h"
#include "medsyn/readerstudy/analysis.h"

namespace {

const medsyn::readerstudy::Study& study() {
  static const medsyn::readerstudy::Study s = [] {
    medsyn::readerstudy::Study st;
    st.hash = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
    st.study_json = {{"design", {{"title", "fuzz"}}}};
    st.questions = medsyn::readerstudy::all_questions();
    st.readers = {"alice", "bob"};
    const char* ids[] = {"i00000001", "i00000002", "i00000003", "i00000004"};
    for (int i = 0; i < 4; ++i) {
      medsyn::readerstudy::KeyImage k;
      k.id = ids[i];
      k.source = i % 2 ? "synthetic" : "real";
      k.modality = i < 2 ? "chest_xray" : "retina";
      k.prompt = i == 3 ? "" : "a prompt";
      st.images.push_back(k);
    }
    return st;
  }();
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  medsyn::readerstudy::AnalysisOptions o;
  o.bootstrap = 20;
  for (const char* name : {"ratings.json", "ratings.csv"}) {
    const auto file = medsyn::fuzz::write_input(data, size, name);
    try {
      const auto r = medsyn::readerstudy::read_ratings(study(), {file});
      (void)medsyn::readerstudy::analyze_study(study(), r, o);
    } catch (const medsyn::InputError&) {
    }
  }
  return 0;
}

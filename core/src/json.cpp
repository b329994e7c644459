#include "medsyn/core/json.h"

#include <cmath>
#include <vector>

#include "medsyn/core/error.h"
#include "medsyn/core/fs.h"

namespace medsyn {

namespace {

// A DOM builder for nlohmann's SAX interface that also tracks the JSON path (for messages) and
// refuses repeated keys. Parse errors (including number overflow, which nlohmann reports through
// parse_error with the byte position) become InputError naming `where`, line and column.
template <class J>
class StrictSax : public nlohmann::json_sax<J> {
 public:
  using number_integer_t = typename J::number_integer_t;
  using number_unsigned_t = typename J::number_unsigned_t;
  using number_float_t = typename J::number_float_t;
  using string_t = typename J::string_t;
  using binary_t = typename J::binary_t;

  StrictSax(const std::string& text, const std::string& where) : text_(text), where_(where) {}
  J result;

  bool null() override { return value(J(nullptr)); }
  bool boolean(bool v) override { return value(J(v)); }
  bool number_integer(number_integer_t v) override { return value(J(v)); }
  bool number_unsigned(number_unsigned_t v) override { return value(J(v)); }
  bool number_float(number_float_t v, const string_t&) override { return value(J(v)); }
  bool string(string_t& v) override { return value(J(std::move(v))); }
  bool binary(binary_t& v) override { return value(J(std::move(v))); }
  bool start_object(std::size_t) override {
    J* p = place(J::object());
    stack_.push_back({p, false, "", 0});
    return true;
  }
  bool key(string_t& k) override {
    Frame& f = stack_.back();
    if (f.node->contains(k)) {
      f.key.clear();  // name the object holding the key, not its previous member
      throw InputError(where_ + ": duplicate key '" + k + "' in " + path() +
                       " (a key may appear only once in an object; JSON readers disagree on which copy wins)");
    }
    f.key = k;
    return true;
  }
  bool end_object() override {
    stack_.pop_back();
    return true;
  }
  bool start_array(std::size_t) override {
    J* p = place(J::array());
    stack_.push_back({p, true, "", 0});
    return true;
  }
  bool end_array() override {
    stack_.pop_back();
    return true;
  }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& ex) override {
    // Line and column (1-based) of the byte where the parser stopped.
    std::size_t line = 1, col = 1;
    for (std::size_t i = 0; i < position && i < text_.size(); ++i) {
      if (text_[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    std::string msg = ex.what();
    // "[json.exception.parse_error.101] parse error at line 1, column 3: syntax error ..." -> keep
    // the part after the prefix; the position is stated by us.
    if (auto c = msg.find("]: "); c != std::string::npos) msg = msg.substr(c + 3);
    else if (auto b = msg.find("] "); b != std::string::npos) msg = msg.substr(b + 2);
    std::string at = "line " + std::to_string(line) + ", column " + std::to_string(col);
    if (!stack_.empty()) at += " (in " + path() + ")";
    throw InputError(where_ + ": invalid JSON at " + at + ": " + msg);
  }

 private:
  struct Frame {
    J* node;
    bool array;
    std::string key;
    std::size_t index;
  };

  bool value(J&& v) {
    place(std::move(v));
    return true;
  }
  J* place(J&& v) {
    if (stack_.empty()) {
      result = std::move(v);
      return &result;
    }
    Frame& f = stack_.back();
    if (f.array) {
      f.node->push_back(std::move(v));
      ++f.index;
      return &f.node->back();
    }
    J& slot = (*f.node)[f.key];
    slot = std::move(v);
    return &slot;
  }
  std::string path() const {
    std::string p = "$";
    for (std::size_t i = 0; i < stack_.size(); ++i) {
      const Frame& f = stack_[i];
      if (f.array) {
        // Inside a nested container its element is already placed (index - 1); a scalar being
        // parsed is the next one (index).
        const std::size_t at = i + 1 < stack_.size() && f.index > 0 ? f.index - 1 : f.index;
        p += "[" + std::to_string(at) + "]";
      } else if (!f.key.empty()) {
        p += "." + f.key;
      }
    }
    return p;
  }

  const std::string& text_;
  std::string where_;
  std::vector<Frame> stack_;
};

template <class J>
J parse_strict(const std::string& text, const std::string& where) {
  StrictSax<J> sax(text, where);
  J::sax_parse(text, &sax);
  return std::move(sax.result);
}

}  // namespace

json parse_json_strict(const std::string& text, const std::string& where) { return parse_strict<json>(text, where); }
ordered_json parse_ordered_json_strict(const std::string& text, const std::string& where) {
  return parse_strict<ordered_json>(text, where);
}

json read_json_file(const std::filesystem::path& path) { return parse_json_strict(read_file_text(path), path.string()); }

void write_json_file(const std::filesystem::path& path, const json& j, int indent) {
  atomic_write_text(path, j.dump(indent) + "\n");
}
void write_json_file(const std::filesystem::path& path, const ordered_json& j, int indent) {
  atomic_write_text(path, j.dump(indent) + "\n");
}

json finite_or_null(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

}  // namespace medsyn

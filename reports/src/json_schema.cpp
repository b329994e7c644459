#include "medsyn/reports/json_schema.h"

#include <cmath>
#include <cstdint>
#include <regex>
#include <set>
#include <unordered_map>

#include "medsyn/core/error.h"

namespace medsyn::reports {

std::string json_path_key(const std::string& parent, const std::string& key) {
  bool plain = !key.empty();
  for (char c : key)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) plain = false;
  if (plain) return parent + "." + key;
  std::string out = parent + "[\"";
  for (char c : key) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"]";
}

std::string json_path_index(const std::string& parent, std::size_t index) {
  return parent + "[" + std::to_string(index) + "]";
}

namespace {

template <class J>
std::string type_name(const J& v) {
  switch (v.type()) {
    case nlohmann::json::value_t::null: return "null";
    case nlohmann::json::value_t::boolean: return "boolean";
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned: return "integer";
    case nlohmann::json::value_t::number_float: return "number";
    case nlohmann::json::value_t::string: return "string";
    case nlohmann::json::value_t::array: return "array";
    case nlohmann::json::value_t::object: return "object";
    default: return "unknown";
  }
}

template <class J>
bool is_integral(const J& v) {
  if (v.is_number_integer() || v.is_number_unsigned()) return true;
  if (v.is_number_float()) {
    const double d = v.template get<double>();
    return std::isfinite(d) && std::floor(d) == d;
  }
  return false;
}

template <class J>
bool has_type(const J& v, const std::string& t) {
  if (t == "null") return v.is_null();
  if (t == "boolean") return v.is_boolean();
  if (t == "integer") return is_integral(v);
  if (t == "number") return v.is_number();
  if (t == "string") return v.is_string();
  if (t == "array") return v.is_array();
  if (t == "object") return v.is_object();
  throw InputError("JSON schema: unknown type '" + t + "'");
}

template <class J>
std::string short_dump(const J& v) {
  std::string s = v.dump();
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

std::string fmt_num(double d) {
  if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 1e15) return std::to_string(static_cast<long long>(d));
  return nlohmann::json(d).dump();
}

const std::set<std::string>& known_keywords() {
  static const std::set<std::string> k = {
      "$schema", "$id", "$defs", "$comment", "title", "description", "default", "examples",
      "type", "const", "enum", "properties", "required", "additionalProperties", "minProperties",
      "items", "minItems", "maxItems", "minLength", "pattern", "minimum", "maximum",
      "exclusiveMinimum", "exclusiveMaximum", "$ref", "anyOf", "oneOf"};
  return k;
}

template <class J>
class Validator {
 public:
  explicit Validator(const J& root) : root_(root) {}

  void validate(const J& v, const J& s, const std::string& path, std::vector<SchemaError>& errs) {
    if (s.is_boolean()) {
      if (!s.template get<bool>()) errs.push_back({path, "no value is allowed here"});
      return;
    }
    if (!s.is_object()) throw InputError("JSON schema: a schema must be an object or a boolean, got " + type_name(s));
    for (auto it = s.begin(); it != s.end(); ++it)
      if (!known_keywords().count(it.key()))
        throw InputError("JSON schema: unsupported keyword '" + it.key() + "'");

    if (auto r = s.find("$ref"); r != s.end()) {
      validate(v, resolve(r->template get<std::string>()), path, errs);
    }
    if (auto t = s.find("type"); t != s.end()) {
      std::vector<std::string> types;
      if (t->is_string()) types.push_back(t->template get<std::string>());
      else for (const auto& x : *t) types.push_back(x.template get<std::string>());
      bool ok = false;
      for (const auto& ty : types) ok = ok || has_type(v, ty);
      if (!ok) {
        std::string want;
        for (std::size_t i = 0; i < types.size(); ++i) want += (i ? " or " : "") + types[i];
        errs.push_back({path, "expected " + want + ", got " + type_name(v) +
                                  (v.is_string() || v.is_number() ? " " + short_dump(v) : "")});
        return;  // the other keywords would only repeat the type error
      }
    }
    if (auto c = s.find("const"); c != s.end() && !(v == *c))
      errs.push_back({path, "must be " + short_dump(*c) + ", got " + short_dump(v)});
    if (auto e = s.find("enum"); e != s.end()) {
      bool ok = false;
      std::string allowed;
      for (const auto& x : *e) {
        ok = ok || (v == x);
        allowed += (allowed.empty() ? "" : ", ") + x.dump();
      }
      if (!ok) errs.push_back({path, "must be one of " + allowed + ", got " + short_dump(v)});
    }
    if (v.is_number()) check_number(v.template get<double>(), s, path, errs);
    if (v.is_string()) check_string(v.template get<std::string>(), s, path, errs);
    if (v.is_array()) check_array(v, s, path, errs);
    if (v.is_object()) check_object(v, s, path, errs);
    if (auto a = s.find("anyOf"); a != s.end()) check_alternatives(v, *a, path, errs, false);
    if (auto a = s.find("oneOf"); a != s.end()) check_alternatives(v, *a, path, errs, true);
  }

 private:
  const J& resolve(const std::string& ref) {
    static const std::string prefix = "#/$defs/";
    if (ref.rfind(prefix, 0) != 0) throw InputError("JSON schema: unsupported $ref '" + ref + "' (only #/$defs/NAME)");
    const std::string name = ref.substr(prefix.size());
    auto d = root_.find("$defs");
    if (d == root_.end() || !d->contains(name)) throw InputError("JSON schema: $ref '" + ref + "' does not exist");
    return (*d)[name];
  }

  void check_number(double d, const J& s, const std::string& path, std::vector<SchemaError>& errs) {
    if (auto m = s.find("minimum"); m != s.end() && d < m->template get<double>())
      errs.push_back({path, "must be >= " + fmt_num(m->template get<double>()) + ", got " + fmt_num(d)});
    if (auto m = s.find("maximum"); m != s.end() && d > m->template get<double>())
      errs.push_back({path, "must be <= " + fmt_num(m->template get<double>()) + ", got " + fmt_num(d)});
    if (auto m = s.find("exclusiveMinimum"); m != s.end() && !(d > m->template get<double>()))
      errs.push_back({path, "must be > " + fmt_num(m->template get<double>()) + ", got " + fmt_num(d)});
    if (auto m = s.find("exclusiveMaximum"); m != s.end() && !(d < m->template get<double>()))
      errs.push_back({path, "must be < " + fmt_num(m->template get<double>()) + ", got " + fmt_num(d)});
  }

  void check_string(const std::string& str, const J& s, const std::string& path, std::vector<SchemaError>& errs) {
    if (auto m = s.find("minLength"); m != s.end() && str.size() < m->template get<std::size_t>())
      errs.push_back({path, str.empty() ? "must not be empty"
                                        : "must have at least " + m->dump() + " characters"});
    if (auto p = s.find("pattern"); p != s.end()) {
      const std::string pat = p->template get<std::string>();
      auto it = regex_cache_.find(pat);
      if (it == regex_cache_.end()) it = regex_cache_.emplace(pat, std::regex(pat, std::regex::ECMAScript)).first;
      if (!std::regex_search(str, it->second))
        errs.push_back({path, "\"" + str + "\" does not match the pattern " + pat});
    }
  }

  void check_array(const J& v, const J& s, const std::string& path, std::vector<SchemaError>& errs) {
    if (auto m = s.find("minItems"); m != s.end() && v.size() < m->template get<std::size_t>())
      errs.push_back({path, "must have at least " + m->dump() + " item(s), got " + std::to_string(v.size())});
    if (auto m = s.find("maxItems"); m != s.end() && v.size() > m->template get<std::size_t>())
      errs.push_back({path, "must have at most " + m->dump() + " item(s), got " + std::to_string(v.size())});
    if (auto it = s.find("items"); it != s.end())
      for (std::size_t i = 0; i < v.size(); ++i) validate(v[i], *it, json_path_index(path, i), errs);
  }

  void check_object(const J& v, const J& s, const std::string& path, std::vector<SchemaError>& errs) {
    if (auto m = s.find("minProperties"); m != s.end() && v.size() < m->template get<std::size_t>())
      errs.push_back({path, "must have at least " + m->dump() + " entr" + (m->template get<int>() == 1 ? "y" : "ies")});
    if (auto r = s.find("required"); r != s.end())
      for (const auto& k : *r)
        if (!v.contains(k.template get<std::string>()))
          errs.push_back({json_path_key(path, k.template get<std::string>()), "required key is missing"});
    const auto props = s.find("properties");
    const auto addl = s.find("additionalProperties");
    for (auto it = v.begin(); it != v.end(); ++it) {
      const std::string child = json_path_key(path, it.key());
      if (props != s.end() && props->contains(it.key())) {
        validate(it.value(), (*props)[it.key()], child, errs);
      } else if (addl != s.end()) {
        if (addl->is_boolean() && !addl->template get<bool>()) {
          std::string allowed;
          if (props != s.end())
            for (auto p = props->begin(); p != props->end(); ++p) allowed += (allowed.empty() ? "" : ", ") + p.key();
          errs.push_back({child, "unknown key" + (allowed.empty() ? std::string() : " (allowed: " + allowed + ")")});
        } else {
          validate(it.value(), *addl, child, errs);
        }
      }
    }
  }

  void check_alternatives(const J& v, const J& alts, const std::string& path, std::vector<SchemaError>& errs,
                          bool exactly_one) {
    std::size_t matches = 0;
    std::vector<std::vector<SchemaError>> all;
    for (const auto& alt : alts) {
      std::vector<SchemaError> e;
      validate(v, alt, path, e);
      if (e.empty()) ++matches;
      all.push_back(std::move(e));
    }
    if (matches == 0 && !all.empty()) {
      // Every alternative rejects the value itself (wrong type / constant): one merged message.
      bool shallow = true;
      for (const auto& e : all) shallow = shallow && e.size() == 1 && e[0].path == path;
      if (shallow) {
        std::string msg;
        for (const auto& e : all) msg += (msg.empty() ? "" : ", or ") + e[0].message;
        errs.push_back({path, msg});
        return;
      }
      // Otherwise report the closest alternative; a wrong constant (a discriminator such as
      // "type": "folder") makes an alternative far less likely to be the intended one.
      std::size_t best = 0, best_score = SIZE_MAX;
      for (std::size_t i = 0; i < all.size(); ++i) {
        std::size_t score = 0;
        for (const auto& e : all[i]) score += e.message.rfind("must be ", 0) == 0 ? 100 : 1;
        if (score < best_score) best = i, best_score = score;
      }
      errs.insert(errs.end(), all[best].begin(), all[best].end());
    } else if (exactly_one && matches > 1) {
      errs.push_back({path, "matches " + std::to_string(matches) + " of the allowed forms, expected exactly one"});
    }
  }

  const J& root_;
  std::unordered_map<std::string, std::regex> regex_cache_;
};

}  // namespace

std::vector<SchemaError> validate_json_schema(const nlohmann::ordered_json& instance,
                                              const nlohmann::ordered_json& schema) {
  std::vector<SchemaError> errs;
  Validator<nlohmann::ordered_json>(schema).validate(instance, schema, "$", errs);
  return errs;
}

std::vector<SchemaError> validate_json_schema(const nlohmann::json& instance, const nlohmann::json& schema) {
  std::vector<SchemaError> errs;
  Validator<nlohmann::json>(schema).validate(instance, schema, "$", errs);
  return errs;
}

}  // namespace medsyn::reports

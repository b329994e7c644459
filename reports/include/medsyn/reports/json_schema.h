#pragma once
// A small JSON Schema validator (a subset of draft 2020-12) that reports every error at once, each
// with a JSON path. It is what validates results.json (reports/schema/results.schema.json) and is
// meant for suite files too (suites/schema/suite.schema.json), so both schema files stay the single
// source of truth for their formats.
//
// Supported keywords: type (string or array; "integer" = a number with no fractional part), const,
// enum, properties, required, additionalProperties (bool or schema), minProperties, items (schema),
// minItems, maxItems, minLength, pattern (ECMAScript regex, search semantics), minimum, maximum,
// exclusiveMinimum, exclusiveMaximum, $ref ("#/$defs/NAME" only), anyOf, oneOf, and the
// annotations $schema, $id, $defs, $comment, title, description, default, examples. Any other
// keyword in a schema is a schema error (InputError), so a schema never silently relies on an
// unsupported keyword.
//
// JSON paths: "$" is the root, ".key" for keys made of [A-Za-z0-9_], ["key"] otherwise (quotes and
// backslashes escaped), "[i]" for array elements, e.g. $.results.generalist["real+syn"][0].value.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace medsyn::reports {

struct SchemaError {
  std::string path;     // JSON path of the offending value
  std::string message;  // what is wrong, e.g. "expected number or null, got string"
  std::string str() const { return path + ": " + message; }
};

// Appends a key / an index to a JSON path (the notation above).
std::string json_path_key(const std::string& parent, const std::string& key);
std::string json_path_index(const std::string& parent, std::size_t index);

// Validates `instance` against `schema`; returns all errors (empty = valid). Throws InputError if
// the schema itself uses an unsupported keyword or a bad $ref. Both JSON flavours are supported.
std::vector<SchemaError> validate_json_schema(const nlohmann::ordered_json& instance,
                                              const nlohmann::ordered_json& schema);
std::vector<SchemaError> validate_json_schema(const nlohmann::json& instance, const nlohmann::json& schema);

// The embedded copy of reports/schema/results.schema.json (compiled into the library).
const nlohmann::ordered_json& results_schema();
const std::string& results_schema_text();

}  // namespace medsyn::reports

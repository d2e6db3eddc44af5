#include "pipeline/codec.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validator.hpp>

#include "common/bytes.h"
#include "pipeline/msgpack.h"

namespace streams::pipeline {

// A validator keeps the regexes of `pattern` constraints it compiled (by
// pattern text): one per scratch (a partition's step), not one per record.
struct SchemaScratch {
  valijson::Validator validator;
};

namespace {

using config::Codec;
using nlohmann::json;

const char* begin(streams_bytes b) { return reinterpret_cast<const char*>(b.data); }
const char* end(streams_bytes b) { return begin(b) + b.size; }

// A valid JSON document (simdjson, no allocation once warm, depth-bounded),
// else *error.
bool check_json(streams_bytes in, CodecScratch& scratch, std::string* error) {
  if (!in.data) {
    *error = "the value is null";
    return false;
  }
  return scratch.json.valid(std::string_view(begin(in), in.size), error);
}

// valijson reads every integer as int64_t, so an unsigned one above
// INT64_MAX would read as negative. In a schema such a bound (uint64 limits,
// as in sentry-kafka-schemas) becomes the nearest double, which valijson
// compares with exactly; in an instance the value is clamped to INT64_MAX,
// so it stays an integer and passes bounds at or above 2^63.
void fit_unsigned(json& value, bool schema) {
  if (value.is_structured()) {
    for (auto& item : value) fit_unsigned(item, schema);  // depth-bounded: checked before
  } else if (value.is_number_unsigned() && value.get<uint64_t>() > INT64_MAX) {
    if (schema) {
      value = static_cast<double>(value.get<uint64_t>());
    } else {
      value = INT64_MAX;
    }
  }
}

class Parser final : public CodecStep {
 public:
  Parser(Codec format, std::unique_ptr<valijson::Schema> schema, JsonErrorText json_error)
      : format_(format), schema_(std::move(schema)), json_error_(std::move(json_error)) {}

  // The input is checked (depth-bounded) before nlohmann_json, whose
  // document and valijson's walk of it recurse, ever sees it.
  bool apply(streams_bytes in, CodecScratch& scratch, streams_bytes* out,
             std::string* error) const override {
    if (format_ == Codec::json) {
      if (!check_json(in, scratch, error)) {
        if (json_error_ && in.data) json_error_(std::string_view(begin(in), in.size), error);
        return false;
      }
      *out = in;
    } else {
      if (!in.data) {
        *error = "the value is null";
        return false;
      }
      if (!msgpack_to_json(std::string_view(begin(in), in.size), &scratch.text, error)) {
        return false;
      }
      *out = bytes_of(scratch.text);
    }
    return !schema_ || validate(*out, scratch, error);
  }

 private:
  bool validate(streams_bytes text, CodecScratch& scratch, std::string* error) const {
    json value = json::parse(begin(text), end(text), nullptr, /*allow_exceptions=*/false);
    fit_unsigned(value, /*schema=*/false);
    if (value.is_discarded()) {  // checked before: only a number simdjson took
      *error = "not valid JSON for the schema check";
      return false;
    }
    if (!scratch.schema) scratch.schema = std::make_shared<SchemaScratch>();
    valijson::ValidationResults results;
    valijson::adapters::NlohmannJsonAdapter adapter(value);
    if (scratch.schema->validator.validate(*schema_, adapter, &results)) return true;
    valijson::ValidationResults::Error e;
    std::string path;
    if (results.popError(e)) {
      for (const auto& part : e.context) path += part;
    }
    *error =
        "does not match the schema at " + (path.empty() ? "<root>" : path) + ": " + e.description;
    return false;
  }

  Codec format_;
  std::unique_ptr<valijson::Schema> schema_;
  JsonErrorText json_error_;
};

class Serializer final : public CodecStep {
 public:
  explicit Serializer(Codec format) : format_(format) {}

  bool apply(streams_bytes in, CodecScratch& scratch, streams_bytes* out,
             std::string* error) const override {
    if (format_ == Codec::json) {
      if (!check_json(in, scratch, error)) {
        error->insert(0, "cannot serialize: ");
        return false;
      }
      *out = in;
      return true;
    }
    if (!in.data) {
      *error = "cannot serialize: the value is null";
      return false;
    }
    if (!scratch.json.to_msgpack(std::string_view(begin(in), in.size), &scratch.text, error)) {
      error->insert(0, "cannot serialize: ");
      return false;
    }
    *out = bytes_of(scratch.text);
    return true;
  }

 private:
  Codec format_;
};

std::unique_ptr<valijson::Schema> load_schema(const std::string& path, std::string* error) {
  std::ifstream file(path);
  if (!file) {
    *error = "cannot read schema file " + path;
    return nullptr;
  }
  std::stringstream text;
  text << file.rdbuf();
  std::string why;
  if (!JsonCheck().valid(text.str(), &why)) {  // bounds its depth for the parsers below
    *error = "schema file " + path + " is " + why;
    return nullptr;
  }
  json document = json::parse(text.str(), nullptr, false);
  if (document.is_discarded()) {
    *error = "schema file " + path + " is not valid JSON";
    return nullptr;
  }
  fit_unsigned(document, /*schema=*/true);
  auto schema = std::make_unique<valijson::Schema>();
  try {
    valijson::SchemaParser parser;
    valijson::adapters::NlohmannJsonAdapter adapter(document);
    parser.populateSchema(adapter, *schema);
  } catch (const std::exception& e) {  // control plane: valijson reports by exception
    *error = "schema file " + path + " is not a usable JSON Schema: " + e.what();
    return nullptr;
  }
  return schema;
}

}  // namespace

std::shared_ptr<const CodecStep> CodecStep::parser(config::Codec format,
                                                   const std::string& schema_path,
                                                   std::string* error, JsonErrorText json_error) {
  std::unique_ptr<valijson::Schema> schema;
  if (!schema_path.empty()) {
    schema = load_schema(schema_path, error);
    if (!schema) return nullptr;
  }
  if (format != Codec::json) json_error = nullptr;
  return std::make_shared<Parser>(format, std::move(schema), std::move(json_error));
}

std::shared_ptr<const CodecStep> CodecStep::serializer(config::Codec format) {
  return std::make_shared<Serializer>(format);
}

}  // namespace streams::pipeline

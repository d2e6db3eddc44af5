#include "pipeline/codec.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validator.hpp>

namespace streams::pipeline {
namespace {

using config::Codec;
using nlohmann::json;

const char* begin(streams_bytes b) { return reinterpret_cast<const char*>(b.data); }
const char* end(streams_bytes b) { return begin(b) + b.size; }

std::string parse_failure(streams_bytes in, Codec format) {
  if (!in.data) return "the value is null";
  return describe_parse_failure(std::string_view(begin(in), in.size), format == Codec::msgpack);
}

// A valid JSON document (simdjson, no allocation once warm), else *error.
bool check_json(streams_bytes in, CodecScratch& scratch, std::string* error) {
  if (!in.data) {
    *error = "the value is null";
    return false;
  }
  return scratch.json.valid(std::string_view(begin(in), in.size), error);
}

json parse(streams_bytes in, Codec format) {
  if (!in.data) return json(json::value_t::discarded);
  if (format == Codec::json) return json::parse(begin(in), end(in), nullptr, false);
  return json::from_msgpack(begin(in), end(in), /*strict=*/true, /*allow_exceptions=*/false);
}

streams_bytes view(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

class Parser final : public CodecStep {
 public:
  Parser(Codec format, std::unique_ptr<valijson::Schema> schema)
      : format_(format), schema_(std::move(schema)) {}

  bool apply(streams_bytes in, CodecScratch& scratch, streams_bytes* out,
             std::string* error) const override {
    if (format_ == Codec::json && !schema_) {
      if (!check_json(in, scratch, error)) return false;
      *out = in;
      return true;
    }
    json value = parse(in, format_);
    if (value.is_discarded()) {
      *error = parse_failure(in, format_);
      return false;
    }
    if (schema_ && !validate(value, error)) return false;
    if (format_ == Codec::json) {
      *out = in;
    } else {
      scratch.text = value.dump();
      *out = view(scratch.text);
    }
    return true;
  }

 private:
  bool validate(const json& value, std::string* error) const {
    valijson::Validator validator;
    valijson::ValidationResults results;
    valijson::adapters::NlohmannJsonAdapter adapter(value);
    if (validator.validate(*schema_, adapter, &results)) return true;
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
    json value = parse(in, Codec::json);
    if (value.is_discarded()) {
      *error = "cannot serialize: " + parse_failure(in, Codec::json);
      return false;
    }
    scratch.text.clear();
    json::to_msgpack(value, nlohmann::detail::output_adapter<char>(scratch.text));
    *out = view(scratch.text);
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
  json document = json::parse(text.str(), nullptr, false);
  if (document.is_discarded()) {
    *error = "schema file " + path + " is not valid JSON";
    return nullptr;
  }
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

std::shared_ptr<const CodecStep> CodecStep::create(const config::StepSpec& spec,
                                                   std::string* error) {
  if (spec.kind == config::StepKind::serializer) return std::make_shared<Serializer>(spec.format);
  std::unique_ptr<valijson::Schema> schema;
  if (!spec.schema_path.empty()) {
    schema = load_schema(spec.schema_path, error);
    if (!schema) return nullptr;
  }
  return std::make_shared<Parser>(spec.format, std::move(schema));
}

}  // namespace streams::pipeline

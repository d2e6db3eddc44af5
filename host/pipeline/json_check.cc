#include "pipeline/json_check.h"

#include <simdjson.h>
#include <nlohmann/json.hpp>

#include "pipeline/msgpack.h"

namespace streams::pipeline {
namespace {

// The rare path: nlohmann_json's SAX pass (iterative, so any depth is safe)
// names the position of the fault.
class ErrorCatcher : public nlohmann::json_sax<nlohmann::json> {
 public:
  std::string message;
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t&) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    message = e.what();
    return false;
  }
};

// Depth-bounded by the parser's max_depth.
void encode(simdjson::dom::element e, std::string* out) {
  using simdjson::dom::element_type;
  switch (e.type()) {
    case element_type::ARRAY: {
      simdjson::dom::array a = e.get_array().value_unsafe();
      msgpack::put_array_header(static_cast<uint32_t>(a.size()), out);
      for (simdjson::dom::element item : a) encode(item, out);
      break;
    }
    case element_type::OBJECT: {
      simdjson::dom::object o = e.get_object().value_unsafe();
      msgpack::put_map_header(static_cast<uint32_t>(o.size()), out);
      for (simdjson::dom::key_value_pair field : o) {
        msgpack::put_str(field.key, out);
        encode(field.value, out);
      }
      break;
    }
    case element_type::INT64:
      msgpack::put_int(e.get_int64().value_unsafe(), out);
      break;
    case element_type::UINT64:
      msgpack::put_uint(e.get_uint64().value_unsafe(), out);
      break;
    case element_type::DOUBLE:
      msgpack::put_double(e.get_double().value_unsafe(), out);
      break;
    case element_type::STRING:
      msgpack::put_str(e.get_string().value_unsafe(), out);
      break;
    case element_type::BOOL:
      msgpack::put_bool(e.get_bool().value_unsafe(), out);
      break;
    case element_type::NULL_VALUE:
      msgpack::put_nil(out);
      break;
  }
}

}  // namespace

std::string describe_parse_failure(std::string_view text) {
  ErrorCatcher catcher;
  nlohmann::json::sax_parse(text.begin(), text.end(), &catcher,
                            nlohmann::json::input_format_t::json, /*strict=*/true);
  return "not valid JSON: " + (catcher.message.empty() ? "cannot be parsed" : catcher.message);
}

struct JsonCheck::Parser {
  simdjson::dom::parser parser;

  // The document, or null with *error.
  bool parse(std::string_view text, simdjson::dom::element* doc, std::string* error) {
    const simdjson::error_code e =
        parser.parse(text.data(), text.size(), /*realloc_if_needed=*/true).get(*doc);
    if (e == simdjson::SUCCESS) return true;
    if (e == simdjson::DEPTH_ERROR) {
      *error = "not valid JSON: nested deeper than " + std::to_string(kMaxNesting) + " levels";
    } else if (e == simdjson::CAPACITY || e == simdjson::MEMALLOC) {
      *error = "not valid JSON: too large to parse (" + std::to_string(text.size()) + " bytes)";
    } else {
      *error = describe_parse_failure(text);
    }
    return false;
  }
};

JsonCheck::JsonCheck() : parser_(std::make_unique<Parser>()) {
  // Sets the depth bound (simdjson counts the document as a level); buffers grow with the first
  // documents. Fails only without memory for 4 KiB, and the first parse then fails as well.
  const simdjson::error_code e = parser_->parser.allocate(4096, kMaxNesting + 1);
  static_cast<void>(e);
}
JsonCheck::~JsonCheck() = default;

bool JsonCheck::valid(std::string_view text, std::string* error) {
  simdjson::dom::element doc;
  return parser_->parse(text, &doc, error);
}

bool JsonCheck::to_msgpack(std::string_view text, std::string* out, std::string* error) {
  simdjson::dom::element doc;
  if (!parser_->parse(text, &doc, error)) return false;
  out->clear();
  encode(doc, out);
  return true;
}

}  // namespace streams::pipeline

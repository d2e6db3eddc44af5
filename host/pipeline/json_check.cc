#include "pipeline/json_check.h"

#include <simdjson.h>
#include <nlohmann/json.hpp>

namespace streams::pipeline {
namespace {

// The rare path: nlohmann_json's SAX pass names the position of the fault.
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

}  // namespace

std::string describe_parse_failure(std::string_view text, bool msgpack) {
  ErrorCatcher catcher;
  nlohmann::json::sax_parse(
      text.begin(), text.end(), &catcher,
      msgpack ? nlohmann::json::input_format_t::msgpack : nlohmann::json::input_format_t::json,
      /*strict=*/true);
  return std::string(msgpack ? "not valid msgpack: " : "not valid JSON: ") +
         (catcher.message.empty() ? "cannot be parsed" : catcher.message);
}

struct JsonCheck::Parser {
  simdjson::dom::parser parser;
};

JsonCheck::JsonCheck() : parser_(std::make_unique<Parser>()) {}
JsonCheck::~JsonCheck() = default;

bool JsonCheck::valid(std::string_view text, std::string* error) {
  simdjson::dom::element doc;
  if (parser_->parser.parse(text.data(), text.size(), /*realloc_if_needed=*/true).get(doc) ==
      simdjson::SUCCESS) {
    return true;
  }
  *error = describe_parse_failure(text, /*msgpack=*/false);
  return false;
}

}  // namespace streams::pipeline

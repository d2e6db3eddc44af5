#include "pipeline/state_query.h"

#include <nlohmann/json.hpp>

#include "state/table.h"

namespace streams::pipeline {

StateAnswer read_state(state::Table& table, const StateQuery& q, nlohmann::json head) {
  using nlohmann::json;
  const auto text = [](const json& j) {
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
  };
  std::string error;
  if (!q.scan) {
    std::string_view value;
    const state::Found found = table.get(q.key, &value, &error);
    if (found == state::Found::error) return {500, json{{"error", error}}.dump()};
    head["key"] = q.key;
    if (found == state::Found::no) return {404, text(head)};
    head["value"] = std::string(value);
    return {200, text(head)};
  }
  struct Ctx {
    json entries = json::array();
    size_t limit;
    bool more = false;
  } ctx;
  ctx.limit = q.limit;
  auto visit = [](void* c, std::string_view key, std::string_view value) {
    Ctx& x = *static_cast<Ctx*>(c);
    if (x.entries.size() == x.limit) {
      x.more = true;
      return false;
    }
    x.entries.push_back({{"key", std::string(key)}, {"value", std::string(value)}});
    return true;
  };
  if (!table.scan(q.key, visit, &ctx, &error)) return {500, json{{"error", error}}.dump()};
  head["prefix"] = q.key;
  head["entries"] = std::move(ctx.entries);
  head["more"] = ctx.more;
  return {200, text(head)};
}

}  // namespace streams::pipeline

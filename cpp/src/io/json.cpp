// Strict JSON parsing on nlohmann/json; see json.hpp.
#include "json.hpp"

#include <set>
#include <string>
#include <vector>

namespace densekit::io {

Json parse_json(std::string_view text, int max_depth) {
  // The parser reports every structural event before building the value: track the keys seen
  // by each open object and how deep the open containers go.
  std::vector<std::set<std::string>> keys;
  int depth = 0;
  auto check = [&](int, Json::parse_event_t event, Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start:
      case Json::parse_event_t::array_start:
        if (++depth > max_depth)
          throw JsonError("nesting deeper than " + std::to_string(max_depth) + " levels");
        if (event == Json::parse_event_t::object_start) keys.emplace_back();
        break;
      case Json::parse_event_t::object_end:
        keys.pop_back();
        --depth;
        break;
      case Json::parse_event_t::array_end:
        --depth;
        break;
      case Json::parse_event_t::key:
        if (!keys.back().insert(parsed.get<std::string>()).second)
          throw JsonError("duplicate key \"" + parsed.get<std::string>() + "\"");
        break;
      case Json::parse_event_t::value:
        break;
    }
    return true;
  };
  try {
    return Json::parse(text.begin(), text.end(), check);
  } catch (const Json::exception& e) {
    // A lone UTF-16 surrogate (\ud800 without its pair) is no Unicode character: Python can hold
    // one in a str but UTF-8 cannot encode it, so no valid file contains one. Say so plainly.
    const std::string what = e.what();
    if (what.find("surrogate") != std::string::npos)
      throw JsonError("a string holds a lone UTF-16 surrogate escape (such as \\ud800 without its "
                      "pair), which is not Unicode text; names in a model file must be valid "
                      "Unicode (parser: " + what + ")");
    throw JsonError(what);
  }
}

}  // namespace densekit::io

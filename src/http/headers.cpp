#include "weft/http/headers.hpp"

#include <algorithm>

namespace weft::http {

bool is_token(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (char c : s) {
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && std::string_view("!#$%&'*+-.^_`|~").find(c) == std::string_view::npos) return false;
  }
  return true;
}

const char* field_problem(std::string_view name, std::string_view value) noexcept {
  if (name.empty()) return "a header field has an empty name";
  if (!is_token(name)) return "a header field name holds a character that a token may not";
  if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) {
    return "a header field value holds CR, LF or NUL";
  }
  return nullptr;
}

void headers::add(std::string_view name, std::string_view value) {
  slot s{};
  s.name_at = static_cast<std::uint32_t>(text_.size());
  s.name_len = static_cast<std::uint32_t>(name.size());
  text_.append(name.data(), name.size());
  s.value_at = static_cast<std::uint32_t>(text_.size());
  s.value_len = static_cast<std::uint32_t>(value.size());
  text_.append(value.data(), value.size());
  fields_.push_back(s);
  open_at_ = text_.size();
}

void headers::set(std::string_view name, std::string_view value) {
  // `name`/`value` may point into text_: copy before removing and appending move it.
  std::string n(name);
  std::string v(value);
  remove(n);
  add(n, v);
}

std::size_t headers::remove(std::string_view name) {
  slot* it = std::remove_if(fields_.begin(), fields_.end(), [&](const slot& s) { return iequals(name_of(s), name); });
  auto n = static_cast<std::size_t>(fields_.end() - it);
  fields_.resize_down(fields_.size() - n);
  if (fields_.empty()) text_.clear();
  open_at_ = text_.size();
  return n;
}

void headers::clear() noexcept {
  text_.clear();
  fields_.clear();
  open_at_ = 0;
}

std::optional<std::string_view> headers::get(std::string_view name) const noexcept {
  for (const slot& s : fields_) {
    if (iequals(name_of(s), name)) return value_of(s);
  }
  return std::nullopt;
}

std::vector<std::string_view> headers::get_all(std::string_view name) const {
  std::vector<std::string_view> out;
  for (const slot& s : fields_) {
    if (iequals(name_of(s), name)) out.push_back(value_of(s));
  }
  return out;
}

}  // namespace weft::http

#include "base/proc_status.h"

#include <charconv>
#include <string>

namespace taskpool::base {

std::optional<uint64_t> StatusFieldKib(std::string_view status, std::string_view field) {
  const std::string key = std::string(field) + ":";
  const size_t at = status.find(key);
  if (at == std::string_view::npos) return std::nullopt;
  size_t position = at + key.size();
  while (position < status.size() && (status[position] == ' ' || status[position] == '\t')) {
    ++position;
  }
  uint64_t kib = 0;
  const char* begin = status.data() + position;
  const auto [end, error] = std::from_chars(begin, status.data() + status.size(), kib);
  if (error != std::errc() || end == begin) return std::nullopt;
  return kib;
}

}  // namespace taskpool::base

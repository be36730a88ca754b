#include "base/socket_path.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace taskpool::base {

std::string ResolveSocketPath(std::string_view explicit_path) {
  if (!explicit_path.empty()) return std::string(explicit_path);
  const char* from_env = std::getenv("TASKPOOL_SOCKET");
  if (from_env != nullptr && *from_env != '\0') return from_env;
  return std::string(kDefaultSocketPath);
}

}  // namespace taskpool::base

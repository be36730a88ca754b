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

std::string QueueNameForSocket(std::string_view socket_path) {
  // FNV-1a: stable across builds and machines, unlike std::hash.
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : socket_path) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  char name[32];
  std::snprintf(name, sizeof name, "taskpool-%016llx",
                static_cast<unsigned long long>(hash));
  return name;
}

}  // namespace taskpool::base

#include "daemon/pool/process_title.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace taskpool::daemon {

namespace {

char* title_area = nullptr;
size_t title_capacity = 0;   // bytes, the terminating NUL included
size_t title_length = 0;     // of the title shown now
// Every copied environment string, for good: unsetenv() (sd_listen_fds
// unsets LISTEN_FDS) drops entries from environ, and a copy only environ
// pointed to would then be lost (LeakSanitizer says so).
char** environment_copies = nullptr;

}  // namespace

void InitProcessTitle(int argc, char** argv) {
  if (argc <= 0 || argv == nullptr || argv[0] == nullptr || title_area != nullptr) return;
  char* const start = argv[0];
  char* end = start;
  // The strings the kernel laid out back to back: argv, then environ.
  for (int i = 0; i < argc; ++i) {
    if (argv[i] != end) break;
    end = argv[i] + std::strlen(argv[i]) + 1;
  }
  size_t environment_size = 0;
  while (environ != nullptr && environ[environment_size] != nullptr) ++environment_size;
  char** moved = static_cast<char**>(std::calloc(environment_size + 1, sizeof(char*)));
  environment_copies = static_cast<char**>(std::calloc(environment_size + 1, sizeof(char*)));
  if (moved == nullptr || environment_copies == nullptr) {
    std::free(moved);  // keep argv as it is: a title is not worth failing for
    return;
  }
  for (size_t i = 0; i < environment_size; ++i) {
    if (environ[i] == end) end = environ[i] + std::strlen(environ[i]) + 1;
    moved[i] = strdup(environ[i]);
    environment_copies[i] = moved[i];
  }
  environ = moved;  // getenv() now reads the copies; the area is ours
  title_area = start;
  title_capacity = static_cast<size_t>(end - start);
  title_length = title_capacity - 1;  // unknown contents: clear all of it once
}

void SetProcessTitle(std::string_view title) {
  if (title_area == nullptr) return;
  const size_t length = std::min(title.size(), title_capacity - 1);
  std::memcpy(title_area, title.data(), length);
  // Clear only what the previous title left beyond this one.
  if (title_length > length) std::memset(title_area + length, 0, title_length - length);
  title_area[length] = '\0';
  title_length = length;
}

}  // namespace taskpool::daemon

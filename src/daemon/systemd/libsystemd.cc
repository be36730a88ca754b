#include "daemon/systemd/libsystemd.h"

namespace taskpool::daemon {

base::LazyLibrary& Libsystemd() {
  // libsystemd's soname has been .so.0 since it was created (systemd 209).
  static base::LazyLibrary library("libsystemd.so.0");
  return library;
}

}  // namespace taskpool::daemon

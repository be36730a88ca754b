#include "daemon/libsystemd.h"

namespace taskpool {

LazyLibrary& Libsystemd() {
  // libsystemd's soname has been .so.0 since it was created (systemd 209).
  static LazyLibrary library("libsystemd.so.0");
  return library;
}

}  // namespace taskpool

// A shared library loaded on first use instead of linked, for code that only
// some processes or configurations run.
//
// Linking a library maps it into every process at start and runs its
// relocations there: its symbol tables, relocation records and relocated
// data become resident whether or not a function of it is ever called. For
// libcrypto that is about 1.8 MiB in the supervisor, which never hashes (the
// workers do). A LazyLibrary costs nothing until a process calls into it.
//
//   LazyLibrary crypto("libcrypto.so.3");
//   Result<decltype(&EVP_sha256)> sha256 =
//       crypto.Function<decltype(&EVP_sha256)>("EVP_sha256");
//
// Use decltype(&function) from the library's own header as F, so the
// compiler still checks every call's signature. The library is opened with
// RTLD_NOW | RTLD_LOCAL and never closed.
//
// Thread-safety: Function() may be called from any thread; the library is
// opened once.
#pragma once

#include <mutex>
#include <string>
#include <utility>

#include "taskpool/status.hpp"

namespace taskpool::base {

class LazyLibrary {
 public:
  // `soname` as the library's DT_SONAME names it, e.g. "libcrypto.so.3".
  explicit LazyLibrary(std::string soname) : soname_(std::move(soname)) {}
  LazyLibrary(const LazyLibrary&) = delete;
  LazyLibrary& operator=(const LazyLibrary&) = delete;

  // The function named `symbol`, as a pointer of type F. Opens the library
  // on the first call; the error names the library and dlerror()'s reason.
  template <typename F>
  Result<F> Function(const char* symbol) {
    Result<void*> address = Resolve(symbol);
    if (!address.ok()) return address.status();
    return reinterpret_cast<F>(*address);
  }

 private:
  Result<void*> Resolve(const char* symbol);

  const std::string soname_;
  std::once_flag opened_;
  void* handle_ = nullptr;   // set once by the first Resolve
  std::string open_error_;  // why handle_ is null
};

}  // namespace taskpool::base

#include "base/lazy_library.h"

#include <dlfcn.h>

namespace taskpool::base {

namespace {

std::string DlError() {
  const char* reason = dlerror();
  return reason != nullptr ? reason : "unknown error";
}

}  // namespace

Result<void*> LazyLibrary::Resolve(const char* symbol) {
  std::call_once(opened_, [this] {
    handle_ = dlopen(soname_.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle_ == nullptr) open_error_ = DlError();
  });
  if (handle_ == nullptr) {
    return Status(ErrorCode::kInternal,
                  "cannot load " + soname_ + ": " + open_error_ +
                      " (is its Debian package installed?)");
  }
  void* address = dlsym(handle_, symbol);
  if (address == nullptr) {
    return Status(ErrorCode::kInternal, soname_ + " has no " + symbol + ": " +
                                            DlError());
  }
  return address;
}

}  // namespace taskpool::base

// UniqueFd: the one owner of a file descriptor. Move-only; closes what it
// holds when destroyed or reset. -1 means "holds nothing".
//
//   base::UniqueFd fd(open(path, O_RDONLY | O_CLOEXEC));
//   if (!fd) return ErrnoStatus("open " + path, errno);
//   read(fd.get(), ...);
//
// Thread-safety: a plain value; one object is not for concurrent use.
#pragma once

#include <utility>

namespace taskpool::base {

class UniqueFd {
 public:
  UniqueFd() = default;
  // Takes ownership of `fd` (which may be -1, e.g. a failed open's result).
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  explicit operator bool() const { return valid(); }

  // Gives up ownership without closing: the caller (e.g. an Asio object
  // that takes the descriptor) closes it now. Leaves this empty.
  [[nodiscard]] int release() { return std::exchange(fd_, -1); }

  // Closes what this holds, if anything, and takes `fd` instead. close(2)'s
  // result is not reported: on Linux the descriptor is gone either way, and
  // retrying could close a descriptor another thread has just been given.
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

}  // namespace taskpool::base

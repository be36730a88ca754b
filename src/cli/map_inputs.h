// Where `taskpool map` takes its inputs from, and the inputs' text kept
// from submission until their results are shown.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "taskpool/client.hpp"

namespace taskpool::cli {

// Records of a file descriptor, read in large blocks: lines (a trailing
// "\r" dropped, for files from Windows) or, with '\0' as the separator,
// NUL-terminated records taken byte for byte (find -print0). A last record
// without its separator still counts, unless it is empty.
class RecordReader {
 public:
  RecordReader(int fd, char separator) : fd_(fd), separator_(separator) {}

  // The next record; nullopt at end-of-file or on a read error (error()
  // then says which).
  std::optional<std::string> Next();
  const std::string& error() const { return error_; }

 private:
  bool Fill();  // false at end-of-file or on an error

  const int fd_;
  const char separator_;
  std::string buffer_;
  size_t start_ = 0;  // of the unread part of buffer_
  bool eof_ = false;
  std::string error_;
};

// REQUIRES: `args` outlives the source.
Client::InputSource ArgumentInputs(const std::vector<std::string>& args);
// REQUIRES: `reader` outlives the source.
Client::InputSource ReaderInputs(RecordReader& reader);

// Keeps each input's text from when the stream pulls it until its result
// is shown, so memory stays bounded by the stream's window even when the
// inputs come from an endless stdin.
//
// `to_payload`, if given, turns the input at `index` into the task's
// payload (for --exec); the input itself is what Take returns.
class InputsInFlight {
 public:
  using ToPayload = std::function<std::string(const std::string& input, size_t index)>;

  explicit InputsInFlight(Client::InputSource source, ToPayload to_payload = {})
      : source_(std::move(source)), to_payload_(std::move(to_payload)) {}

  // REQUIRES: `this` outlives the returned source.
  Client::InputSource Source();

  // The input at `index`, forgotten from now on.
  std::string Take(size_t index);

  // Inputs pulled so far.
  uint64_t pulled() const { return next_index_; }

 private:
  Client::InputSource source_;
  ToPayload to_payload_;
  size_t next_index_ = 0;
  std::unordered_map<size_t, std::string> in_flight_;
};

}  // namespace taskpool::cli

#include "cli/map_inputs.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace taskpool::cli {

namespace {
constexpr size_t kReadBytes = 64 * 1024;
}  // namespace

bool RecordReader::Fill() {
  if (eof_) return false;
  // Drop what was consumed, so the buffer holds one partial record at most
  // besides the new block.
  buffer_.erase(0, start_);
  start_ = 0;
  const size_t old_size = buffer_.size();
  buffer_.resize(old_size + kReadBytes);
  ssize_t got;
  do {
    got = read(fd_, buffer_.data() + old_size, kReadBytes);
  } while (got < 0 && errno == EINTR);
  buffer_.resize(old_size + static_cast<size_t>(std::max<ssize_t>(got, 0)));
  if (got < 0) error_ = std::string("cannot read the inputs: ") + std::strerror(errno);
  if (got <= 0) eof_ = true;
  return got > 0;
}

std::optional<std::string> RecordReader::Next() {
  size_t scanned = start_;
  for (;;) {
    const size_t end = buffer_.find(separator_, scanned);
    if (end != std::string::npos) {
      std::string record = buffer_.substr(start_, end - start_);
      start_ = end + 1;
      if (separator_ == '\n' && !record.empty() && record.back() == '\r') record.pop_back();
      return record;
    }
    scanned = buffer_.size() - start_;  // relative: Fill moves the unread part to 0
    if (!Fill()) break;
    scanned += start_;
  }
  if (start_ == buffer_.size()) return std::nullopt;
  std::string record = buffer_.substr(start_);
  start_ = buffer_.size();
  if (separator_ == '\n' && !record.empty() && record.back() == '\r') record.pop_back();
  return record;
}

Client::InputSource ArgumentInputs(const std::vector<std::string>& args) {
  return [&args, next = size_t{0}]() mutable -> std::optional<std::string> {
    if (next == args.size()) return std::nullopt;
    return args[next++];
  };
}

Client::InputSource ReaderInputs(RecordReader& reader) {
  return [&reader]() { return reader.Next(); };
}

Client::InputSource InputsInFlight::Source() {
  return [this]() -> std::optional<std::string> {
    std::optional<std::string> input = source_();
    if (!input) return input;
    const size_t index = next_index_++;
    if (!to_payload_) {
      in_flight_.emplace(index, *input);
      return input;
    }
    std::string payload = to_payload_(*input, index);
    in_flight_.emplace(index, std::move(*input));
    return payload;
  };
}

std::string InputsInFlight::Take(size_t index) {
  auto node = in_flight_.extract(index);
  return node.empty() ? std::string() : std::move(node.mapped());
}

}  // namespace taskpool::cli

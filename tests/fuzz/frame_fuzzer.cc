// libFuzzer target for what the daemon does with bytes from a socket: split
// them into delimited frames (in pieces of arbitrary size, as reads
// deliver them) and parse each frame as a ClientMessage.
//
// Invariants checked, besides "no crash, no sanitizer report":
//  * the decoder never buffers more than the frame limit plus one read;
//  * a message that parsed re-encodes into a frame that decodes and parses
//    to the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "wire/framing.h"
#include "taskpool/v1/taskpool.pb.h"

namespace {

constexpr size_t kMaxFrame = 64 * 1024;

void CheckRoundTrip(const taskpool::v1::ClientMessage& message) {
  std::string frame;
  taskpool::wire::AppendFrame(message, &frame);
  taskpool::wire::FrameDecoder decoder(1u << 30);
  decoder.Append(frame);
  taskpool::v1::ClientMessage again;
  taskpool::Status error;
  if (decoder.NextMessage(&again, &error) != taskpool::wire::FrameDecoder::Outcome::kFrame ||
      again.SerializeAsString() != message.SerializeAsString()) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // The first byte picks the read size, so chunk boundaries get fuzzed too.
  const size_t chunk = 1 + data[0] % 64;
  const auto* bytes = reinterpret_cast<const char*>(data + 1);
  size = size - 1;

  taskpool::wire::FrameDecoder decoder(kMaxFrame);
  for (size_t offset = 0; offset < size; offset += chunk) {
    const size_t piece = std::min(chunk, size - offset);
    decoder.Append(std::string_view(bytes + offset, piece));
    if (decoder.buffered() > kMaxFrame + 16 + chunk) std::abort();
    for (;;) {
      taskpool::v1::ClientMessage message;
      taskpool::Status error;
      const auto outcome = decoder.NextMessage(&message, &error);
      if (outcome == taskpool::wire::FrameDecoder::Outcome::kError) return 0;  // connection closed
      if (outcome == taskpool::wire::FrameDecoder::Outcome::kNeedMore) break;
      CheckRoundTrip(message);
    }
  }
  return 0;
}

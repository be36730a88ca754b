#include "daemon/chunk_task.h"

#include <google/protobuf/arena.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include <algorithm>
#include <chrono>

#include "taskpool/v1/taskpool.pb.h"

namespace taskpool {

namespace {

using google::protobuf::io::CodedInputStream;
using google::protobuf::internal::WireFormatLite;

// Both messages hold their entries in field 1 (`items`).
constexpr uint32_t kItemsField = 1;
constexpr uint32_t kItemCodeField = 1;   // ItemResult.code
constexpr uint32_t kItemRunUsField = 4;  // ItemResult.run_us

CodedInputStream InputOver(std::string_view bytes) {
  return CodedInputStream(reinterpret_cast<const uint8_t*>(bytes.data()),
                          static_cast<int>(bytes.size()));
}

// Reads the next `items` entry's length, skipping any other field (as a
// protobuf parser would). False at the end; `*malformed` on bad encoding.
bool NextItem(CodedInputStream& in, uint32_t* length, bool* malformed) {
  for (;;) {
    const uint32_t tag = in.ReadTag();
    if (tag == 0) {
      // 0 is both the end and a read error; only the end consumed it all.
      *malformed = in.BytesUntilLimit() != 0;
      return false;
    }
    if (WireFormatLite::GetTagFieldNumber(tag) != kItemsField) {
      if (!WireFormatLite::SkipField(&in, tag)) {
        *malformed = true;
        return false;
      }
      continue;
    }
    if (WireFormatLite::GetTagWireType(tag) != WireFormatLite::WIRETYPE_LENGTH_DELIMITED ||
        !in.ReadVarint32(length) || static_cast<int64_t>(*length) > in.BytesUntilLimit()) {
      *malformed = true;
      return false;
    }
    return true;
  }
}

// The code and run time of one ItemResult of `length` bytes at `in`.
bool ReadItemResult(CodedInputStream& in, uint32_t length, ErrorCode* code,
                    uint64_t* run_us) {
  const CodedInputStream::Limit limit = in.PushLimit(static_cast<int>(length));
  *code = ErrorCode::kOk;
  *run_us = 0;
  while (const uint32_t tag = in.ReadTag()) {
    const uint32_t field = WireFormatLite::GetTagFieldNumber(tag);
    const bool varint =
        WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_VARINT;
    uint64_t value = 0;
    if ((field == kItemCodeField || field == kItemRunUsField) && varint) {
      if (!in.ReadVarint64(&value)) return false;
      if (field == kItemCodeField) *code = static_cast<ErrorCode>(value);
      if (field == kItemRunUsField) *run_us = value;
    } else if (!WireFormatLite::SkipField(&in, tag)) {
      return false;
    }
  }
  const bool whole = in.BytesUntilLimit() == 0;
  in.PopLimit(limit);
  return whole;
}

int64_t UnixMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t SteadyNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// An item's Context::deadline(): the earlier of the submission's deadline
// and the item's start (`started_unix_us`) plus its timeout (each 0: none).
int64_t ItemDeadline(const TaskTimeLimits& limits, int64_t started_unix_us) {
  if (limits.timeout_us == 0) return limits.deadline_unix_us;
  const int64_t timeout_end = started_unix_us + limits.timeout_us;
  return limits.deadline_unix_us == 0 ? timeout_end
                                      : std::min(limits.deadline_unix_us, timeout_end);
}

}  // namespace

Result<uint32_t> CountChunkItems(std::string_view payload) {
  CodedInputStream in = InputOver(payload);
  uint32_t items = 0;
  uint32_t length = 0;
  bool malformed = false;
  while (NextItem(in, &length, &malformed)) {
    in.Skip(static_cast<int>(length));
    ++items;
  }
  if (malformed) {
    return Status(ErrorCode::kInvalidArgument,
                  "a chunk's payload must be a taskpool.v1.ChunkPayload; this one does "
                  "not parse (at byte " + std::to_string(in.CurrentPosition()) + " of " +
                      std::to_string(payload.size()) + ")");
  }
  if (items == 0) {
    return Status(ErrorCode::kInvalidArgument, "a chunk needs at least one item");
  }
  return items;
}

Status ForEachChunkItem(std::string_view output,
                        const std::function<void(ErrorCode code, uint64_t run_us)>& on_item) {
  CodedInputStream in = InputOver(output);
  uint32_t length = 0;
  bool malformed = false;
  while (NextItem(in, &length, &malformed)) {
    ErrorCode code = ErrorCode::kOk;
    uint64_t run_us = 0;
    if (!ReadItemResult(in, length, &code, &run_us)) {
      malformed = true;
      break;
    }
    on_item(code, run_us);
  }
  if (malformed) {
    return Status(ErrorCode::kInternal, "a worker's chunk output does not parse");
  }
  return Status::Ok();
}

ChunkOutcome RunChunk(const TaskRegistry& registry, uint32_t function,
                      std::string_view payload, const ChunkEnvironment& environment) {
  google::protobuf::Arena arena;
  auto* input = google::protobuf::Arena::CreateMessage<v1::ChunkPayload>(&arena);
  if (!input->ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    return {TaskOutcome::Error(ErrorCode::kInvalidArgument,
                               "the chunk's payload is not a taskpool.v1.ChunkPayload"),
            1};
  }
  auto* output = google::protobuf::Arena::CreateMessage<v1::ChunkOutput>(&arena);
  output->mutable_items()->Reserve(input->items_size());
  TaskContext context = environment.context;
  // One clock read per item: an item starts when the one before it ends.
  // (Small items make clock reads a visible part of a chunk's cost.) The
  // wall clock is read once, and items' starts are derived from it.
  const int64_t chunk_started_ns = SteadyNanos();
  const int64_t chunk_started_unix_us = UnixMicros();
  int64_t started_ns = chunk_started_ns;
  for (const std::string& item : input->items()) {
    v1::ItemResult* result = output->add_items();
    if (context.cancelled && context.cancelled()) {
      result->set_code(v1::CANCELLED);
      result->set_error("the chunk was cancelled before this item ran");
      continue;
    }
    if (environment.item_started) environment.item_started(started_ns);
    context.deadline_unix_us = ItemDeadline(
        environment.limits, chunk_started_unix_us + (started_ns - chunk_started_ns) / 1000);
    TaskOutcome outcome = registry.Run(function, item, context);
    const int64_t finished_ns = SteadyNanos();
    result->set_run_us(static_cast<uint64_t>((finished_ns - started_ns) / 1000));
    started_ns = finished_ns;
    result->set_code(static_cast<v1::ErrorCode>(outcome.code));
    if (outcome.code == ErrorCode::kOk) {
      result->set_output(std::move(outcome.data));
    } else {
      result->set_error(std::move(outcome.data));
    }
  }
  return {TaskOutcome::Ok(output->SerializeAsString()),
          static_cast<uint32_t>(input->items_size())};
}

}  // namespace taskpool

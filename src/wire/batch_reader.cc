#include "wire/batch_reader.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

namespace taskpool::wire {

namespace {

using google::protobuf::io::CodedInputStream;
using google::protobuf::internal::WireFormatLite;

constexpr int kSubmitBatchField = v1::ClientMessage::kSubmitBatchFieldNumber;
constexpr int kTasksField = v1::SubmitBatch::kTasksFieldNumber;

CodedInputStream StreamOver(std::string_view bytes) {
  return CodedInputStream(reinterpret_cast<const uint8_t*>(bytes.data()),
                          static_cast<int>(bytes.size()));
}

// Whether every field of `batch` is well framed (tasks are parsed later,
// one by one).
bool WellFramed(std::string_view batch) {
  CodedInputStream input = StreamOver(batch);
  while (const uint32_t tag = input.ReadTag()) {
    if (!WireFormatLite::SkipField(&input, tag)) return false;
  }
  return input.CurrentPosition() == static_cast<int>(batch.size());
}

}  // namespace

BatchFrame ReadBatchFrame(std::string_view client_message) {
  CodedInputStream input = StreamOver(client_message);
  std::optional<std::string_view> batch;
  bool others = false;
  while (const uint32_t tag = input.ReadTag()) {
    const bool is_batch =
        WireFormatLite::GetTagFieldNumber(tag) == kSubmitBatchField &&
        WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_LENGTH_DELIMITED;
    if (!is_batch) {
      // A malformed non-batch frame is for the whole parse to report.
      if (!WireFormatLite::SkipField(&input, tag)) return {};
      others = true;
      continue;
    }
    uint32_t length = 0;
    if (batch || !input.ReadVarint32(&length)) return {BatchFrame::Kind::kMalformed, {}};
    const size_t body = static_cast<size_t>(input.CurrentPosition());
    if (!input.Skip(static_cast<int>(length))) return {BatchFrame::Kind::kMalformed, {}};
    batch = client_message.substr(body, length);
  }
  if (!batch) return {};
  if (others || input.CurrentPosition() != static_cast<int>(client_message.size()) ||
      !WellFramed(*batch)) {
    return {BatchFrame::Kind::kMalformed, {}};
  }
  return {BatchFrame::Kind::kBatch, *batch};
}

BatchStep NextBatchTask(std::string_view batch, size_t* offset, v1::Submit* task, Status* error) {
  while (*offset < batch.size()) {
    CodedInputStream input = StreamOver(batch.substr(*offset));
    const uint32_t tag = input.ReadTag();
    const bool is_task =
        WireFormatLite::GetTagFieldNumber(tag) == kTasksField &&
        WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_LENGTH_DELIMITED;
    uint32_t length = 0;
    if (!is_task) {
      WireFormatLite::SkipField(&input, tag);  // framing checked by ReadBatchFrame
      *offset += static_cast<size_t>(input.CurrentPosition());
      continue;
    }
    input.ReadVarint32(&length);
    const std::string_view bytes = batch.substr(*offset + static_cast<size_t>(input.CurrentPosition()), length);
    *offset += static_cast<size_t>(input.CurrentPosition()) + length;
    if (!task->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
      *error = Status(ErrorCode::kMalformedFrame,
                      "a task of a SubmitBatch (" + std::to_string(bytes.size()) +
                          " bytes) does not parse as taskpool.v1.Submit");
      return BatchStep::kError;
    }
    return BatchStep::kTask;
  }
  return BatchStep::kEnd;
}

}  // namespace taskpool::wire

#include "wire/chunk_wire.h"
#include "wire/error_code.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

namespace taskpool::wire {

namespace {

using google::protobuf::io::CodedInputStream;
using google::protobuf::io::CodedOutputStream;
using google::protobuf::internal::WireFormatLite;

// Field numbers, as in taskpool.proto.
constexpr int kItemsField = 1;  // ChunkPayload.items and ChunkOutput.items
constexpr int kCodeField = 1;   // ItemResult.code
constexpr int kErrorField = 2;  // ItemResult.error
constexpr int kOutputField = 3;  // ItemResult.output
constexpr int kRunUsField = 4;  // ItemResult.run_us

// Bytes left in `bytes`, which `in` reads from its start. (Cheaper than
// BytesUntilLimit, an out-of-line call, once per field.)
int64_t Remaining(const CodedInputStream& in, std::string_view bytes) {
  return static_cast<int64_t>(bytes.size()) - in.CurrentPosition();
}

// Reads `bytes` (through `in`) as a sequence of fields, calling `on_field`
// with each field's tag, positioned at the field's value. `on_field`
// returns false if the value is bad; fields it does not consume must be
// skipped with SkipField. False if anything does not parse.
template <typename OnField>
bool ReadFields(CodedInputStream& in, std::string_view bytes, OnField on_field) {
  // ReadTag's 0 means both "the end" and "a bad varint", which may have
  // consumed the rest: so the end is checked first, and 0 is an error.
  while (Remaining(in, bytes) > 0) {
    const uint32_t tag = in.ReadTag();
    if (tag == 0 || !on_field(tag)) return false;
  }
  return true;
}

// A length-delimited value at `in` (after its tag) as a view into `bytes`,
// which `in` reads.
bool ReadView(CodedInputStream& in, std::string_view bytes, std::string_view* view) {
  uint32_t length = 0;
  if (!in.ReadVarint32(&length) || static_cast<int64_t>(length) > Remaining(in, bytes)) {
    return false;
  }
  *view = bytes.substr(static_cast<size_t>(in.CurrentPosition()), length);
  return in.Skip(static_cast<int>(length));
}

bool IsField(uint32_t tag, int field, WireFormatLite::WireType type) {
  return WireFormatLite::GetTagFieldNumber(tag) == field &&
         WireFormatLite::GetTagWireType(tag) == type;
}

// Calls `on_entry` with a view of each `items` entry of `bytes`; false if
// it or `bytes` does not parse.
template <typename OnEntry>
bool ForEachEntry(std::string_view bytes, uint32_t* count, OnEntry on_entry) {
  CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                      static_cast<int>(bytes.size()));
  *count = 0;
  return ReadFields(in, bytes, [&](uint32_t tag) {
    if (WireFormatLite::GetTagFieldNumber(tag) != kItemsField) {
      return WireFormatLite::SkipField(&in, tag);
    }
    std::string_view entry;
    if (!IsField(tag, kItemsField, WireFormatLite::WIRETYPE_LENGTH_DELIMITED) ||
        !ReadView(in, bytes, &entry) || !on_entry(entry)) {
      return false;
    }
    ++*count;
    return true;
  });
}

bool ParseItemResult(std::string_view bytes, ItemResultView* item) {
  CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                      static_cast<int>(bytes.size()));
  return ReadFields(in, bytes, [&](uint32_t tag) {
    uint64_t value = 0;
    if (IsField(tag, kCodeField, WireFormatLite::WIRETYPE_VARINT)) {
      if (!in.ReadVarint64(&value)) return false;
      item->code = FromWireCode(static_cast<int64_t>(value));
      return true;
    }
    if (IsField(tag, kRunUsField, WireFormatLite::WIRETYPE_VARINT)) {
      return in.ReadVarint64(&item->run_us);
    }
    if (IsField(tag, kErrorField, WireFormatLite::WIRETYPE_LENGTH_DELIMITED)) {
      return ReadView(in, bytes, &item->error);
    }
    if (IsField(tag, kOutputField, WireFormatLite::WIRETYPE_LENGTH_DELIMITED)) {
      return ReadView(in, bytes, &item->output);
    }
    return WireFormatLite::SkipField(&in, tag);
  });
}

// Appends with protobuf's varint encoder; a CodedOutputStream per small
// append would cost more than the append.
void AppendVarint(uint64_t value, std::string* out) {
  uint8_t buffer[10];
  const uint8_t* end = CodedOutputStream::WriteVarint64ToArray(value, buffer);
  out->append(reinterpret_cast<const char*>(buffer), static_cast<size_t>(end - buffer));
}

void AppendTag(int field, WireFormatLite::WireType type, std::string* out) {
  AppendVarint(WireFormatLite::MakeTag(field, type), out);
}

void AppendLengthDelimited(int field, std::string_view bytes, std::string* out) {
  AppendTag(field, WireFormatLite::WIRETYPE_LENGTH_DELIMITED, out);
  AppendVarint(bytes.size(), out);
  out->append(bytes);
}

size_t LengthDelimitedSize(size_t bytes) {
  return 1 + CodedOutputStream::VarintSize64(bytes) + bytes;  // fields < 16: 1-byte tags
}

}  // namespace

void AppendChunkItem(std::string_view item, std::string* payload) {
  AppendLengthDelimited(kItemsField, item, payload);
}

Result<uint32_t> ForEachChunkItem(std::string_view payload,
                                  const std::function<void(std::string_view item)>& on_item) {
  uint32_t count = 0;
  if (!ForEachEntry(payload, &count, [&](std::string_view item) {
        on_item(item);
        return true;
      })) {
    return Status(ErrorCode::kInvalidArgument,
                  "a chunk's payload must be a taskpool.v1.ChunkPayload; this one (" +
                      std::to_string(payload.size()) + " bytes) does not parse after item " +
                      std::to_string(count));
  }
  return count;
}

void AppendItemResult(const ItemResultView& item, std::string* output) {
  // proto3 leaves out fields holding their default value. Every field
  // number is below 16, so each tag is one byte.
  const auto code = static_cast<uint64_t>(ToWireCode(item.code));
  size_t size = 0;
  if (code != 0) size += 1 + CodedOutputStream::VarintSize64(code);
  if (!item.error.empty()) size += LengthDelimitedSize(item.error.size());
  if (!item.output.empty()) size += LengthDelimitedSize(item.output.size());
  if (item.run_us != 0) size += 1 + CodedOutputStream::VarintSize64(item.run_us);
  AppendTag(kItemsField, WireFormatLite::WIRETYPE_LENGTH_DELIMITED, output);
  AppendVarint(size, output);
  if (code != 0) {
    AppendTag(kCodeField, WireFormatLite::WIRETYPE_VARINT, output);
    AppendVarint(code, output);
  }
  if (!item.error.empty()) AppendLengthDelimited(kErrorField, item.error, output);
  if (!item.output.empty()) AppendLengthDelimited(kOutputField, item.output, output);
  if (item.run_us != 0) {
    AppendTag(kRunUsField, WireFormatLite::WIRETYPE_VARINT, output);
    AppendVarint(item.run_us, output);
  }
}

Result<uint32_t> ForEachItemResult(std::string_view output,
                                   const std::function<void(const ItemResultView& item)>& on_item) {
  uint32_t count = 0;
  if (!ForEachEntry(output, &count, [&](std::string_view entry) {
        ItemResultView item;
        if (!ParseItemResult(entry, &item)) return false;
        on_item(item);
        return true;
      })) {
    return Status(ErrorCode::kInvalidArgument,
                  "a chunk's output (" + std::to_string(output.size()) +
                      " bytes) is not a taskpool.v1.ChunkOutput after item " +
                      std::to_string(count));
  }
  return count;
}

}  // namespace taskpool::wire

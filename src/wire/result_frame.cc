#include "wire/result_frame.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

namespace taskpool::wire {

namespace {

using google::protobuf::io::CodedOutputStream;
using google::protobuf::internal::WireFormatLite;

constexpr uint32_t kLengthDelimitedTag(int field) {
  return static_cast<uint32_t>(field) << 3 |
         WireFormatLite::WIRETYPE_LENGTH_DELIMITED;
}

// Writes a length-delimited field's tag and length.
uint8_t* WriteFieldHeader(int field, size_t length, uint8_t* target) {
  target = CodedOutputStream::WriteVarint32ToArray(kLengthDelimitedTag(field),
                                                   target);
  return CodedOutputStream::WriteVarint32ToArray(static_cast<uint32_t>(length),
                                                 target);
}

size_t FieldHeaderSize(int field, size_t length) {
  return CodedOutputStream::VarintSize32(kLengthDelimitedTag(field)) +
         CodedOutputStream::VarintSize32(static_cast<uint32_t>(length));
}

}  // namespace

void AppendResultFrame(const v1::Result& result, std::string_view output,
                       std::string* out) {
  const int kResultField = v1::ServerMessage::kResultFieldNumber;
  const int kOutputField = v1::Result::kOutputFieldNumber;
  // proto3 leaves an empty bytes field out; so do we.
  const size_t output_field =
      output.empty() ? 0
                     : FieldHeaderSize(kOutputField, output.size()) + output.size();
  const size_t result_bytes = result.ByteSizeLong() + output_field;
  const size_t message_bytes =
      FieldHeaderSize(kResultField, result_bytes) + result_bytes;
  const size_t small_bytes =
      CodedOutputStream::VarintSize32(static_cast<uint32_t>(message_bytes)) +
      message_bytes - output.size();

  out->reserve(out->size() + small_bytes + output.size());
  const size_t start = out->size();
  // Only the envelope is resized (zero-filled) and serialized in place; the
  // output is appended after it.
  out->resize(start + small_bytes);
  auto* target = reinterpret_cast<uint8_t*>(out->data() + start);
  target = CodedOutputStream::WriteVarint32ToArray(
      static_cast<uint32_t>(message_bytes), target);
  target = WriteFieldHeader(kResultField, result_bytes, target);
  target = result.SerializeWithCachedSizesToArray(target);
  if (!output.empty()) WriteFieldHeader(kOutputField, output.size(), target);
  out->append(output);
}

}  // namespace taskpool::wire

// `not_protobuf` answers every payload with bytes that no protobuf message
// parses (0xFF 0x20 is a tag with wire type 7), for the client's check of
// typed outputs.
#include <string_view>

#include <taskpool/plugin.hpp>

namespace {
taskpool::plugin::Output NotProtobuf(std::string_view,
                                     taskpool::plugin::Context&) {
  return taskpool::plugin::Output::Ok("\xff not a protobuf message");
}
TASKPOOL_FUNCTION("not_protobuf", NotProtobuf)
}  // namespace

#include "wire/message_json.h"

#include <google/protobuf/util/json_util.h>

namespace taskpool::wire {

std::string MessageJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  std::string json;
  const auto status =
      google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!status.ok()) {
    // Only an enum value outside its enum or a broken Any can fail, and our
    // messages have neither; still, say so in valid JSON rather than print
    // half a document (the type name needs no escaping; the reason might).
    return R"({"error":"cannot print )" + message.GetTypeName() +
           R"( as JSON"})";
  }
  return json;
}

}  // namespace taskpool::wire

// Typed task functions over protobuf messages, for plugins.
//
//   #include <taskpool/plugin_proto.hpp>
//   #include "resize.pb.h"
//
//   example::ResizeResponse Resize(const example::ResizeRequest& request,
//                                  taskpool::plugin::Context& context) {
//     if (request.max_side() == 0) {
//       throw taskpool::plugin::TaskError(
//           taskpool::ErrorCode::kInvalidArgument, "max_side must be > 0");
//     }
//     example::ResizeResponse response;
//     ...
//     return response;
//   }
//   TASKPOOL_PROTO_FUNCTION("resize", Resize)
//
// The payload is parsed as the request type; one that does not parse ends
// the task INVALID_ARGUMENT with "payload is not a valid
// example.ResizeRequest" and the function is not called. The returned
// message is serialized as the output. Everything else (exceptions, hooks,
// Context) is as for TASKPOOL_FUNCTION in <taskpool/plugin.hpp>.
//
// Link the plugin to `taskpool::plugin_proto` (taskpool::plugin plus
// protobuf) and to the code generated from your .proto. Clients call it with
// client->call<example::ResizeResponse>("resize", request).
#pragma once

#include <google/protobuf/message_lite.h>

#include <climits>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "taskpool/plugin.hpp"

namespace taskpool::plugin::internal {

// Splits `Response (*)(const Request&, Context&)` into its two types.
template <typename Fn>
struct ProtoSignature;
template <typename ResponseT, typename RequestT>
struct ProtoSignature<ResponseT (*)(const RequestT&, Context&)> {
  using Request = RequestT;
  using Response = ResponseT;
};

template <auto F>
Output ProtoFunction(std::string_view payload, Context& context) {
  using Request = typename ProtoSignature<decltype(F)>::Request;
  using Response = typename ProtoSignature<decltype(F)>::Response;
  static_assert(std::is_base_of_v<google::protobuf::MessageLite, Request> &&
                    std::is_base_of_v<google::protobuf::MessageLite, Response>,
                "TASKPOOL_PROTO_FUNCTION needs a function "
                "Response fn(const Request&, taskpool::plugin::Context&) "
                "over protobuf message types");
  Request request;
  if (payload.size() > static_cast<size_t>(INT_MAX) ||
      !request.ParseFromArray(payload.data(),
                              static_cast<int>(payload.size()))) {
    return Output::Error(ErrorCode::kInvalidArgument,
                         "payload is not a valid " + request.GetTypeName());
  }
  const Response response = F(request, context);
  std::string output;
  if (!response.SerializeToString(&output)) {
    return Output::Error(ErrorCode::kTaskFailed,
                         "the function returned an incomplete " +
                             response.GetTypeName() + ": " +
                             response.InitializationErrorString());
  }
  return Output::Ok(std::move(output));
}

}  // namespace taskpool::plugin::internal

// Registers `Response fn(const Request&, Context&)` under `name`, where
// Request and Response are protobuf messages.
#define TASKPOOL_PROTO_FUNCTION(name, fn) \
  TASKPOOL_FUNCTION(name, ::taskpool::plugin::internal::ProtoFunction<&fn>)

// Typed calls: protobuf messages in, protobuf messages out.
//
//   #include <taskpool/client.hpp>      // includes this header
//   #include "resize.pb.h"              // your own messages
//
//   example::ResizeRequest request;
//   request.set_width(1920); request.set_height(1080); request.set_max_side(256);
//   taskpool::TypedResult<example::ResizeResponse> r =
//       client->call<example::ResizeResponse>("resize", request);
//   if (r.ok()) std::cout << r.response.width() << "x" << r.response.height();
//
// The Client's typed member templates (call, call_for, submit, map, imap,
// imap_unordered) mirror the untyped ones: the request is serialized as the
// payload, and the output of a successful task is parsed as `Response`. An
// output that does not parse turns the result into INVALID_ARGUMENT with
// "output of 'resize' is not a valid example.ResizeResponse"; the raw
// bytes stay in `output`. Every other field of TaskResult (worker pid,
// timings, attempts) is kept as is.
//
// Request and Response are any protobuf message types (full or lite); this
// header does not include protobuf itself, the generated .pb.h does, so
// programs that make only untyped calls do not need protobuf headers.
// Thread-safety: as for Client; one thread iterates a TypedResultStream.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "taskpool/client.hpp"

namespace taskpool {

// A TaskResult whose output was parsed as `Response`.
template <typename Response>
struct TypedResult : TaskResult {
  Response response;  // the parsed output, when ok()
};

namespace typed_internal {

template <typename Request>
std::string Encode(const Request& request) {
  return request.SerializeAsString();
}

template <typename Request>
std::vector<std::string> EncodeAll(const std::vector<Request>& requests) {
  std::vector<std::string> payloads;
  payloads.reserve(requests.size());
  for (const Request& request : requests) payloads.push_back(Encode(request));
  return payloads;
}

template <typename Request>
Client::InputSource EncodeSource(
    std::function<std::optional<Request>()> requests) {
  return [requests = std::move(requests)]() -> std::optional<std::string> {
    std::optional<Request> request = requests();
    if (!request) return std::nullopt;
    return Encode(*request);
  };
}

template <typename Response>
TypedResult<Response> Decode(TaskResult raw, std::string_view function) {
  TypedResult<Response> typed;
  static_cast<TaskResult&>(typed) = std::move(raw);
  if (typed.ok() && !typed.response.ParseFromString(typed.output)) {
    typed.code = ErrorCode::kInvalidArgument;
    typed.error = "output of '" + std::string(function) +
                  "' is not a valid " + typed.response.GetTypeName();
  }
  return typed;
}

template <typename Response>
std::vector<TypedResult<Response>> DecodeAll(std::vector<TaskResult> raw,
                                             std::string_view function) {
  std::vector<TypedResult<Response>> typed;
  typed.reserve(raw.size());
  for (TaskResult& result : raw) {
    typed.push_back(Decode<Response>(std::move(result), function));
  }
  return typed;
}

}  // namespace typed_internal

// A ResultStream whose results are parsed as `Response`. Move-only; same
// lifetime rules as ResultStream.
template <typename Response>
class TypedResultStream {
 public:
  struct Item {
    size_t index = 0;  // position of the input
    TypedResult<Response> result;
  };

  TypedResultStream(ResultStream stream, std::string function)
      : stream_(std::move(stream)), function_(std::move(function)) {}

  // The next result, or nullopt when every input has its result.
  std::optional<Item> next() { return Typed(stream_.next()); }
  // As ResultStream::next_for.
  std::optional<Item> next_for(std::chrono::milliseconds wait) {
    return Typed(stream_.next_for(wait));
  }

 private:
  std::optional<Item> Typed(std::optional<ResultStream::Item> item) const {
    if (!item) return std::nullopt;
    return Item{item->index, typed_internal::Decode<Response>(
                                 std::move(item->result), function_)};
  }

  ResultStream stream_;
  std::string function_;
};

template <typename Response, typename Request>
TypedResult<Response> Client::call(std::string_view function,
                                   const Request& request,
                                   const SubmitOptions& options) {
  return typed_internal::Decode<Response>(
      call(function, typed_internal::Encode(request), options), function);
}

template <typename Response, typename Request>
TypedResult<Response> Client::call_for(std::string_view function,
                                       const Request& request,
                                       std::chrono::milliseconds wait,
                                       const SubmitOptions& options) {
  return typed_internal::Decode<Response>(
      call_for(function, typed_internal::Encode(request), wait, options),
      function);
}

template <typename Response, typename Request>
uint64_t Client::submit(
    std::string_view function, const Request& request,
    std::function<void(TypedResult<Response>)> on_result,
    const SubmitOptions& options) {
  return submit(
      function, typed_internal::Encode(request),
      [on_result = std::move(on_result),
       name = std::string(function)](TaskResult result) {
        on_result(typed_internal::Decode<Response>(std::move(result), name));
      },
      options);
}

template <typename Response, typename Request>
std::future<TypedResult<Response>> Client::submit(std::string_view function,
                                                  const Request& request,
                                                  const SubmitOptions& options) {
  // The callback form parses on the reader thread; the promise hands the
  // parsed result to whoever waits on the future.
  auto promise = std::make_shared<std::promise<TypedResult<Response>>>();
  std::future<TypedResult<Response>> future = promise->get_future();
  submit<Response>(
      function, request,
      std::function<void(TypedResult<Response>)>(
          [promise](TypedResult<Response> result) {
            promise->set_value(std::move(result));
          }),
      options);
  return future;
}

template <typename Response, typename Request>
std::vector<TypedResult<Response>> Client::map(
    std::string_view function, const std::vector<Request>& inputs,
    size_t chunksize, const SubmitOptions& options) {
  return typed_internal::DecodeAll<Response>(
      map(function, typed_internal::EncodeAll(inputs), chunksize, options),
      function);
}

template <typename Response, typename Request>
TypedResultStream<Response> Client::imap(std::string_view function,
                                         const std::vector<Request>& inputs,
                                         size_t chunksize, size_t window,
                                         const SubmitOptions& options) {
  return TypedResultStream<Response>(
      imap(function, typed_internal::EncodeAll(inputs), chunksize, window,
           options),
      std::string(function));
}

template <typename Response, typename Request>
TypedResultStream<Response> Client::imap(
    std::string_view function, std::function<std::optional<Request>()> inputs,
    size_t chunksize, size_t window, const SubmitOptions& options) {
  return TypedResultStream<Response>(
      imap(function, typed_internal::EncodeSource(std::move(inputs)),
           chunksize, window, options),
      std::string(function));
}

template <typename Response, typename Request>
TypedResultStream<Response> Client::imap_unordered(
    std::string_view function, const std::vector<Request>& inputs,
    size_t chunksize, size_t window, const SubmitOptions& options) {
  return TypedResultStream<Response>(
      imap_unordered(function, typed_internal::EncodeAll(inputs), chunksize,
                     window, options),
      std::string(function));
}

template <typename Response, typename Request>
TypedResultStream<Response> Client::imap_unordered(
    std::string_view function, std::function<std::optional<Request>()> inputs,
    size_t chunksize, size_t window, const SubmitOptions& options) {
  return TypedResultStream<Response>(
      imap_unordered(function, typed_internal::EncodeSource(std::move(inputs)),
                     chunksize, window, options),
      std::string(function));
}

}  // namespace taskpool

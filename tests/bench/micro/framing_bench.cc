// Framing cost per message: encoding a Result frame (daemon -> client) and
// decoding a stream of Submit frames (client -> daemon), for small and
// large payloads.
#include <benchmark/benchmark.h>

#include <string>

#include "wire/framing.h"
#include "taskpool/v1/taskpool.pb.h"

namespace taskpool::wire {
namespace {

void BM_AppendResultFrame(benchmark::State& state) {
  v1::ServerMessage message;
  v1::Result* result = message.mutable_result();
  result->set_id(42);
  result->set_output(std::string(static_cast<size_t>(state.range(0)), 'x'));
  result->set_worker_pid(1234);
  std::string out;
  for (auto _ : state) {
    out.clear();
    AppendFrame(message, &out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_AppendResultFrame)->Arg(1)->Arg(1024)->Arg(64 << 10);

// Decodes 64 Submit frames appended as one read, as a connection does.
void BM_DecodeSubmitFrames(benchmark::State& state) {
  constexpr int kFrames = 64;
  v1::ClientMessage message;
  v1::Submit* submit = message.mutable_submit();
  submit->set_function("echo");
  submit->set_payload(std::string(static_cast<size_t>(state.range(0)), 'x'));
  std::string stream;
  for (int i = 0; i < kFrames; ++i) {
    submit->set_id(static_cast<uint64_t>(i));
    AppendFrame(message, &stream);
  }
  FrameDecoder decoder(64 << 20);
  v1::ClientMessage decoded;
  Status error;
  for (auto _ : state) {
    decoder.Append(stream);
    while (decoder.NextMessage(&decoded, &error) ==
           FrameDecoder::Outcome::kFrame) {
      benchmark::DoNotOptimize(decoded.submit().id());
    }
  }
  state.SetItemsProcessed(state.iterations() * kFrames);
}
BENCHMARK(BM_DecodeSubmitFrames)->Arg(1)->Arg(1024)->Arg(64 << 10);

}  // namespace
}  // namespace taskpool::wire

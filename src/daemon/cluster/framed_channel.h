// A Unix stream socket carrying protobuf size-delimited frames both ways,
// on an Asio event loop: between a supervisor and its cluster agent, and
// between the agent and its daemon (as a client).
//
// Lifetime: owned by shared_ptr; pending operations keep it alive until
// Close(). The frame callback may call Send and Close.
//
// Thread-safety: used only from the thread running its io_context.
#pragma once

#include <boost/asio/local/stream_protocol.hpp>
#include <google/protobuf/message_lite.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "wire/framing.h"

namespace taskpool::cluster {

class FramedChannel : public std::enable_shared_from_this<FramedChannel> {
 public:
  using Socket = boost::asio::local::stream_protocol::socket;
  // One whole frame's body, valid during the call.
  using FrameHandler = std::function<void(std::string_view body)>;
  // Once, when the channel closes for any reason: `why` is "" after a
  // Close() of ours, else what happened (a read error, a frame too large,
  // or "end of file": the peer sends no more, but Send still works until
  // Close()).
  using CloseHandler = std::function<void(const std::string& why)>;

  FramedChannel(Socket socket, size_t max_frame_bytes);

  // Starts reading. REQUIRES: called once.
  void Start(FrameHandler on_frame, CloseHandler on_close);

  // Queues `message` as one frame; writes happen in the background.
  void Send(const google::protobuf::MessageLite& message);

  // Sends what is queued, then ends the sending direction (the peer reads
  // end of file) while still reading.
  void FinishSending();

  void Close();
  bool closed() const { return closed_; }
  // Bytes queued and not yet written.
  size_t unsent_bytes() const { return outgoing_.size() + writing_.size(); }

 private:
  void ReadSome();
  void WriteSome();
  void Finish(const std::string& why);

  Socket socket_;
  wire::FrameDecoder decoder_;
  FrameHandler on_frame_;
  CloseHandler on_close_;
  std::string outgoing_;
  std::string writing_;
  bool closed_ = false;
  bool finish_sending_ = false;
};

}  // namespace taskpool::cluster

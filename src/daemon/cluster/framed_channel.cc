#include "daemon/cluster/framed_channel.h"

#include <boost/asio/write.hpp>

namespace taskpool::cluster {

namespace {
constexpr size_t kReadChunk = 64 * 1024;
}  // namespace

FramedChannel::FramedChannel(Socket socket, size_t max_frame_bytes)
    : socket_(std::move(socket)), decoder_(max_frame_bytes) {}

void FramedChannel::Start(FrameHandler on_frame, CloseHandler on_close) {
  on_frame_ = std::move(on_frame);
  on_close_ = std::move(on_close);
  ReadSome();
}

void FramedChannel::ReadSome() {
  const size_t size = decoder_.ReadSize(kReadChunk);
  char* area = decoder_.PrepareAppend(size);
  socket_.async_read_some(
      boost::asio::buffer(area, size),
      [self = shared_from_this()](const boost::system::error_code& error, size_t bytes) {
        if (self->closed_) return;
        if (error == boost::asio::error::eof) {
          // The peer is done sending; we may still have things to say
          // (Close() ends that).
          if (self->on_close_) {
            CloseHandler handler = std::move(self->on_close_);
            handler("end of file");
          }
          return;
        }
        if (error) {
          self->Finish(error.message());
          return;
        }
        self->decoder_.Commit(bytes);
        for (;;) {
          std::string_view body;
          Status problem;
          const wire::FrameDecoder::Outcome outcome = self->decoder_.Next(&body, &problem);
          if (outcome == wire::FrameDecoder::Outcome::kNeedMore) break;
          if (outcome == wire::FrameDecoder::Outcome::kError) {
            self->Finish(problem.ToString());
            return;
          }
          self->on_frame_(body);
          if (self->closed_) return;
        }
        self->ReadSome();
      });
}

void FramedChannel::Send(const google::protobuf::MessageLite& message) {
  if (closed_ || finish_sending_) return;
  wire::AppendFrame(message, &outgoing_);
  if (writing_.empty()) WriteSome();
}

void FramedChannel::FinishSending() {
  finish_sending_ = true;
  if (writing_.empty()) WriteSome();
}

void FramedChannel::WriteSome() {
  if (closed_) return;
  if (outgoing_.empty()) {
    if (finish_sending_) {
      boost::system::error_code ignored;
      socket_.shutdown(Socket::shutdown_send, ignored);
    }
    return;
  }
  writing_.swap(outgoing_);
  boost::asio::async_write(
      socket_, boost::asio::buffer(writing_),
      [self = shared_from_this()](const boost::system::error_code& error, size_t) {
        self->writing_.clear();
        if (self->closed_) return;
        if (error) {
          self->Finish("write: " + error.message());
          return;
        }
        self->WriteSome();
      });
}

void FramedChannel::Close() { Finish(""); }

void FramedChannel::Finish(const std::string& why) {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ignored;
  socket_.close(ignored);
  if (on_close_) {
    // Moved out first: the handler may drop the last reference to us.
    CloseHandler handler = std::move(on_close_);
    handler(why);
  }
}

}  // namespace taskpool::cluster

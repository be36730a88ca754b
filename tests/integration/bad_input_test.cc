// Bad input on the socket: each gets a clear error, and the daemon serves
// the next client normally.

#include <gtest/gtest.h>

#include <optional>

#include "wire/framing.h"
#include "taskpool/client.hpp"
#include "taskpool/v1/taskpool.pb.h"
#include "tests/integration/daemon_fixture.h"
#include "tests/integration/raw_connection.h"

namespace taskpool::testing {
namespace {

class BadInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    daemon_ = std::make_unique<DaemonProcess>(
        2, std::vector<std::string>{"--max-payload-bytes", "65536"});
  }
  void TearDown() override { ExpectDaemonStillServes(); }

  void ExpectDaemonStillServes() {
    EXPECT_EQ(RunCli(daemon_->socket_path(), {"ping"}).exit_code, 0)
        << "daemon stopped answering; log:\n" << daemon_->log();
    ClientOptions options;
    options.socket_path = daemon_->socket_path();
    auto client = Client::Connect(options);
    ASSERT_TRUE(client.ok());
    EXPECT_EQ((*client)->call("echo", "ok").output, "ok");
  }

  void ExpectError(RawConnection& connection, v1::ErrorCode code,
                   const std::string& mentions) {
    auto reply = connection.Receive();
    ASSERT_TRUE(reply.has_value()) << "no answer from the daemon";
    ASSERT_TRUE(reply->has_error()) << reply->DebugString();
    EXPECT_EQ(reply->error().code(), code) << reply->error().message();
    EXPECT_NE(reply->error().message().find(mentions), std::string::npos)
        << reply->error().message();
    EXPECT_TRUE(connection.ClosedByDaemon());
  }

  v1::Result SubmitOne(RawConnection& connection, const std::string& function,
                       const std::string& payload) {
    v1::ClientMessage submit;
    submit.mutable_submit()->set_id(7);
    submit.mutable_submit()->set_function(function);
    submit.mutable_submit()->set_payload(payload);
    connection.Send(submit);
    auto reply = connection.Receive();
    EXPECT_TRUE(reply.has_value() && reply->has_result());
    return reply.has_value() ? reply->result() : v1::Result();
  }

  std::unique_ptr<DaemonProcess> daemon_;
};

TEST_F(BadInputTest, GarbageBytes) {
  RawConnection connection(daemon_->socket_path());
  connection.SendBytes("\x05garbage that is not protobuf \xff\xff\xff\xff\xff\xff");
  auto reply = connection.Receive();
  ASSERT_TRUE(reply.has_value());
  ASSERT_TRUE(reply->has_error());
  EXPECT_TRUE(reply->error().code() == v1::MALFORMED_FRAME ||
              reply->error().code() == v1::PROTOCOL_VIOLATION)
      << reply->error().ShortDebugString();
  EXPECT_TRUE(connection.ClosedByDaemon());
}

TEST_F(BadInputTest, InvalidVarintLength) {
  RawConnection connection(daemon_->socket_path());
  connection.SendBytes(std::string(8, '\xff'));
  ExpectError(connection, v1::MALFORMED_FRAME, "varint");
}

TEST_F(BadInputTest, TruncatedFrameThenDisconnect) {
  {
    RawConnection connection(daemon_->socket_path());
    v1::ClientMessage hello;
    hello.mutable_hello()->set_protocol_version(1);
    std::string frame;
    wire::AppendFrame(hello, &frame);
    connection.SendBytes(frame.substr(0, frame.size() - 1));
  }
}

TEST_F(BadInputTest, ABatchBesideAnotherFieldIsRefusedNotParsedWhole) {
  RawConnection connection(daemon_->socket_path());
  ASSERT_TRUE(connection.Greet());
  v1::ClientMessage ping;
  ping.mutable_ping()->set_nonce(1);
  v1::ClientMessage batch;
  v1::Submit* task = batch.mutable_submit_batch()->add_tasks();
  task->set_id(1);
  task->set_function("echo");
  // One frame whose body is both: valid protobuf (the fields would merge),
  // which the daemon refuses rather than parse the batch whole.
  const std::string body = ping.SerializeAsString() + batch.SerializeAsString();
  ASSERT_LT(body.size(), 128u);  // its length is one varint byte
  connection.SendBytes(std::string(1, static_cast<char>(body.size())) + body);
  ExpectError(connection, v1::MALFORMED_FRAME, "SubmitBatch must be its frame's only field");
}

TEST_F(BadInputTest, FrameOverTheSizeLimit) {
  RawConnection connection(daemon_->socket_path());
  ASSERT_TRUE(connection.Greet());
  // A length prefix of 512 MiB; the body never needs to arrive.
  connection.SendBytes("\x80\x80\x80\x80\x02");
  ExpectError(connection, v1::FRAME_TOO_LARGE, "exceeds the limit");
}

TEST_F(BadInputTest, UnknownMessageType) {
  RawConnection connection(daemon_->socket_path());
  ASSERT_TRUE(connection.Greet());
  // Field 99 (varint 1): a message type from some future protocol.
  connection.SendBytes(std::string("\x03\x98\x06\x01", 4));
  ExpectError(connection, v1::PROTOCOL_VIOLATION, "unknown type");
}

TEST_F(BadInputTest, WrongProtocolVersionNamesBothVersions) {
  RawConnection connection(daemon_->socket_path());
  connection.SendHello(7);
  ExpectError(connection, v1::VERSION_MISMATCH, "version 7");
}

TEST_F(BadInputTest, SubmitBeforeHello) {
  RawConnection connection(daemon_->socket_path());
  v1::ClientMessage submit;
  submit.mutable_submit()->set_function("echo");
  connection.Send(submit);
  ExpectError(connection, v1::PROTOCOL_VIOLATION, "hello");
}

TEST_F(BadInputTest, UnknownFunctionListsTheKnownOnes) {
  RawConnection connection(daemon_->socket_path());
  ASSERT_TRUE(connection.Greet());
  v1::Result result = SubmitOne(connection, "no_such_function", "");
  EXPECT_EQ(result.id(), 7u);
  EXPECT_EQ(result.code(), v1::UNKNOWN_FUNCTION);
  EXPECT_NE(result.error().find("no_such_function"), std::string::npos) << result.error();
  EXPECT_NE(result.error().find("is_prime"), std::string::npos) << result.error();
  // The connection stays usable.
  EXPECT_EQ(SubmitOne(connection, "echo", "again").output(), "again");
}

TEST_F(BadInputTest, InvalidArgumentToABuiltin) {
  RawConnection connection(daemon_->socket_path());
  ASSERT_TRUE(connection.Greet());
  v1::Result result = SubmitOne(connection, "is_prime", "not a number");
  EXPECT_EQ(result.code(), v1::INVALID_ARGUMENT);
  EXPECT_NE(result.error().find("not a number"), std::string::npos) << result.error();
}

TEST_F(BadInputTest, PayloadOverTheLimit) {
  RawConnection connection(daemon_->socket_path());
  ASSERT_TRUE(connection.Greet());
  v1::Result result = SubmitOne(connection, "echo", std::string(65537, 'x'));
  EXPECT_EQ(result.code(), v1::PAYLOAD_TOO_LARGE);
  EXPECT_NE(result.error().find("65536"), std::string::npos) << result.error();
}

TEST_F(BadInputTest, DuplicateIdInFlight) {
  RawConnection connection(daemon_->socket_path());
  ASSERT_TRUE(connection.Greet());
  v1::ClientMessage submit;
  submit.mutable_submit()->set_id(1);
  submit.mutable_submit()->set_function("sleep");
  submit.mutable_submit()->set_payload("200");
  connection.Send(submit);
  connection.Send(submit);
  auto first = connection.Receive();
  ASSERT_TRUE(first.has_value() && first->has_result());
  EXPECT_EQ(first->result().code(), v1::DUPLICATE_ID);
  auto second = connection.Receive();
  ASSERT_TRUE(second.has_value() && second->has_result());
  EXPECT_EQ(second->result().code(), v1::OK);
}

TEST_F(BadInputTest, ClientDisconnectsWithTasksInFlight) {
  {
    RawConnection connection(daemon_->socket_path());
    ASSERT_TRUE(connection.Greet());
    for (int id = 1; id <= 20; ++id) {
      v1::ClientMessage submit;
      submit.mutable_submit()->set_id(static_cast<uint64_t>(id));
      submit.mutable_submit()->set_function("sleep");
      submit.mutable_submit()->set_payload("100");
      connection.Send(submit);
    }
  }
  // Its queued tasks were withdrawn: the pool is free again quickly.
  ClientOptions options;
  options.socket_path = daemon_->socket_path();
  auto client = Client::Connect(options);
  ASSERT_TRUE(client.ok());
  TaskResult result = (*client)->call_for("echo", "next", std::chrono::seconds(2));
  EXPECT_TRUE(result.ok()) << result.status().ToString();
}

}  // namespace
}  // namespace taskpool::testing

// The hand-walked chunk encodings must be byte for byte what the generated
// protobuf code reads and writes.
#include "wire/chunk_wire.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "taskpool/v1/taskpool.pb.h"

namespace taskpool::wire {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::vector<std::string> kItems = {"a", "", std::string(200'000, 'x'),
                                         std::string("\0\xff", 2)};

TEST(ChunkWireTest, AppendedItemsAreTheGeneratedChunkPayload) {
  std::string payload;
  v1::ChunkPayload expected;
  for (const std::string& item : kItems) {
    AppendChunkItem(item, &payload);
    expected.add_items(item);
  }
  EXPECT_EQ(payload, expected.SerializeAsString());
}

TEST(ChunkWireTest, ReadsEachItemOfAGeneratedChunkPayloadInPlace) {
  v1::ChunkPayload chunk;
  for (const std::string& item : kItems) chunk.add_items(item);
  const std::string payload = chunk.SerializeAsString();
  std::vector<std::string> seen;
  const Result<uint32_t> count = ForEachChunkItem(payload, [&](std::string_view item) {
    EXPECT_GE(item.data(), payload.data());  // a view, not a copy
    seen.emplace_back(item);
  });
  ASSERT_TRUE(count.ok()) << count.status().ToString();
  EXPECT_EQ(*count, kItems.size());
  EXPECT_EQ(seen, kItems);
}

TEST(ChunkWireTest, SkipsUnknownFieldsAsAParserWould) {
  std::string payload;
  AppendChunkItem("a", &payload);
  payload += std::string("\x10\x05", 2);  // field 2, varint 5
  AppendChunkItem("b", &payload);
  std::vector<std::string> seen;
  const Result<uint32_t> count =
      ForEachChunkItem(payload, [&](std::string_view item) { seen.emplace_back(item); });
  ASSERT_TRUE(count.ok()) << count.status().ToString();
  EXPECT_THAT(seen, ElementsAre("a", "b"));
}

TEST(ChunkWireTest, MalformedPayloadsAreInvalidArgument) {
  const auto count = [](std::string_view payload) {
    return ForEachChunkItem(payload, [](std::string_view) {}).status();
  };
  EXPECT_TRUE(count("").ok());  // no items: the caller decides
  // An item whose length runs past the end.
  const Status truncated = count(std::string("\x0a\x05" "ab", 4));
  EXPECT_EQ(truncated.code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(truncated.message(), HasSubstr("ChunkPayload"));
  // Field 1 with the wrong wire type (varint).
  EXPECT_EQ(count(std::string("\x08\x01", 2)).code(), ErrorCode::kInvalidArgument);
  // A varint that never ends, as a length and as a tag.
  EXPECT_EQ(count("\x0a\xff\xff\xff\xff\xff\xff").code(), ErrorCode::kInvalidArgument);
  std::string payload;
  AppendChunkItem("a", &payload);
  EXPECT_EQ(count(payload + "\xff\xff\xff").code(), ErrorCode::kInvalidArgument);
}

TEST(ChunkWireTest, AppendedItemResultsAreTheGeneratedChunkOutput) {
  std::string output;
  AppendItemResult({ErrorCode::kOk, "", std::string(70'000, 'o'), 17}, &output);
  AppendItemResult({ErrorCode::kTaskFailed, "no", "", 3}, &output);
  AppendItemResult({}, &output);  // every field at its default

  v1::ChunkOutput expected;
  v1::ItemResult* ok = expected.add_items();
  ok->set_output(std::string(70'000, 'o'));
  ok->set_run_us(17);
  v1::ItemResult* failed = expected.add_items();
  failed->set_code(v1::TASK_FAILED);
  failed->set_error("no");
  failed->set_run_us(3);
  expected.add_items();
  EXPECT_EQ(output, expected.SerializeAsString());
}

TEST(ChunkWireTest, ReadsEachItemResultOfAGeneratedChunkOutput) {
  v1::ChunkOutput chunk;
  v1::ItemResult* ok = chunk.add_items();
  ok->set_output("yes");
  ok->set_run_us(1'000'000'000'000);
  v1::ItemResult* failed = chunk.add_items();
  failed->set_code(v1::INVALID_ARGUMENT);
  failed->set_error("bad");
  const std::string output = chunk.SerializeAsString();

  std::vector<ItemResultView> seen;
  const Result<uint32_t> count =
      ForEachItemResult(output, [&](const ItemResultView& item) { seen.push_back(item); });
  ASSERT_TRUE(count.ok()) << count.status().ToString();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].code, ErrorCode::kOk);
  EXPECT_EQ(seen[0].output, "yes");
  EXPECT_EQ(seen[0].run_us, 1'000'000'000'000u);
  EXPECT_EQ(seen[1].code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(seen[1].error, "bad");
  EXPECT_EQ(seen[1].output, "");

  // An ItemResult cut short inside its own length is malformed.
  EXPECT_EQ(ForEachItemResult(std::string("\x0a\x02\x1a\x05", 4), [](const ItemResultView&) {})
                .status()
                .code(),
            ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace taskpool::wire

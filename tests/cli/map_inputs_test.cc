// Reading `taskpool map`'s inputs from a stream: lines or NUL records,
// across read boundaries.
#include "cli/map_inputs.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

namespace taskpool::cli {
namespace {

// Every record `reader`-style of `bytes` fed through a pipe.
std::vector<std::string> Records(const std::string& bytes, char separator) {
  int fds[2];
  if (pipe(fds) != 0) return {"(pipe failed)"};
  std::thread writer([&] {
    // In small pieces, so records straddle reads.
    for (size_t i = 0; i < bytes.size(); i += 3) {
      (void)!write(fds[1], bytes.data() + i, std::min<size_t>(3, bytes.size() - i));
    }
    close(fds[1]);
  });
  RecordReader reader(fds[0], separator);
  std::vector<std::string> records;
  while (std::optional<std::string> record = reader.Next()) records.push_back(*record);
  writer.join();
  close(fds[0]);
  EXPECT_EQ(reader.error(), "");
  return records;
}

TEST(RecordReaderTest, LinesDropCarriageReturnsAndKeepAnUnterminatedLast) {
  EXPECT_EQ(Records("a\nb\r\n\nlast", '\n'),
            (std::vector<std::string>{"a", "b", "", "last"}));
  EXPECT_EQ(Records("one\n", '\n'), (std::vector<std::string>{"one"}));
  EXPECT_EQ(Records("", '\n'), (std::vector<std::string>{}));
}

TEST(RecordReaderTest, NulRecordsAreTakenByteForByte) {
  const std::string bytes("a b\0c\nd\0\xff\xfe\r\0", 11);
  EXPECT_EQ(Records(bytes, '\0'),
            (std::vector<std::string>{"a b", "c\nd", std::string("\xff\xfe\r")}));
}

TEST(RecordReaderTest, LongRecordsSpanManyReads) {
  const std::string long_line(200'000, 'x');
  EXPECT_EQ(Records(long_line + "\n" + long_line, '\n'),
            (std::vector<std::string>{long_line, long_line}));
}

TEST(InputsInFlightTest, KeepsEachInputUntilTakenAndPassesItsIndex) {
  const std::vector<std::string> args = {"a", "b"};
  InputsInFlight inputs(ArgumentInputs(args), [](const std::string& input, size_t index) {
    return input + "#" + std::to_string(index);
  });
  Client::InputSource source = inputs.Source();
  EXPECT_EQ(source(), "a#0");
  EXPECT_EQ(source(), "b#1");
  EXPECT_EQ(source(), std::nullopt);
  EXPECT_EQ(inputs.pulled(), 2u);
  EXPECT_EQ(inputs.Take(1), "b");
  EXPECT_EQ(inputs.Take(1), "");  // forgotten
  EXPECT_EQ(inputs.Take(0), "a");
}

}  // namespace
}  // namespace taskpool::cli

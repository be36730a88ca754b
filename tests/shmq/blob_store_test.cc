// The blob store alone: real POSIX shm objects, named after a queue no one
// else uses.
#include "shmq/blob_store.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

namespace taskpool::shmq {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

std::string UniqueQueueName() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return "tpq-blob-test-" + std::to_string(getpid()) + "-" + info->name();
}

std::vector<std::string> ShmObjectsStartingWith(const std::string& prefix) {
  std::vector<std::string> found;
  for (const auto& entry : std::filesystem::directory_iterator("/dev/shm")) {
    const std::string file = entry.path().filename().string();
    if (file.starts_with(prefix)) found.push_back(file);
  }
  return found;
}

TEST(BlobStoreTest, NamesSayQueueDirectionSlotAndGeneration) {
  const BlobStore blobs("q");
  EXPECT_EQ(blobs.NameOf(BlobKind::kInput, 3, 7), "q.in.3.7");
  EXPECT_EQ(blobs.NameOf(BlobKind::kOutput, 0, 42), "q.out.0.42");
}

TEST(BlobStoreTest, WrittenBytesMapBackAndRemoveLeavesNothing) {
  const std::string name = UniqueQueueName();
  const BlobStore blobs(name);
  std::string bytes(300000, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 13);
  ASSERT_TRUE(blobs.Write(BlobKind::kOutput, 2, 5, bytes).ok());
  {
    Result<MappedBlob> mapped = blobs.Map(BlobKind::kOutput, 2, 5, bytes.size());
    ASSERT_TRUE(mapped.ok()) << mapped.status().ToString();
    EXPECT_TRUE(mapped->bytes() == bytes);
  }
  blobs.Remove(BlobKind::kOutput, 2, 5);
  EXPECT_THAT(ShmObjectsStartingWith(name), IsEmpty());
  blobs.Remove(BlobKind::kOutput, 2, 5);  // absent: no-op
}

TEST(BlobStoreTest, WriteReplacesALeftoverOfTheSameName) {
  const BlobStore blobs(UniqueQueueName());
  ASSERT_TRUE(blobs.Write(BlobKind::kInput, 0, 1, std::string(5000, 'a')).ok());
  ASSERT_TRUE(blobs.Write(BlobKind::kInput, 0, 1, "short").ok());
  Result<MappedBlob> mapped = blobs.Map(BlobKind::kInput, 0, 1, 5);
  ASSERT_TRUE(mapped.ok());
  EXPECT_EQ(mapped->bytes(), "short");
  EXPECT_FALSE(blobs.Map(BlobKind::kInput, 0, 1, 5000).ok())
      << "the old, longer content survived";
  blobs.Remove(BlobKind::kInput, 0, 1);
}

TEST(BlobStoreTest, MissingOrShortBlobIsAnErrorNamingIt) {
  const std::string name = UniqueQueueName();
  const BlobStore blobs(name);
  Result<MappedBlob> missing = blobs.Map(BlobKind::kInput, 9, 9, 10);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), ErrorCode::kInternal);
  EXPECT_THAT(missing.status().message(), HasSubstr(name + ".in.9.9"));

  ASSERT_TRUE(blobs.Write(BlobKind::kOutput, 1, 1, "abc").ok());
  Result<MappedBlob> short_blob = blobs.Map(BlobKind::kOutput, 1, 1, 4);
  ASSERT_FALSE(short_blob.ok());
  EXPECT_THAT(short_blob.status().message(), HasSubstr("short"));
  blobs.Remove(BlobKind::kOutput, 1, 1);
}

TEST(BlobStoreTest, RemoveAllOfRemovesOnlyThatQueuesBlobs) {
  const std::string name = UniqueQueueName();
  const BlobStore mine(name);
  const BlobStore neighbour(name + "-other");
  ASSERT_TRUE(mine.Write(BlobKind::kInput, 1, 1, "x").ok());
  ASSERT_TRUE(mine.Write(BlobKind::kOutput, 2, 3, "y").ok());
  ASSERT_TRUE(neighbour.Write(BlobKind::kInput, 1, 1, "z").ok());
  BlobStore::RemoveAllOf(name);
  EXPECT_THAT(ShmObjectsStartingWith(name),
              UnorderedElementsAre(name + "-other.in.1.1"));
  neighbour.Remove(BlobKind::kInput, 1, 1);
}

}  // namespace
}  // namespace taskpool::shmq

// The blob store alone: real files in /dev/shm, under an instance prefix no
// one else uses.
#include "shmq/blob_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "tests/shmq/shm_objects.h"

namespace taskpool::shmq {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::string UniqueInstance() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return "tpq-blob-test-" + std::to_string(getpid()) + "-" + info->name();
}

TEST(BlobStoreTest, NamesAreTheInstanceAndARandomPartThatDiffersEachWrite) {
  const std::string instance = UniqueInstance();
  const BlobStore blobs(instance);
  ShmId first, second;
  ASSERT_TRUE(blobs.Write(first, "a").ok());
  ASSERT_TRUE(blobs.Write(second, "a").ok());
  EXPECT_NE(HexOf(first), HexOf(second));
  EXPECT_EQ(blobs.NameOf(first), instance + "." + HexOf(first));
  EXPECT_TRUE(IsShmIdHex(HexOf(first)));
  // Created for this user only.
  struct stat st {};
  ASSERT_EQ(lstat(ShmPath(blobs.NameOf(first)).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  blobs.Remove(first);
  blobs.Remove(second);
  EXPECT_THAT(ShmObjectsStartingWith(instance), IsEmpty());
}

TEST(BlobStoreTest, WrittenBytesMapBackAndRemoveLeavesNothing) {
  const std::string instance = UniqueInstance();
  const BlobStore blobs(instance);
  std::string bytes(300000, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 13);
  ShmId id;
  ASSERT_TRUE(blobs.Write(id, bytes).ok());
  {
    Result<MappedBlob> mapped = blobs.Map(id, bytes.size());
    ASSERT_TRUE(mapped.ok()) << mapped.status().ToString();
    EXPECT_TRUE(mapped->bytes() == bytes);
  }
  blobs.Remove(id);
  EXPECT_THAT(ShmObjectsStartingWith(instance), IsEmpty());
  blobs.Remove(id);      // absent: no-op
  blobs.Remove(ShmId{});  // none: no-op
}

TEST(BlobStoreTest, ANameSomeoneMadeFirstIsNeverOpened) {
  // The squatter cannot guess the next name; here it gets one by a link to
  // a file of its own, which an O_EXCL|O_NOFOLLOW create refuses and an
  // O_NOFOLLOW open does not follow.
  const std::string instance = UniqueInstance();
  const BlobStore blobs(instance);
  ShmId id;
  ASSERT_TRUE(blobs.Write(id, "mine").ok());
  const std::string path = ShmPath(blobs.NameOf(id));
  ASSERT_EQ(unlink(path.c_str()), 0);
  ASSERT_EQ(symlink("/etc/passwd", path.c_str()), 0);
  int error = 0;
  EXPECT_FALSE(CreateNamedShm(blobs.NameOf(id), &error).ok());
  EXPECT_EQ(error, EEXIST);
  // And the reader, given the planted name, does not follow the link.
  const Result<MappedBlob> read = blobs.Map(id, 4);
  EXPECT_FALSE(read.ok()) << "mapped a link to /etc/passwd";
  unlink(path.c_str());
}

TEST(BlobStoreTest, MissingOrShortBlobIsAnErrorNamingIt) {
  const std::string instance = UniqueInstance();
  const BlobStore blobs(instance);
  const ShmId absent = RandomShmId();
  Result<MappedBlob> missing = blobs.Map(absent, 10);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), ErrorCode::kInternal);
  EXPECT_THAT(missing.status().message(), HasSubstr(blobs.NameOf(absent)));

  ShmId id;
  ASSERT_TRUE(blobs.Write(id, "abc").ok());
  Result<MappedBlob> short_blob = blobs.Map(id, 4);
  ASSERT_FALSE(short_blob.ok());
  EXPECT_THAT(short_blob.status().message(), HasSubstr("short"));
  blobs.Remove(id);
}

TEST(BlobStoreTest, RewriteKeepsTheNameAndTakesTheNewBytesAndSize) {
  const std::string instance = UniqueInstance();
  const BlobStore blobs(instance);
  ShmId id;
  ASSERT_TRUE(blobs.Write(id, std::string(10000, 'a')).ok());
  const ShmId name = id;
  for (const std::string& bytes : {std::string(100, 'b'), std::string(50000, 'c')}) {
    ASSERT_TRUE(blobs.Rewrite(id, bytes).ok());
    EXPECT_EQ(HexOf(id), HexOf(name));
    struct stat st {};
    ASSERT_EQ(stat(ShmPath(blobs.NameOf(id)).c_str(), &st), 0);
    EXPECT_EQ(static_cast<size_t>(st.st_size), bytes.size());
    Result<MappedBlob> mapped = blobs.Map(id, bytes.size());
    ASSERT_TRUE(mapped.ok()) << mapped.status().ToString();
    EXPECT_TRUE(mapped->bytes() == bytes);
  }
  blobs.Remove(id);
  const Status gone = blobs.Rewrite(id, "x");
  EXPECT_EQ(gone.code(), ErrorCode::kInternal);
  EXPECT_THAT(gone.message(), HasSubstr(blobs.NameOf(id)));
  EXPECT_THAT(ShmObjectsStartingWith(instance), IsEmpty()) << "a rewrite never creates";
}

}  // namespace
}  // namespace taskpool::shmq

#include "base/proc_status.h"

#include <gtest/gtest.h>

namespace taskpool::base {
namespace {

constexpr char kStatus[] =
    "Name:\ttaskpoold\nVmData:\t    1234 kB\nRssShmem:\t       8 kB\nVmRSS:\t 99 kB\n";

TEST(ProcStatusTest, ReadsANamedFieldInKib) {
  EXPECT_EQ(StatusFieldKib(kStatus, "VmData"), 1234u);
  EXPECT_EQ(StatusFieldKib(kStatus, "RssShmem"), 8u);
  EXPECT_EQ(StatusFieldKib(kStatus, "VmRSS"), 99u);
}

TEST(ProcStatusTest, AMissingOrNonNumericFieldIsNothing) {
  EXPECT_EQ(StatusFieldKib(kStatus, "VmSwap"), std::nullopt);
  EXPECT_EQ(StatusFieldKib(kStatus, "Name"), std::nullopt);
  EXPECT_EQ(StatusFieldKib("", "VmData"), std::nullopt);
}

}  // namespace
}  // namespace taskpool::base

#include "base/lazy_library.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

namespace taskpool::base {
namespace {

using ::testing::HasSubstr;

TEST(LazyLibraryTest, ResolvesATypedFunction) {
  LazyLibrary libm("libm.so.6");
  Result<decltype(&::cbrt)> cbrt = libm.Function<decltype(&::cbrt)>("cbrt");
  ASSERT_TRUE(cbrt.ok()) << cbrt.status().ToString();
  EXPECT_DOUBLE_EQ((*cbrt)(27.0), 3.0);
}

TEST(LazyLibraryTest, MissingLibraryNamesItEveryTime) {
  LazyLibrary missing("libtaskpool-no-such-library.so.1");
  for (int attempt = 0; attempt < 2; ++attempt) {
    Result<void (*)()> function = missing.Function<void (*)()>("anything");
    ASSERT_FALSE(function.ok());
    EXPECT_THAT(function.status().message(),
                HasSubstr("cannot load libtaskpool-no-such-library.so.1"));
  }
}

TEST(LazyLibraryTest, MissingSymbolNamesLibraryAndSymbol) {
  LazyLibrary libm("libm.so.6");
  Result<void (*)()> function =
      libm.Function<void (*)()>("taskpool_no_such_symbol");
  ASSERT_FALSE(function.ok());
  EXPECT_THAT(function.status().message(),
              HasSubstr("libm.so.6 has no taskpool_no_such_symbol"));
}

}  // namespace
}  // namespace taskpool::base

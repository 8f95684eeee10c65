#include "cpp/common/lock_checking.h"

#include <cstdlib>

#include "gtest/gtest.h"

namespace cometmq {
namespace {

TEST(LockCheckingTest, EnvironmentOverridesTheBuildDefault) {
  ASSERT_EQ(setenv("COMETMQ_CHECK_LOCK_ORDER", "1", 1), 0);
  ConfigureLockOrderChecking();
  EXPECT_TRUE(LockOrderCheckingEnabled());

  ASSERT_EQ(setenv("COMETMQ_CHECK_LOCK_ORDER", "0", 1), 0);
  ConfigureLockOrderChecking();
  EXPECT_FALSE(LockOrderCheckingEnabled());
}

TEST(LockCheckingTest, DefaultFollowsTheBuild) {
  ASSERT_EQ(unsetenv("COMETMQ_CHECK_LOCK_ORDER"), 0);
  ConfigureLockOrderChecking();
#ifdef NDEBUG
  EXPECT_FALSE(LockOrderCheckingEnabled());
#else
  EXPECT_TRUE(LockOrderCheckingEnabled());
#endif
}

}  // namespace
}  // namespace cometmq

#include "wire/worker_state.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <string>

namespace taskpool::wire {
namespace {

// "WORKER_STATE_IDLE" -> "idle".
std::string LowerSuffix(const std::string& name) {
  std::string suffix = name.substr(std::string("WORKER_STATE_").size());
  std::transform(suffix.begin(), suffix.end(), suffix.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return suffix;
}

TEST(WorkerStateTest, EachStateIsNamedAfterItsEnumerator) {
  const google::protobuf::EnumDescriptor* states = v1::WorkerState_descriptor();
  for (int i = 0; i < states->value_count(); ++i) {
    const auto state = static_cast<v1::WorkerState>(states->value(i)->number());
    if (state == v1::WORKER_STATE_UNSPECIFIED) continue;
    EXPECT_EQ(WorkerStateName(state), LowerSuffix(states->value(i)->name()));
  }
}

TEST(WorkerStateTest, UnspecifiedAndNewerStatesAreUnknown) {
  EXPECT_EQ(WorkerStateName(v1::WORKER_STATE_UNSPECIFIED), "unknown");
  EXPECT_EQ(WorkerStateName(static_cast<v1::WorkerState>(99)), "unknown");
}

TEST(WorkerStateTest, OnlyIdleAndBusyWorkersAreUp) {
  EXPECT_TRUE(WorkerIsUp(v1::WORKER_STATE_IDLE));
  EXPECT_TRUE(WorkerIsUp(v1::WORKER_STATE_BUSY));
  EXPECT_FALSE(WorkerIsUp(v1::WORKER_STATE_STARTING));
  EXPECT_FALSE(WorkerIsUp(v1::WORKER_STATE_DEAD));
  EXPECT_FALSE(WorkerIsUp(v1::WORKER_STATE_STOPPED));  // serves nothing until SIGCONT
  EXPECT_FALSE(WorkerIsUp(v1::WORKER_STATE_UNSPECIFIED));
}

TEST(WorkerStateTest, SettingAStateFillsTheDeprecatedTextToo) {
  v1::WorkerStatus worker;
  SetWorkerState(v1::WORKER_STATE_BUSY, &worker);
  EXPECT_EQ(worker.worker_state(), v1::WORKER_STATE_BUSY);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  EXPECT_EQ(worker.state(), "busy");  // what readers older than the enum see
#pragma GCC diagnostic pop
}

}  // namespace
}  // namespace taskpool::wire

// The router's smaller parts on their own: the user-name cache, the
// per-connection table, the slot table and the waiting room.
#include <gtest/gtest.h>

#include "daemon/route/client_table.h"
#include "daemon/route/in_flight_table.h"
#include "daemon/route/user_names.h"
#include "daemon/route/waiting_room.h"
#include "tests/daemon/route/router_fakes.h"

namespace taskpool::daemon::testing {
namespace {

using namespace std::chrono_literals;

TEST(UserNamesTest, LooksEachUidUpOnceUntilTheEntryIsOld) {
  std::vector<uid_t> asked;
  UserNames names([&](uid_t uid) {
    asked.push_back(uid);
    return uid == 0 ? std::string("root") : std::string();
  });
  const std::chrono::steady_clock::time_point start(1000h);
  EXPECT_EQ(names.NameOf(0, start), "root");
  EXPECT_EQ(names.NameOf(0, start + 59s), "root");
  EXPECT_EQ(names.NameOf(12345, start), "") << "a uid without a name";
  EXPECT_EQ(names.NameOf(12345, start + 1s), "");
  EXPECT_EQ(asked, (std::vector<uid_t>{0, 12345}));
  EXPECT_EQ(names.NameOf(0, start + UserNames::kTimeToLive), "root");
  EXPECT_EQ(asked, (std::vector<uid_t>{0, 12345, 0}));
}

TEST(UserNamesTest, StaysBounded) {
  size_t lookups = 0;
  UserNames names([&](uid_t) {
    ++lookups;
    return std::string("x");
  });
  const std::chrono::steady_clock::time_point now(1000h);
  for (uid_t uid = 0; uid < UserNames::kMaxEntries + 10; ++uid) names.NameOf(uid, now);
  EXPECT_EQ(lookups, UserNames::kMaxEntries + 10);
  names.NameOf(UserNames::kMaxEntries + 5, now);  // kept after the restart
  EXPECT_EQ(lookups, UserNames::kMaxEntries + 10);
}

TEST(UserNamesTest, TheUserDatabaseKnowsRoot) {
  EXPECT_EQ(UserNames::LookUpInUserDatabase(0), "root");
}

TEST(ClientTableTest, AClosedConnectionStaysUntilItsLastTaskIsForgotten) {
  ClientTable table;
  FakeClient client(7, 1000, 99);
  ClientState& state = table.Open(client);
  EXPECT_EQ(&table.Open(client), &state) << "one state per connection";
  EXPECT_EQ(state.uid, 1000u);
  EXPECT_EQ(state.pid, 99);
  state.tasks[1].slot = TaskSlot{0, 1};
  state.tasks[2].slot = std::nullopt;

  ClientTable::MarkClosed(state);
  table.EraseIfDone(state);
  ASSERT_EQ(table.Find(7), &state) << "tasks still point to it";
  EXPECT_EQ(table.ForgetTask(state, 1), nullptr) << "closed: nobody to answer";
  ASSERT_NE(table.Find(7), nullptr);
  table.ForgetTask(state, 2);
  EXPECT_EQ(table.Find(7), nullptr);
  EXPECT_EQ(table.size(), 0u);
}

TEST(ClientTableTest, AnOpenConnectionIsKeptWhenIdle) {
  ClientTable table;
  FakeClient client(7, 1000);
  ClientState& state = table.Open(client);
  state.tasks[1].slot = std::nullopt;
  EXPECT_EQ(table.ForgetTask(state, 1), &client);
  EXPECT_EQ(table.Find(7), &state);
}

TEST(InFlightTableTest, AStaleSlotFindsNothing) {
  InFlightTable table(4);
  RoutedTask task;
  task.slot = {2, 5};
  task.client_id = 42;
  table.Store(std::move(task));
  EXPECT_EQ(table.size(), 1u);
  ASSERT_NE(table.Find({2, 5}), nullptr);
  EXPECT_EQ(table.Find({2, 5})->client_id, 42u);
  EXPECT_EQ(table.Find({2, 6}), nullptr);
  EXPECT_EQ(table.Find({3, 5}), nullptr);
  EXPECT_EQ(table.Find({100, 5}), nullptr);
  table.Forget({2, 6});  // stale: ignored
  EXPECT_EQ(table.size(), 1u);
  table.Forget({2, 5});
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(table.AtIndex(2), nullptr);
}

TEST(InFlightTableTest, ForgettingATaskReleasesItsGates) {
  ConcurrencyGates gates;
  InFlightTable table(2);
  RoutedTask task;
  task.slot = {0, 1};
  task.pass = std::move(*gates.TryEnter({"lock/a"}));
  table.Store(std::move(task));
  EXPECT_EQ(gates.active("lock/a"), 1u);
  table.Forget({0, 1});
  EXPECT_EQ(gates.active("lock/a"), 0u);
}

TEST(WaitingRoomTest, CountsTheTasksWaitingForRoomPerConnection) {
  ClientTable table;
  FakeClient client(1, 1000);
  ClientState& state = table.Open(client);
  WaitingRoom room;
  for (uint64_t id = 1; id <= 3; ++id) {
    WaitingTask task;
    task.client = &state;
    task.submit.set_id(id);
    room.WaitForRoom(std::move(task));
  }
  EXPECT_EQ(state.waiting_for_room, 3u);

  const std::vector<WaitingTask> taken =
      room.TakeIf([](const WaitingTask& task) { return task.submit.id() == 2; });
  ASSERT_EQ(taken.size(), 1u);
  EXPECT_EQ(taken[0].submit.id(), 2u);
  EXPECT_EQ(state.waiting_for_room, 2u);

  std::vector<uint64_t> offered;
  room.QueueWaiting([&](WaitingTask& task) {
    offered.push_back(task.submit.id());
    return task.submit.id() == 1;  // room for one only
  });
  EXPECT_EQ(offered, (std::vector<uint64_t>{1, 3}));
  EXPECT_EQ(state.waiting_for_room, 1u);
  EXPECT_EQ(room.size(), 1u);
}

TEST(WaitingRoomTest, HeldTasksGoOnInOrderWhenTheirGatesOpen) {
  ClientTable table;
  FakeClient client(1, 1000);
  ClientState& state = table.Open(client);
  ConcurrencyGates gates;
  std::optional<ConcurrencyGates::Pass> lock = gates.TryEnter({"lock/a"});
  WaitingRoom room;
  for (uint64_t id = 1; id <= 2; ++id) {
    WaitingTask task;
    task.client = &state;
    task.submit.set_id(id);
    task.keys = {"lock/a"};
    room.Hold(std::move(task));
  }
  EXPECT_TRUE(room.AnyHeldWith({"lock/b", "lock/a"}));
  std::vector<uint64_t> admitted;
  const auto admit = [&](WaitingTask&& task, ConcurrencyGates::Pass) {
    admitted.push_back(task.submit.id());
  };
  room.ReleaseHeld(gates, admit);
  EXPECT_TRUE(admitted.empty()) << "lock/a is taken";
  lock.reset();
  room.ReleaseHeld(gates, admit);
  // The pass of 1 is dropped at once by `admit` here, so 2 follows.
  EXPECT_EQ(admitted, (std::vector<uint64_t>{1, 2}));
  EXPECT_FALSE(room.AnyHeldWith({"lock/a"}));
}

}  // namespace
}  // namespace taskpool::daemon::testing

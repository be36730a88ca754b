// A TaskRouter over the fakes, with a registry of do-nothing functions
// (the fake queue never runs them: the test plays the workers).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "daemon/config/daemon_config.h"
#include "daemon/route/task_router.h"
#include "daemon/tasks/task_registry.h"
#include "tests/daemon/route/router_fakes.h"

namespace taskpool::daemon::testing {

// Adjustments for RouterTest::Submit.
std::function<void(v1::Submit&)> WithLock(std::string key);
std::function<void(v1::Submit&)> WithDeadline(uint32_t ms);
std::function<void(v1::Submit&)> WithTimeout(uint32_t ms);
std::function<void(v1::Submit&)> WithRetries(uint32_t retries);

class RouterTest : public ::testing::Test {
 protected:
  RouterTest();

  // Makes the router; change config_ (and capacity_) first.
  TaskRouter& router();

  // Submits task `id` of `function` from `client`; `adjust` sets more
  // fields of the Submit.
  void Submit(FakeClient& client, uint64_t id, const std::string& function = "echo",
              const std::function<void(v1::Submit&)>& adjust = {});
  void Cancel(FakeClient& client, uint64_t id, bool kill = false);

  // Worker `worker` claims the next task, finishes it with `code` and
  // `output`, and the router collects it.
  void RunNext(uint32_t worker, ErrorCode code = ErrorCode::kOk, std::string output = "ok");
  // Worker `worker` dies (the router is told, as the supervisor would).
  void Die(uint32_t worker, const std::string& cause = "killed by signal 9");

  DaemonConfig config_;
  uint32_t capacity_ = 8;
  TaskRegistry registry_;
  FakeClock clock_;
  std::unique_ptr<FakeQueue> queue_;
  std::unique_ptr<TaskRouter> router_;
  std::vector<uint32_t> killed_;         // workers the router asked to kill
  std::vector<std::string> slow_lines_;  // the slow log
  std::vector<uid_t> name_lookups_;      // uids looked up in the user database
};

}  // namespace taskpool::daemon::testing

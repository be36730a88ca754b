#include "tests/daemon/route/router_fixture.h"

namespace taskpool::daemon::testing {

namespace {

TaskOutcome DoNothing(std::string_view) { return TaskOutcome::Ok(""); }

}  // namespace

std::function<void(v1::Submit&)> WithLock(std::string key) {
  return [key](v1::Submit& submit) { submit.set_lock(key); };
}
std::function<void(v1::Submit&)> WithDeadline(uint32_t ms) {
  return [ms](v1::Submit& submit) { submit.set_deadline_ms(ms); };
}
std::function<void(v1::Submit&)> WithTimeout(uint32_t ms) {
  return [ms](v1::Submit& submit) { submit.set_timeout_ms(ms); };
}
std::function<void(v1::Submit&)> WithRetries(uint32_t retries) {
  return [retries](v1::Submit& submit) { submit.set_max_retries(retries); };
}

RouterTest::RouterTest() {
  for (const char* name : {"echo", "sleep", "render_thumbnail"}) {
    EXPECT_TRUE(registry_.Register(name, TaskFunction(DoNothing)).ok());
  }
}

TaskRouter& RouterTest::router() {
  if (router_ == nullptr) {
    queue_ = std::make_unique<FakeQueue>(clock_, capacity_);
    TaskRouterOptions options;
    options.user_lookup = [this](uid_t uid) {
      name_lookups_.push_back(uid);
      return "user" + std::to_string(uid);
    };
    options.slow_log_sink = [this](const std::string& line) { slow_lines_.push_back(line); };
    router_ = std::make_unique<TaskRouter>(
        *queue_, clock_, registry_, config_, [this](uint32_t worker) { killed_.push_back(worker); },
        std::move(options));
  }
  return *router_;
}

void RouterTest::Submit(FakeClient& client, uint64_t id, const std::string& function,
                        const std::function<void(v1::Submit&)>& adjust) {
  v1::Submit submit;
  submit.set_id(id);
  submit.set_function(function);
  submit.set_payload("payload " + std::to_string(id));
  if (adjust) adjust(submit);
  router().Submit(client, submit);
}

void RouterTest::Cancel(FakeClient& client, uint64_t id, bool kill) {
  v1::Cancel cancel;
  cancel.set_id(id);
  cancel.set_kill_running(kill);
  router().Cancel(client, cancel);
}

void RouterTest::RunNext(uint32_t worker, ErrorCode code, std::string output) {
  ASSERT_TRUE(queue_->Claim(worker).has_value()) << "nothing queued for worker " << worker;
  queue_->Finish(worker, code, std::move(output));
  router().CollectResults();
}

void RouterTest::Die(uint32_t worker, const std::string& cause) {
  router().WorkerDied(worker, FakeQueue::WorkerPid(worker), cause);
}

}  // namespace taskpool::daemon::testing

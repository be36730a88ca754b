// How many times a task of the work queue may be started across nodes.
//
// Every delivery of a task's message counts as an attempt, because a node
// that fetched it and then vanished may have started it: with max_retries
// 0 the first redelivery is answered WORKER_DIED (naming the lost node)
// instead of being run, as a worker death is on one machine. JetStream
// stops delivering a message after kMaxDeliver deliveries; the last one is
// kept for that answer, so a task that kills every node running it (a
// poison task) still ends in a result, after at most kMaxDeliver - 1 runs.
#pragma once

#include <algorithm>
#include <cstdint>

namespace taskpool::cluster {

// The consumers' MaxDeliver.
inline constexpr uint32_t kMaxDeliver = 10;

// Runs allowed for a task with `max_retries`.
constexpr uint32_t AttemptsAllowed(uint32_t max_retries) {
  return std::min<uint32_t>(max_retries, kMaxDeliver - 2) + 1;
}

// Whether delivery number `delivery` (1 for the first) must be answered
// instead of run.
constexpr bool AttemptsUsedUp(uint32_t delivery, uint32_t max_retries) {
  return delivery > AttemptsAllowed(max_retries);
}

}  // namespace taskpool::cluster

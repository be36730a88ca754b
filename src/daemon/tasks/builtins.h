// The built-in task functions: is_prime, sleep, echo, sha256 and fail.
//
// They take UTF-8 text payloads (so the CLI can pass them as arguments) and
// answer with a TaskOutcome. RegisterBuiltins (task_registry.h) registers
// them under those names; they are exposed here one by one for tests and
// benchmarks.
//
// Thread-safety: every function here is pure (sleep aside) and may be called
// from any thread or process.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "daemon/tasks/task_registry.h"

namespace taskpool::daemon::builtins {

// The tutorial's primality check: trial division by 2, 3 and then 6k±1 up to
// sqrt(n). Exact for every 64-bit n; 0 and 1 are not prime. Worst case (a
// prime near 2^64) is about 1.4e9 divisions, i.e. seconds of CPU: this is
// the benchmark workload, deliberately not Miller-Rabin.
bool IsPrime(uint64_t n);

// Parses `text` as a decimal integer 0 <= n < 2^64, allowing surrounding
// ASCII whitespace and nothing else (no sign, no "0x", not empty, no
// overflow). nullopt if `text` is anything else.
std::optional<uint64_t> ParseDecimalU64(std::string_view text);

// `text` made fit for an error message: at most `max_bytes` bytes of it,
// then "..." if cut, with bytes that are not printable ASCII shown as \xNN
// (messages travel in protobuf `string` fields, which must be valid UTF-8).
std::string QuoteForMessage(std::string_view text, size_t max_bytes = 40);

// Input: decimal n (see ParseDecimalU64). Output "true" or "false".
TaskOutcome IsPrimeTask(std::string_view payload);
// Input: milliseconds 0..86400000. Sleeps that long; output "slept N ms".
TaskOutcome SleepTask(std::string_view payload);
// Output: the input, byte for byte.
TaskOutcome EchoTask(std::string_view payload);
// Output: the lowercase hex SHA-256 digest of the input bytes.
TaskOutcome Sha256Task(std::string_view payload);
// Always TASK_FAILED, with the input as the message ("failed on purpose"
// when the input is empty).
TaskOutcome FailTask(std::string_view payload);

inline constexpr uint64_t kMaxSleepMs = 86'400'000;  // one day

}  // namespace taskpool::daemon::builtins

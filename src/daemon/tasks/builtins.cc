#include "daemon/tasks/builtins.h"

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <thread>

#include "daemon/tasks/sha256.h"

namespace taskpool::daemon {
namespace builtins {
namespace {

bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
         c == '\v';
}

std::string_view TrimAsciiSpace(std::string_view text) {
  while (!text.empty() && IsAsciiSpace(text.front())) text.remove_prefix(1);
  while (!text.empty() && IsAsciiSpace(text.back())) text.remove_suffix(1);
  return text;
}

// floor(sqrt(n)), exact for all 64-bit n. The double estimate can be off by
// one near 2^64 (and r*r can overflow 64 bits there), so correct it in
// 128-bit arithmetic.
uint64_t ISqrt(uint64_t n) {
  using U128 = unsigned __int128;
  uint64_t r = static_cast<uint64_t>(std::sqrt(static_cast<double>(n)));
  while (static_cast<U128>(r) * r > n) --r;
  while (static_cast<U128>(r + 1) * (r + 1) <= n) ++r;
  return r;
}

// The 6k±1 loop, templated so numbers below 2^32 use 32-bit division, which
// is several times cheaper than 64-bit division on most x86 cores.
template <typename U>
bool TrialDivide(U n, U limit) {
  // i <= limit <= 2^32 - 1 for 64-bit n, and <= 65535 for 32-bit n, so
  // neither i + 2 nor i += 6 can overflow U.
  for (U i = 5; i <= limit; i += 6) {
    if (n % i == 0 || n % (i + 2) == 0) return false;
  }
  return true;
}

TaskOutcome ExpectedDecimal(std::string_view function, std::string_view what,
                            std::string_view payload) {
  std::string message(function);
  message += " expects ";
  message.append(what);
  message += ", got \"";
  message += QuoteForMessage(payload);
  message += '"';
  if (TrimAsciiSpace(payload).empty()) message += " (empty)";
  return TaskOutcome::Error(ErrorCode::kInvalidArgument, std::move(message));
}

}  // namespace

bool IsPrime(uint64_t n) {
  if (n < 2) return false;
  if (n < 4) return true;  // 2 and 3
  if (n % 2 == 0 || n % 3 == 0) return false;
  const uint64_t limit = ISqrt(n);
  if (n <= UINT32_MAX) {
    return TrialDivide<uint32_t>(static_cast<uint32_t>(n),
                                 static_cast<uint32_t>(limit));
  }
  return TrialDivide<uint64_t>(n, limit);
}

std::optional<uint64_t> ParseDecimalU64(std::string_view text) {
  text = TrimAsciiSpace(text);
  if (text.empty()) return std::nullopt;
  // from_chars alone would accept a prefix ("12a" -> 12); demand that every
  // byte is a digit, which also rules out signs and "0x".
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  uint64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value, 10);
  if (ec != std::errc() || ptr != end) return std::nullopt;  // overflow
  return value;
}

std::string QuoteForMessage(std::string_view text, size_t max_bytes) {
  const bool cut = text.size() > max_bytes;
  if (cut) text = text.substr(0, max_bytes);
  std::string out;
  out.reserve(text.size() + 3);
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte == '"' || byte == '\\') {
      out += '\\';
      out += c;
    } else if (byte >= 0x20 && byte < 0x7f) {
      out += c;
    } else {
      char escaped[5];
      std::snprintf(escaped, sizeof(escaped), "\\x%02x", byte);
      out += escaped;
    }
  }
  if (cut) out += "...";
  return out;
}

TaskOutcome IsPrimeTask(std::string_view payload) {
  const std::optional<uint64_t> n = ParseDecimalU64(payload);
  if (!n) {
    return ExpectedDecimal("is_prime", "a decimal integer 0 <= n < 2^64",
                           payload);
  }
  return TaskOutcome::Ok(IsPrime(*n) ? "true" : "false");
}

TaskOutcome SleepTask(std::string_view payload) {
  const std::optional<uint64_t> ms = ParseDecimalU64(payload);
  if (!ms || *ms > kMaxSleepMs) {
    return ExpectedDecimal(
        "sleep", "milliseconds as a decimal integer 0..86400000", payload);
  }
  // sleep_for resumes after EINTR, so a signal the worker ignores does not
  // cut the sleep short.
  std::this_thread::sleep_for(std::chrono::milliseconds(*ms));
  return TaskOutcome::Ok("slept " + std::to_string(*ms) + " ms");
}

TaskOutcome EchoTask(std::string_view payload) {
  return TaskOutcome::Ok(std::string(payload));
}

TaskOutcome Sha256Task(std::string_view payload) {
  Result<std::string> hex = Sha256Hex(payload);
  if (!hex.ok()) {
    return TaskOutcome::Error(ErrorCode::kInternal,
                              "sha256: " + hex.status().message());
  }
  return TaskOutcome::Ok(std::move(hex).value());
}

TaskOutcome FailTask(std::string_view payload) {
  return TaskOutcome::Error(ErrorCode::kTaskFailed,
                            payload.empty() ? std::string("failed on purpose")
                                            : std::string(payload));
}

}  // namespace builtins

void RegisterBuiltins(TaskRegistry& registry) {
  // The names are distinct and non-empty, so Register fails only if a name
  // was registered before this call; the earlier registration then stands.
  const std::pair<const char*, TaskOutcome (*)(std::string_view)> kBuiltins[] =
      {
          {"is_prime", &builtins::IsPrimeTask},
          {"sleep", &builtins::SleepTask},
          {"echo", &builtins::EchoTask},
          {"sha256", &builtins::Sha256Task},
          {"fail", &builtins::FailTask},
      };
  for (const auto& [name, function] : kBuiltins) {
    registry.Register(name, function).IgnoreError();
  }
}

}  // namespace taskpool::daemon

#include "cli/halt_policy.h"

#include <charconv>
#include <string>

#include "cli/cli_options.h"

namespace taskpool::cli {

namespace {

[[noreturn]] void Reject(std::string_view text, const std::string& why) {
  throw UsageError("--halt " + std::string(text) + ": " + why +
                   "; give never, now,fail=N, now,success=N or now,done=N");
}

}  // namespace

HaltPolicy HaltPolicy::Parse(std::string_view text) {
  if (text == "never" || text == "0") return {};
  if (text == "2") return {Count::kFail, 1};
  if (text.starts_with("soon") || text == "1") {
    Reject(text, "only 'now' is supported (tasks already queued would have to run first)");
  }
  if (!text.starts_with("now,")) Reject(text, "not understood");
  const std::string_view rule = text.substr(4);
  const size_t equals = rule.find('=');
  if (equals == std::string_view::npos) Reject(text, "missing =N");
  const std::string_view what = rule.substr(0, equals);
  const std::string_view number = rule.substr(equals + 1);
  if (number.ends_with('%')) Reject(text, "percentages are not supported");
  HaltPolicy policy;
  if (what == "fail") {
    policy.count = Count::kFail;
  } else if (what == "success") {
    policy.count = Count::kSuccess;
  } else if (what == "done") {
    policy.count = Count::kDone;
  } else {
    Reject(text, "'" + std::string(what) + "' is not fail, success or done");
  }
  const auto [end, error] =
      std::from_chars(number.data(), number.data() + number.size(), policy.threshold);
  if (error != std::errc() || end != number.data() + number.size() || policy.threshold == 0) {
    Reject(text, "N must be a whole number of at least 1");
  }
  return policy;
}

bool HaltPolicy::ShouldHalt(uint64_t succeeded, uint64_t failed) const {
  switch (count) {
    case Count::kNever:
      return false;
    case Count::kFail:
      return failed >= threshold;
    case Count::kSuccess:
      return succeeded >= threshold;
    case Count::kDone:
      return succeeded + failed >= threshold;
  }
  return false;
}

}  // namespace taskpool::cli

// A strict reader of the Prometheus text exposition format (0.0.4), for
// checking what `taskpool metrics` and the daemon serves at /metrics (--http-listen).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace taskpool::testing {

struct PrometheusSample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct PrometheusText {
  std::map<std::string, std::string>
      types;  // family -> counter, gauge, summary, histogram
  std::vector<PrometheusSample> samples;
  // Every violation of the format, one per offending line.
  std::vector<std::string> errors;

  std::set<std::string> families() const;
  // The one sample named `name` whose labels include all of `labels`;
  // nullopt if there is none or more than one.
  std::optional<double> Value(
      const std::string& name,
      const std::map<std::string, std::string>& labels = {}) const;
  // How many samples are named `name`.
  size_t Count(const std::string& name) const;
};

// Checks that every family has HELP then TYPE (once), that samples follow
// their own family (a summary's also as NAME_sum and NAME_count, its
// quantiles with a `quantile` label; a histogram's as NAME_bucket with an
// `le` label, NAME_sum and NAME_count), and that names, labels and values
// are well-formed.
PrometheusText ParsePrometheusText(const std::string& text);

}  // namespace taskpool::testing

#include "tests/bench/stats.h"

#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace taskpool::bench {

int64_t NowNanos() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
}

double Percentile(std::vector<double>& samples, double p) {
  std::sort(samples.begin(), samples.end());
  const double rank = std::ceil(p / 100.0 * static_cast<double>(samples.size()));
  const size_t index = rank < 1 ? 0 : static_cast<size_t>(rank) - 1;
  return samples[std::min(index, samples.size() - 1)];
}

Args::Args(int argc, char** argv, int first) {
  for (int i = first; i < argc; ++i) {
    const std::string arg = argv[i];
    const size_t equals = arg.find('=');
    if (equals == std::string::npos) {
      std::fprintf(stderr, "ignoring argument without '=': %s\n", argv[i]);
      continue;
    }
    values_[arg.substr(0, equals)] = arg.substr(equals + 1);
  }
}

std::string Args::Get(const std::string& key,
                      const std::string& fallback) const {
  auto it = values_.find(key);
  return it == values_.end() ? fallback : it->second;
}

int64_t Args::GetInt(const std::string& key, int64_t fallback) const {
  auto it = values_.find(key);
  return it == values_.end() ? fallback : std::strtoll(it->second.c_str(), nullptr, 10);
}

JsonLine::JsonLine(const std::string& workload) { Add("workload", workload); }

JsonLine& JsonLine::Add(const std::string& key, double value) {
  char text[64];
  std::snprintf(text, sizeof text, "%.6g", value);
  fields_.emplace_back(key, text);
  return *this;
}

JsonLine& JsonLine::Add(const std::string& key, const std::string& value) {
  // Values are our own identifiers (no quotes or backslashes to escape).
  fields_.emplace_back(key, "\"" + value + "\"");
  return *this;
}

JsonLine& JsonLine::AddPercentiles(std::vector<double>& latencies_us) {
  Add("p50_us", Percentile(latencies_us, 50));
  Add("p90_us", Percentile(latencies_us, 90));
  return Add("p99_us", Percentile(latencies_us, 99));
}

void JsonLine::Print() const {
  std::string line = "{";
  for (size_t i = 0; i < fields_.size(); ++i) {
    if (i > 0) line += ", ";
    line += "\"" + fields_[i].first + "\": " + fields_[i].second;
  }
  line += "}\n";
  std::fputs(line.c_str(), stdout);
  std::fflush(stdout);
}

}  // namespace taskpool::bench

// Small helpers shared by the benchmark programs: percentiles of a sample,
// a monotonic clock, `key=value` argument parsing and one-line JSON output.
//
// The benchmark programs print one JSON object per line on stdout; the
// driver (tests/bench/driver.py) parses those lines, so keep them flat:
// string keys, numeric or string values.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace taskpool::bench {

// CLOCK_MONOTONIC in nanoseconds (the clock Python's time.monotonic() reads,
// so timestamps can be compared across the two).
int64_t NowNanos();

// The p-th percentile (0 <= p <= 100) by the nearest-rank method.
// REQUIRES: !samples.empty(). Sorts `samples`.
double Percentile(std::vector<double>& samples, double p);

// Arguments of the form key=value, e.g. `size=1024 count=2000`.
class Args {
 public:
  Args(int argc, char** argv, int first);
  // The value of `key`, or `fallback` when absent.
  std::string Get(const std::string& key, const std::string& fallback) const;
  int64_t GetInt(const std::string& key, int64_t fallback) const;

 private:
  std::map<std::string, std::string> values_;
};

// Builds and prints one JSON line: {"workload":"latency","p50_us":12.5}.
class JsonLine {
 public:
  explicit JsonLine(const std::string& workload);
  JsonLine& Add(const std::string& key, double value);
  JsonLine& Add(const std::string& key, const std::string& value);
  // Adds p50_us, p90_us and p99_us of `latencies_us`.
  JsonLine& AddPercentiles(std::vector<double>& latencies_us);
  void Print() const;

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

}  // namespace taskpool::bench

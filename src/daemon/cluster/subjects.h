// The names a cluster uses in NATS, all derived from --cluster-queue (Q):
// see proto/taskpool/cluster/v1/cluster.proto for what travels on each.
//
// Thread-safety: a plain value.
#pragma once

#include <string>
#include <string_view>

namespace taskpool::cluster {

class Subjects {
 public:
  explicit Subjects(std::string queue) : queue_(std::move(queue)) {}

  // A function name as one subject token: itself when it is made of
  // [A-Za-z0-9_-] only, else "~" and its bytes in lowercase hex.
  static std::string FunctionToken(std::string_view function);

  std::string tasks_stream() const { return queue_ + "_tasks"; }
  std::string results_stream() const { return queue_ + "_results"; }
  std::string all_tasks() const { return queue_ + ".tasks.>"; }
  std::string any_tasks() const { return queue_ + ".tasks.any"; }
  std::string function_tasks(std::string_view function) const {
    return queue_ + ".tasks.fn." + FunctionToken(function);
  }
  std::string function_tasks_filter() const { return queue_ + ".tasks.fn.*"; }
  std::string all_results() const { return queue_ + ".results.*"; }
  std::string results_for(std::string_view node) const {
    return queue_ + ".results." + std::string(node);
  }
  std::string nodes() const { return queue_ + ".nodes"; }
  std::string started_for(std::string_view node) const {
    return queue_ + ".started." + std::string(node);
  }
  std::string cancel() const { return queue_ + ".cancel"; }
  std::string avail(std::string_view function) const {
    return queue_ + ".avail." + FunctionToken(function);
  }
  std::string all_avail() const { return queue_ + ".avail.*"; }

  // Durable consumer names.
  static std::string any_consumer() { return "any"; }
  static std::string function_consumer(std::string_view function) {
    return "fn_" + FunctionToken(function);
  }
  static std::string results_consumer(std::string_view node) {
    return "results_" + std::string(node);
  }

 private:
  std::string queue_;
};

}  // namespace taskpool::cluster

// The pool's status in the Prometheus text exposition format (version
// 0.0.4): `# HELP` and `# TYPE` before each metric family, then
// `name{label="value"} number` samples.
#pragma once

#include <string>

#include "taskpool/client.hpp"

namespace taskpool::cli {

std::string FormatPrometheus(const PoolStatus& status);

}  // namespace taskpool::cli

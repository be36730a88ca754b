// Line-by-line check of a taskpoold config file (INI: `name = value`,
// `#` or `;` comments), so that every problem can be reported with its
// line, not only the first one Boost.ProgramOptions would throw about.
#pragma once

#include <functional>
#include <istream>
#include <string>
#include <vector>

namespace taskpool::daemon {

struct ConfigProblem {
  int line = 0;         // 1-based
  std::string option;   // empty when the line has no option name
  std::string message;
};

// Reads every line of `in`. `known(name)` says whether an option may appear
// in the file; `check(name, value)` returns "" or what is wrong with that
// value (the same validation a flag gets). Duplicates are problems too.
std::vector<ConfigProblem> CheckConfigLines(
    std::istream& in, const std::function<bool(const std::string&)>& known,
    const std::function<std::string(const std::string&, const std::string&)>& check);

// "FILE:LINE: option 'NAME': MESSAGE" (the form compilers use).
std::string FormatProblem(const std::string& file, const ConfigProblem& problem);

}  // namespace taskpool::daemon

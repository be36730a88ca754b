// Line-by-line check of a taskpoold config file (INI: `name = value`,
// `#` or `;` comments), so that every problem can be reported with its
// line, not only the first one Boost.ProgramOptions would throw about.
#pragma once

#include <functional>
#include <istream>
#include <optional>
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

// The text of the config file at `path`, normalised for both the line
// check and Boost's parser: a UTF-8 byte-order mark (which editors on other
// systems write) is dropped, and `;` comment lines become `#` ones, which
// is the only comment Boost knows. Nothing, with `*error` set, if the file
// cannot be read.
std::optional<std::string> ReadConfigText(const std::string& path, std::string* error);

// "FILE:LINE: option 'NAME': MESSAGE" (the form compilers use).
std::string FormatProblem(const std::string& file, const ConfigProblem& problem);

}  // namespace taskpool::daemon

#include "daemon/config/config_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

namespace taskpool::daemon {

namespace {

std::string Trim(const std::string& text) {
  const size_t begin = text.find_first_not_of(" \t\r");
  if (begin == std::string::npos) return "";
  const size_t end = text.find_last_not_of(" \t\r");
  return text.substr(begin, end - begin + 1);
}

}  // namespace

std::vector<ConfigProblem> CheckConfigLines(
    std::istream& in, const std::function<bool(const std::string&)>& known,
    const std::function<std::string(const std::string&, const std::string&)>& check) {
  std::vector<ConfigProblem> problems;
  std::set<std::string> seen;
  std::string text;
  for (int line = 1; std::getline(in, text); ++line) {
    text = Trim(text);
    if (text.empty() || text[0] == '#' || text[0] == ';') continue;
    if (text[0] == '[') {
      // Boost would turn [s] into an "s." prefix on every later name, which
      // no option has: say so at the section, not at each line after it.
      problems.push_back({line, "", "sections are not supported: '" + text + "'"});
      continue;
    }
    const size_t equals = text.find('=');
    if (equals == std::string::npos) {
      problems.push_back({line, "", "expected `name = value`, got '" + text + "'"});
      continue;
    }
    const std::string name = Trim(text.substr(0, equals));
    const std::string value = Trim(text.substr(equals + 1));
    if (name.empty()) {
      problems.push_back({line, "", "missing option name before '='"});
    } else if (!known(name)) {
      problems.push_back({line, name, "unknown option (see taskpoold --help)"});
    } else if (!seen.insert(name).second) {
      problems.push_back({line, name, "set more than once"});
    } else if (std::string wrong = check(name, value); !wrong.empty()) {
      problems.push_back({line, name, wrong});
    }
  }
  return problems;
}

std::optional<std::string> ReadConfigText(const std::string& path, std::string* error) {
  std::ifstream file(path);
  if (!file) {
    *error = "cannot read config file '" + path + "': " + std::strerror(errno);
    return std::nullopt;
  }
  std::ostringstream normalised;
  std::string text;
  for (bool first = true; std::getline(file, text); first = false) {
    if (first && text.starts_with("\xEF\xBB\xBF")) text.erase(0, 3);
    const size_t begin = text.find_first_not_of(" \t");
    if (begin != std::string::npos && text[begin] == ';') text[begin] = '#';
    normalised << text << "\n";
  }
  return normalised.str();
}

std::string FormatProblem(const std::string& file, const ConfigProblem& problem) {
  std::string out = file + ":" + std::to_string(problem.line) + ": ";
  if (!problem.option.empty()) out += "option '" + problem.option + "': ";
  return out + problem.message;
}

}  // namespace taskpool::daemon

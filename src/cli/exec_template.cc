#include "cli/exec_template.h"

#include <array>
#include <utility>

namespace taskpool::cli {

std::string ShellQuote(std::string_view word) {
  std::string quoted = "'";
  for (char c : word) {
    if (c == '\'') {
      quoted += "'\\''";  // close, an escaped quote, reopen
    } else {
      quoted += c;
    }
  }
  quoted += '\'';
  return quoted;
}

std::string WithoutExtension(std::string_view argument) {
  // parallel's s:\.[^/.]*$:: — a dot, then no '/' or '.' up to the end.
  const size_t dot = argument.rfind('.');
  if (dot == std::string_view::npos) return std::string(argument);
  if (argument.find('/', dot) != std::string_view::npos) return std::string(argument);
  return std::string(argument.substr(0, dot));
}

std::string BaseName(std::string_view argument) {
  // parallel's s:.*/:: — everything after the last '/'.
  const size_t slash = argument.rfind('/');
  return std::string(slash == std::string_view::npos ? argument : argument.substr(slash + 1));
}

std::string DirName(std::string_view argument) {
  // Perl's File::Basename::dirname, which parallel uses, is dirname(1):
  // trailing slashes do not count, "." when there is no directory part.
  while (argument.size() > 1 && argument.back() == '/') argument.remove_suffix(1);
  const size_t slash = argument.rfind('/');
  if (slash == std::string_view::npos) return ".";
  std::string_view directory = argument.substr(0, slash);
  while (directory.size() > 1 && directory.back() == '/') directory.remove_suffix(1);
  return directory.empty() ? "/" : std::string(directory);
}

std::string ExpandTemplate(std::string_view command_template, std::string_view argument,
                           uint64_t sequence) {
  // Longest first, so "{//}" is not read as "{/}" followed by text.
  const std::array<std::pair<std::string_view, std::string>, 6> replacements = {{
      {"{//}", ShellQuote(DirName(argument))},
      {"{/.}", ShellQuote(WithoutExtension(BaseName(argument)))},
      {"{/}", ShellQuote(BaseName(argument))},
      {"{.}", ShellQuote(WithoutExtension(argument))},
      {"{#}", std::to_string(sequence)},
      {"{}", ShellQuote(argument)},
  }};
  std::string command;
  bool replaced = false;
  for (size_t i = 0; i < command_template.size();) {
    bool matched = false;
    if (command_template[i] == '{') {
      for (const auto& [token, value] : replacements) {
        if (command_template.substr(i, token.size()) == token) {
          command += value;
          i += token.size();
          matched = replaced = true;
          break;
        }
      }
    }
    if (!matched) command += command_template[i++];
  }
  if (!replaced) command += " " + ShellQuote(argument);
  return command;
}

}  // namespace taskpool::cli

#include "base/text_file.h"

#include <fstream>

namespace taskpool::base {

std::optional<std::string> ReadTextFile(const std::string& path) {
  std::ifstream file(path);
  if (!file) return std::nullopt;
  std::string text;
  for (std::string line; std::getline(file, line);) text += line + '\n';
  return text;
}

}  // namespace taskpool::base

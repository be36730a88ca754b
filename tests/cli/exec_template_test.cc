// The shell quoting behind `taskpool map --exec`: whatever a file name
// holds, /bin/sh must see exactly that name as one word.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "cli/exec_job.h"

namespace taskpool::cli {
namespace {

// What /bin/sh prints for `printf %s WORDS` (run through popen).
std::string ShellPrints(const std::string& words) {
  const std::string command = "printf '[%s]' " + words;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return "(popen failed)";
  std::string out;
  char buffer[256];
  while (size_t n = fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
  pclose(pipe);
  return out;
}

TEST(ShellQuoteTest, EveryNameReachesTheShellAsOneWord) {
  const std::string names[] = {
      "plain.txt", "with space", "it's", "\"double\"", "$HOME", "`id`", "$(id)",
      "back\\slash", "*.txt", "semi;colon & amp", "new\nline", "'", "''", "-dash", ""};
  for (const std::string& name : names) {
    EXPECT_EQ(ShellPrints(ShellQuote(name)), "[" + name + "]") << name;
  }
}

TEST(ExpandTemplateTest, ReplacesEveryPlaceholderOrAppends) {
  EXPECT_EQ(ExpandTemplate("gzip -9 {}", "a b"), "gzip -9 'a b'");
  EXPECT_EQ(ExpandTemplate("cp {} {}.bak", "x"), "cp 'x' 'x'.bak");
  EXPECT_EQ(ExpandTemplate("wc -l", "it's"), "wc -l 'it'\\''s'");
  EXPECT_EQ(ExpandTemplate("echo {", "x"), "echo { 'x'");
}

}  // namespace
}  // namespace taskpool::cli

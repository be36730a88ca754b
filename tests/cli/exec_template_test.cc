// The templates behind `taskpool map --exec`: GNU parallel's replacement
// strings, and shell quoting so that whatever a file name holds, /bin/sh
// sees exactly that name as one word.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "cli/exec_template.h"

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

TEST(ExpandTemplateTest, ParallelsReplacementStrings) {
  EXPECT_EQ(ExpandTemplate("{} {.} {/} {//} {/.} {#}", "dir/sub/file.tar.gz", 7),
            "'dir/sub/file.tar.gz' 'dir/sub/file.tar' 'file.tar.gz' 'dir/sub' 'file.tar' 7");
  EXPECT_EQ(ExpandTemplate("{//}/{/.}.png", "a.jpg", 1), "'.'/'a'.png");
  // {#} alone counts as a replacement string: nothing is appended.
  EXPECT_EQ(ExpandTemplate("echo job {#}", "x", 3), "echo job 3");
  // Braces that are no replacement string stay.
  EXPECT_EQ(ExpandTemplate("echo {x} {}", "a", 1), "echo {x} 'a'");
}

TEST(ExpandTemplateTest, PartsOfAnArgumentAsParallelComputesThem) {
  struct Case {
    const char* argument;
    const char* without_extension;
    const char* base;
    const char* directory;
  };
  const Case cases[] = {
      {"dir/sub/file.tar.gz", "dir/sub/file.tar", "file.tar.gz", "dir/sub"},
      {"file", "file", "file", "."},
      {"a.b/c", "a.b/c", "c", "a.b"},
      {".bashrc", "", ".bashrc", "."},
      {"/abs/x.txt", "/abs/x", "x.txt", "/abs"},
      {"/top", "/top", "top", "/"},
      {"dir/", "dir/", "", "."},
      {"trailing.", "trailing", "trailing.", "."},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(WithoutExtension(c.argument), c.without_extension) << c.argument;
    EXPECT_EQ(BaseName(c.argument), c.base) << c.argument;
    EXPECT_EQ(DirName(c.argument), c.directory) << c.argument;
  }
}

}  // namespace
}  // namespace taskpool::cli

// GNU parallel's replacement strings for `taskpool map --exec TEMPLATE`:
// what the shell command of one job is. Pure string work, unit-tested.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace taskpool::cli {

// `word` as one /bin/sh word, whatever it holds (spaces, quotes, $, `,
// newlines): single-quoted, each ' written as '\''.
std::string ShellQuote(std::string_view word);

// The parts of an argument the replacement strings name, as parallel
// computes them for "dir/sub/file.tar.gz":
//   {}    the argument itself           dir/sub/file.tar.gz
//   {.}   without its extension         dir/sub/file.tar
//   {/}   its base name                 file.tar.gz
//   {//}  its directory (dirname(1))    dir/sub
//   {/.}  base name without extension   file.tar
// An extension is a last '.' and what follows it within the last path
// component ("a.b/c" has none; ".bashrc" is all extension, as in parallel).
std::string WithoutExtension(std::string_view argument);
std::string BaseName(std::string_view argument);
std::string DirName(std::string_view argument);

// `command_template` with each replacement string above replaced by the
// shell-quoted part of `argument`, and {#} by `sequence` (the job's number,
// from 1). A template with none of them gets " {}" appended, as in
// parallel. Anything else in braces is left alone.
std::string ExpandTemplate(std::string_view command_template, std::string_view argument,
                           uint64_t sequence = 1);

}  // namespace taskpool::cli

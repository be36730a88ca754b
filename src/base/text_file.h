// Reading a small text file whole, such as one under /proc.
//
// Line by line with getline, never a streambuf copy or iterator: a
// process that exits while its /proc file is read makes read() fail with
// ESRCH, which libstdc++'s filebuf can throw as ios_failure (the
// supervisor once died of it); here it is a short or missing text.
#pragma once

#include <optional>
#include <string>

namespace taskpool::base {

// The file's text, each line ending in '\n'; nullopt if it cannot be
// opened (errno says why).
std::optional<std::string> ReadTextFile(const std::string& path);

}  // namespace taskpool::base

// What `ps` shows for a process: its command line, rewritten in place as
// nginx and PostgreSQL do ("taskpoold: supervisor /run/taskpool/taskpoold.sock",
// "taskpoold: worker 3 (busy is_prime)").
//
// The kernel reads /proc/PID/cmdline from the memory that held argv and,
// after it, the environment strings. InitProcessTitle moves the
// environment elsewhere so that whole area can hold the title; a title
// longer than the area is cut. Setting a title is a memcpy into that
// area (no system call), cheap enough for a worker to do around each task.
//
// Thread-safety: none; call from the main thread. A forked child inherits
// the area and may set its own title.
#pragma once

#include <string_view>

namespace taskpool::daemon {

// Takes over argv's memory. After it, argv[1..] no longer hold the
// arguments: copy what you need first.
// REQUIRES: called once, from main(), before any other thread starts.
void InitProcessTitle(int argc, char** argv);

// Shows `title` as the whole command line. Does nothing before
// InitProcessTitle.
void SetProcessTitle(std::string_view title);

}  // namespace taskpool::daemon

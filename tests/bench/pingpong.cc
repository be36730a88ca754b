// The physical reference for round-trip latency: two processes bouncing a
// message of `size` bytes over a Unix stream socket pair with blocking
// read/write, nothing else. A task round trip through taskpoold needs at
// least two such hops (client -> supervisor -> worker and back), so this is
// the floor the daemon's latency is compared with.
//
//   bench_pingpong size=1 count=2000  ->  {"workload": "pingpong", ...}
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "tests/bench/stats.h"

namespace {

// Loops over short reads/writes: a 64 KiB message does not fit one
// socket-buffer transfer.
bool ReadFull(int fd, char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = read(fd, data, size);
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

bool WriteFull(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = write(fd, data, size);
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  using taskpool::bench::Args;
  const Args args(argc, argv, 1);
  const size_t size = static_cast<size_t>(args.GetInt("size", 1));
  const int count = static_cast<int>(args.GetInt("count", 2000));
  const int warmup = count / 10 + 1;

  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    std::perror("socketpair");
    return 1;
  }
  std::string buffer(size, 'x');
  const pid_t child = fork();
  if (child == 0) {  // the echo side
    close(fds[0]);
    while (ReadFull(fds[1], buffer.data(), size) &&
           WriteFull(fds[1], buffer.data(), size)) {
    }
    _exit(0);
  }
  close(fds[1]);
  std::vector<double> latencies_us;
  latencies_us.reserve(static_cast<size_t>(count));
  for (int i = 0; i < warmup + count; ++i) {
    const int64_t start = taskpool::bench::NowNanos();
    if (!WriteFull(fds[0], buffer.data(), size) ||
        !ReadFull(fds[0], buffer.data(), size)) {
      std::perror("ping-pong");
      return 1;
    }
    if (i >= warmup) {
      latencies_us.push_back((taskpool::bench::NowNanos() - start) / 1e3);
    }
  }
  close(fds[0]);
  waitpid(child, nullptr, 0);
  // Both sides' context switches per round trip (the child's over its
  // whole life, which is these round trips), the floor for a task's.
  rusage self{}, children{};
  getrusage(RUSAGE_SELF, &self);
  getrusage(RUSAGE_CHILDREN, &children);
  const double switches = static_cast<double>(self.ru_nvcsw + self.ru_nivcsw +
                                              children.ru_nvcsw + children.ru_nivcsw);
  taskpool::bench::JsonLine("pingpong")
      .Add("size", static_cast<double>(size))
      .Add("switches_per_round_trip", switches / (warmup + count))
      .AddPercentiles(latencies_us)
      .Print();
  return 0;
}

// What the shmq tests look for in /dev/shm.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace taskpool::shmq {

// The names in /dev/shm that start with `prefix`.
inline std::vector<std::string> ShmObjectsStartingWith(const std::string& prefix) {
  std::vector<std::string> found;
  for (const auto& entry : std::filesystem::directory_iterator("/dev/shm")) {
    const std::string file = entry.path().filename().string();
    if (file.starts_with(prefix)) found.push_back(file);
  }
  return found;
}

}  // namespace taskpool::shmq

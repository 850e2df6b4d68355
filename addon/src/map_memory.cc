#include "map_memory.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace sockscope {

std::optional<uint64_t> MapMemlockBytes(int map_fd) {
  std::string path = "/proc/self/fdinfo/" + std::to_string(map_fd);
  FILE* file = fopen(path.c_str(), "re");
  if (file == nullptr) return std::nullopt;
  std::optional<uint64_t> bytes;
  char line[256];
  while (fgets(line, sizeof(line), file) != nullptr) {
    if (strncmp(line, "memlock:", 8) == 0) {
      bytes = strtoull(line + 8, nullptr, 10);
      break;
    }
  }
  fclose(file);
  return bytes;
}

}  // namespace sockscope

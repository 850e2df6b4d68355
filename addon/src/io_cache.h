// The tracepoint programs' socket I/O cache (ebpf/io.bpf.c): two halves of
// per-CPU slots in one mmapped array. The addon flips the half the programs
// add to, waits for the programs still using the old one (the map swap that
// follows does), then reads and zeroes it.
#pragma once
#include <linux/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sockscope.h"

namespace sockscope {

class IoCache {
 public:
  // Maps the cache array (2 * cpus * slots_per_cpu entries). half is the
  // programs' io_cache_half word in the mmapped .bss. Null with error set if
  // the mmap fails.
  static std::unique_ptr<IoCache> Map(int map_fd, __u32* half, size_t cpus, size_t slots_per_cpu,
                                      std::string& error);
  ~IoCache();
  IoCache(const IoCache&) = delete;
  IoCache& operator=(const IoCache&) = delete;

  // Points the programs at the other half. Its data stays until ReadIdle().
  void Flip();
  // Appends the used slots of the half the programs no longer add to, then
  // zeroes it. Only after every program that read the old half has finished.
  // Returns the calls read.
  uint64_t ReadIdle(std::vector<ss_io_value>& out);

 private:
  IoCache(ss_io_slot* slots, size_t bytes, __u32* half, size_t half_slots)
      : slots_(slots), bytes_(bytes), half_(half), half_slots_(half_slots) {}

  ss_io_slot* slots_;
  size_t bytes_;
  __u32* half_;
  size_t half_slots_;
};

}  // namespace sockscope

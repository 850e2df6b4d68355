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
  // Maps the cache array (2 * cpus * slots_per_cpu entries) and its used
  // words (io_cache_used: 2 * cpus). half is the programs' io_cache_half word
  // in the mmapped .bss. Null with error set if an mmap fails.
  static std::unique_ptr<IoCache> Map(int map_fd, int used_fd, __u32* half, size_t cpus,
                                      size_t slots_per_cpu, std::string& error);
  ~IoCache();
  IoCache(const IoCache&) = delete;
  IoCache& operator=(const IoCache&) = delete;

  // Points the programs at the other half. Its data stays until ReadIdle().
  void Flip();
  // Appends the used slots of the half the programs no longer add to, then
  // zeroes them. Only after every program that read the old half has finished.
  // Reads only the sections of CPUs that filled a slot. Returns the calls read.
  uint64_t ReadIdle(std::vector<ss_io_value>& out);

 private:
  IoCache(ss_io_slot* slots, size_t bytes, __u64* used, size_t used_bytes, __u32* half, size_t cpus,
          size_t slots_per_cpu)
      : slots_(slots),
        bytes_(bytes),
        used_(used),
        used_bytes_(used_bytes),
        half_(half),
        cpus_(cpus),
        slots_per_cpu_(slots_per_cpu) {}

  ss_io_slot* slots_;
  size_t bytes_;
  __u64* used_;  // [half][cpu]: non-zero once a slot of that section was filled
  size_t used_bytes_;
  __u32* half_;
  size_t cpus_;
  size_t slots_per_cpu_;
};

}  // namespace sockscope

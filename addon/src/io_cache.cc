#include "io_cache.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>

namespace sockscope {

// The kernel lays array elements out round_up(value_size, 8) apart.
static_assert(sizeof(ss_io_slot) % 8 == 0, "slot stride must equal its size");

std::unique_ptr<IoCache> IoCache::Map(int map_fd, __u32* half, size_t cpus, size_t slots_per_cpu,
                                      std::string& error) {
  size_t half_slots = cpus * slots_per_cpu;
  size_t bytes = 2 * half_slots * sizeof(ss_io_slot);
  void* mem = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
  if (mem == MAP_FAILED) {
    error = std::string("mapping the socket I/O cache: ") + strerror(errno);
    return nullptr;
  }
  return std::unique_ptr<IoCache>(new IoCache(static_cast<ss_io_slot*>(mem), bytes, half, half_slots));
}

IoCache::~IoCache() { munmap(slots_, bytes_); }

void IoCache::Flip() { __atomic_store_n(half_, (*half_ & 1) ^ 1, __ATOMIC_SEQ_CST); }

uint64_t IoCache::ReadIdle(std::vector<ss_io_value>& out) {
  ss_io_slot* idle = slots_ + ((__atomic_load_n(half_, __ATOMIC_SEQ_CST) & 1) ^ 1) * half_slots_;
  uint64_t calls = 0;
  for (size_t i = 0; i < half_slots_; i++) {
    const ss_io_value& v = idle[i].value;
    if (v.flow.family == 0) continue;  // never used: already zero
    calls += v.counts.tx_calls + v.counts.rx_calls;
    out.push_back(v);
    memset(&idle[i], 0, sizeof(ss_io_slot));
  }
  return calls;
}

}  // namespace sockscope

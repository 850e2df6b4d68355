#include "io_cache.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>

namespace sockscope {

// The kernel lays array elements out round_up(value_size, 8) apart.
static_assert(sizeof(ss_io_slot) % 8 == 0, "slot stride must equal its size");

static void* MapArray(int fd, size_t bytes, const char* what, std::string& error) {
  void* mem = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (mem == MAP_FAILED) {
    error = std::string("mapping the ") + what + ": " + strerror(errno);
    return nullptr;
  }
  return mem;
}

std::unique_ptr<IoCache> IoCache::Map(int map_fd, int used_fd, __u32* half, size_t cpus,
                                      size_t slots_per_cpu, std::string& error) {
  size_t bytes = 2 * cpus * slots_per_cpu * sizeof(ss_io_slot);
  size_t used_bytes = 2 * cpus * sizeof(__u64);
  void* slots = MapArray(map_fd, bytes, "socket I/O cache", error);
  if (slots == nullptr) return nullptr;
  void* used = MapArray(used_fd, used_bytes, "socket I/O cache's used words", error);
  if (used == nullptr) {
    munmap(slots, bytes);
    return nullptr;
  }
  return std::unique_ptr<IoCache>(new IoCache(static_cast<ss_io_slot*>(slots), bytes,
                                              static_cast<__u64*>(used), used_bytes, half, cpus,
                                              slots_per_cpu));
}

IoCache::~IoCache() {
  munmap(slots_, bytes_);
  munmap(used_, used_bytes_);
}

void IoCache::Flip() { __atomic_store_n(half_, (*half_ & 1) ^ 1, __ATOMIC_SEQ_CST); }

uint64_t IoCache::ReadIdle(std::vector<ss_io_value>& out) {
  size_t idle = (__atomic_load_n(half_, __ATOMIC_SEQ_CST) & 1) ^ 1;
  uint64_t calls = 0;
  for (size_t cpu = 0; cpu < cpus_; cpu++) {
    __u64& used = used_[idle * cpus_ + cpu];
    if (used == 0) continue;  // no slot of this CPU was filled: all still zero
    ss_io_slot* section = slots_ + (idle * cpus_ + cpu) * slots_per_cpu_;
    for (size_t i = 0; i < slots_per_cpu_; i++) {
      const ss_io_value& v = section[i].value;
      if (v.flow.family == 0) continue;  // never used: already zero
      calls += v.counts.tx_calls + v.counts.rx_calls;
      out.push_back(v);
      memset(&section[i], 0, sizeof(ss_io_slot));
    }
    used = 0;
  }
  return calls;
}

}  // namespace sockscope

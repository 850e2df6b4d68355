// Reads the kernel's socket I/O sums (ebpf/io.bpf.c) into a FlowTable.
#pragma once
#include <linux/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "io_cache.h"
#include "sockscope.h"

namespace sockscope {

// The kernel adds to one of two hash maps shared by all CPUs (one value per
// socket and process, read once, not once per CPU), whichever the one-slot
// array-of-maps points at. Drain() points it at the other map, then reads and
// deletes everything in the map it swapped out. The slot update returns only
// after every BPF program that may still be using the old map has finished
// (the kernel runs synchronize_rcu() for map-in-map updates, and these
// programs run under RCU), so the swapped-out map is quiescent while it is
// read: no call is lost or counted twice. That wait (milliseconds) and the
// batch read's walk over every hash bucket are why this runs once a second
// and at collections, not at every ring-buffer drain. The tracepoint
// programs' cache (IoCache), when there is one, is flipped just before the
// swap, so the same wait makes its idle half quiescent too. Thread-safe.
class FlowMapDrainer {
 public:
  FlowMapDrainer(int live_slot_fd, int map_a_fd, int map_b_fd, uint32_t max_entries,
                 std::unique_ptr<IoCache> cache);
  FlowMapDrainer(const FlowMapDrainer&) = delete;
  FlowMapDrainer& operator=(const FlowMapDrainer&) = delete;

  // Points the programs at map A. Call once, after load and before attach.
  std::string Activate();

  // Swaps the maps and appends the swapped-out one's values (and the idle
  // cache half's used slots) to out. Returns the calls read. On an error the entries left behind
  // stay in their map and are read after the next swap, so nothing is lost.
  uint64_t Drain(std::vector<ss_io_value>& out);

  // Time since the last Drain().
  std::chrono::steady_clock::duration SinceLastDrain() const;
  uint64_t errors() const;

 private:
  int Swap();
  // Reads and deletes every entry of an idle map. Returns the calls read.
  uint64_t ReadAndDelete(int map_fd, std::vector<ss_io_value>& out);

  mutable std::mutex mutex_;  // one swap and read at a time
  int slot_fd_;
  std::unique_ptr<IoCache> cache_;  // null when the loader sized none
  int map_fd_[2];
  int live_ = 0;  // index into map_fd_ of the map the programs add to
  size_t batch_;
  std::vector<ss_io_key> keys_;
  std::vector<ss_io_value> values_;  // batch_ entries
  uint64_t errors_ = 0;
  std::chrono::steady_clock::time_point last_drain_ = std::chrono::steady_clock::now();
};

}  // namespace sockscope

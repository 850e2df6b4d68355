// The native drain thread: every interval it consumes the ring buffer of
// connection events; once a second it also reads the kernel's socket I/O sums
// (FlowMapDrainer) into a FlowTable, as does every Take().
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "flow_map_drainer.h"
#include "flow_table.h"

struct ring_buffer;

namespace sockscope {

class KernelDrainer {
 public:
  KernelDrainer(int ringbuf_map_fd, std::unique_ptr<FlowMapDrainer> flow_maps, size_t max_flows,
              size_t max_conn_events);
  ~KernelDrainer();
  KernelDrainer(const KernelDrainer&) = delete;
  KernelDrainer& operator=(const KernelDrainer&) = delete;

  // Starts the thread. It wakes every interval_ms, or earlier when the BPF
  // side forces a wake-up because the ring is filling. Returns "" or an error.
  std::string Start(int interval_ms);
  // Stops the thread after one last drain.
  void Stop();

  // Drains the kernel now, then hands out everything aggregated.
  std::vector<FlowRecord> Take();
  // Connection events (state changes, retransmits) since the last call, in order.
  std::vector<ss_conn_event> TakeConnEvents();

  uint64_t events_received() const;
  uint64_t wakeups() const { return wakeups_.load(); }
  uint64_t flow_table_dropped() const;
  uint64_t conn_events_dropped() const;
  uint64_t io_spilled() const;
  uint64_t flow_map_errors() const;
  // Ring records of no known type, or shorter than their type's struct: skipped.
  uint64_t malformed_records() const;

 private:
  static int OnSample(void* ctx, void* data, size_t size);
  void Run(int interval_ms);
  // Swaps and reads the flow maps without holding mutex_ (the swap waits for
  // an RCU grace period; the ring must not wait for it), then adds to table_.
  void DrainFlowMaps();
  void ConsumeRingLocked();

  ring_buffer* ring_ = nullptr;
  std::unique_ptr<FlowMapDrainer> flow_maps_;
  int stop_fd_ = -1;
  int epoll_fd_ = -1;
  std::thread thread_;
  mutable std::mutex mutex_;  // guards table_, the counters and ring_ consumption
  FlowTable table_;
  // Connection events are few (per connection, not per call): they go to
  // TypeScript one by one, up to a bound between two drains.
  std::vector<ss_conn_event> conn_events_;
  size_t max_conn_events_;
  uint64_t conn_events_dropped_ = 0;
  // Ring records plus socket calls read from the kernel's sums; guarded by mutex_.
  uint64_t events_received_ = 0;
  std::atomic<uint64_t> wakeups_{0};
  uint64_t malformed_ = 0;
  // Calls the socket I/O map could not take, received as ring records instead.
  uint64_t io_spilled_ = 0;
};

}  // namespace sockscope

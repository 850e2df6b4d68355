// The native drain threads. One consumes the ring buffer of connection events
// every interval (or when the kernel wakes it); it never waits for a map swap.
// The other serves JavaScript's Request()s: it swaps and reads the kernel's
// socket I/O sums (FlowMapDrainer, an RCU grace period and a batch read) into a
// FlowTable, consumes the ring, and tells JavaScript through the Served
// callback; when nobody asked for a second, it reads the sums anyway.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
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

  // Runs on the drain thread after it served requests: everything requested up to
  // these tickets (see Request) is in the table and the event buffer.
  using Served = std::function<void(uint64_t ring_ticket, uint64_t maps_ticket)>;

  // Starts the thread. It wakes every interval_ms, or earlier when the BPF
  // side forces a wake-up because the ring is filling, or on Request().
  // Returns "" or an error.
  std::string Start(int interval_ms, Served served);
  // Stops the thread after one last drain of the ring and the maps.
  void Stop();

  // Asks the thread to consume the ring now, and with maps to swap and read the
  // socket I/O maps too. Returns at once with a ticket; Served reports it once a
  // drain that began after this call is done. Requests made before the thread
  // starts a drain share it.
  uint64_t Request(bool maps);
  // Tests: while held, the thread serves no request (it still consumes the ring).
  void Hold(bool hold);

  // Everything aggregated so far; no kernel access.
  std::vector<FlowRecord> TakeRecords();
  // Connection events (state changes, retransmits) consumed so far, in order; no kernel access.
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
  // The ring thread's loop.
  void ConsumeRing(int interval_ms);
  // The request thread's loop: drains for the requests made so far, unless held, then reports them.
  void ServeRequests(Served served);
  // Swaps and reads the flow maps without holding mutex_ (the swap waits for
  // an RCU grace period; the ring must not wait for it), then adds to table_.
  void DrainFlowMaps();
  void ConsumeRingLocked();

  ring_buffer* ring_ = nullptr;
  std::unique_ptr<FlowMapDrainer> flow_maps_;
  int stop_fd_ = -1;
  int epoll_fd_ = -1;
  std::thread ring_thread_;
  std::thread request_thread_;
  // Tickets handed out and served, of ring-only and of map requests; guarded by request_mutex_.
  std::mutex request_mutex_;
  std::condition_variable request_cv_;
  uint64_t ring_requested_ = 0;
  uint64_t maps_requested_ = 0;
  uint64_t ring_served_ = 0;
  uint64_t maps_served_ = 0;
  bool held_ = false;
  bool stopping_ = false;
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

#include "kernel_drainer.h"

#include <bpf/libbpf.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <utility>

namespace sockscope {

namespace {
constexpr std::chrono::seconds kFlowMapPeriod{1};
}  // namespace

KernelDrainer::KernelDrainer(int ringbuf_map_fd, std::unique_ptr<FlowMapDrainer> flow_maps,
                         size_t max_flows, size_t max_conn_events)
    : flow_maps_(std::move(flow_maps)), table_(max_flows), max_conn_events_(max_conn_events) {
  ring_ = ring_buffer__new(ringbuf_map_fd, &KernelDrainer::OnSample, this, nullptr);
}

KernelDrainer::~KernelDrainer() {
  Stop();
  if (ring_ != nullptr) ring_buffer__free(ring_);
}

std::string KernelDrainer::Start(int interval_ms, Served served) {
  if (ring_ == nullptr) return std::string("ring_buffer__new failed: ") + strerror(errno);
  if (ring_thread_.joinable()) return "drain thread already running";
  stop_fd_ = eventfd(0, EFD_CLOEXEC);
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (stop_fd_ < 0 || epoll_fd_ < 0) return std::string("eventfd/epoll: ") + strerror(errno);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = stop_fd_;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, stop_fd_, &ev);
  // libbpf's own epoll fd is itself pollable: it becomes readable when the
  // kernel wakes the ring (only on fill level, see maps.bpf.h).
  ev.data.fd = ring_buffer__epoll_fd(ring_);
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, ev.data.fd, &ev);
  ring_thread_ = std::thread(&KernelDrainer::ConsumeRing, this, interval_ms);
  request_thread_ = std::thread(&KernelDrainer::ServeRequests, this, std::move(served));
  return "";
}

uint64_t KernelDrainer::Request(bool maps) {
  uint64_t ticket;
  {
    std::lock_guard<std::mutex> lock(request_mutex_);
    ticket = ++(maps ? maps_requested_ : ring_requested_);
  }
  request_cv_.notify_one();
  return ticket;
}

void KernelDrainer::Hold(bool hold) {
  {
    std::lock_guard<std::mutex> lock(request_mutex_);
    held_ = hold;
  }
  request_cv_.notify_one();  // requests made meanwhile
}

void KernelDrainer::Stop() {
  bool running = ring_thread_.joinable();
  if (running) {
    {
      std::lock_guard<std::mutex> lock(request_mutex_);
      stopping_ = true;
    }
    request_cv_.notify_one();
    uint64_t one = 1;
    ssize_t ignored = write(stop_fd_, &one, sizeof(one));
    (void)ignored;
    ring_thread_.join();
    request_thread_.join();
  }
  for (int* fd : {&epoll_fd_, &stop_fd_}) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
  }
  if (!running) return;
  // The last drain, on the caller's thread: whoever still waits is answered by the caller.
  if (flow_maps_) DrainFlowMaps();
  std::lock_guard<std::mutex> lock(mutex_);
  ConsumeRingLocked();
}

void KernelDrainer::ConsumeRing(int interval_ms) {
  epoll_event events[2];
  for (;;) {
    int n = epoll_wait(epoll_fd_, events, 2, interval_ms);
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < n; i++) {
      if (events[i].data.fd == stop_fd_) return;
    }
    wakeups_.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard<std::mutex> lock(mutex_);
    ConsumeRingLocked();
  }
}

void KernelDrainer::ServeRequests(Served served) {
  std::unique_lock<std::mutex> lock(request_mutex_);
  for (;;) {
    auto pending = [&] {
      return !held_ && (ring_requested_ != ring_served_ || maps_requested_ != maps_served_);
    };
    // TypeScript drains once a second; the timeout is the backstop when it does not.
    request_cv_.wait_for(lock, kFlowMapPeriod, [&] { return stopping_ || pending(); });
    if (stopping_) return;
    if (!pending()) {
      if (flow_maps_ && flow_maps_->SinceLastDrain() >= kFlowMapPeriod) {
        lock.unlock();
        DrainFlowMaps();
        lock.lock();
      }
      continue;
    }
    // Every ticket read here was handed out before the swap below begins.
    uint64_t ring = ring_requested_;
    uint64_t maps = maps_requested_;
    lock.unlock();
    if (maps != maps_served_ && flow_maps_) DrainFlowMaps();
    {
      // After the swap: calls that spilled to the ring before the request are in it by now.
      std::lock_guard<std::mutex> table_lock(mutex_);
      ConsumeRingLocked();
    }
    served(ring, maps);
    lock.lock();
    ring_served_ = ring;
    maps_served_ = maps;
  }
}

void KernelDrainer::DrainFlowMaps() {
  std::vector<ss_io_value> values;
  uint64_t calls = flow_maps_->Drain(values);
  std::lock_guard<std::mutex> lock(mutex_);
  for (const ss_io_value& v : values) table_.Add(v.flow, v.counts);
  events_received_ += calls;
}

void KernelDrainer::ConsumeRingLocked() {
  if (ring_ != nullptr) ring_buffer__consume(ring_);
}

int KernelDrainer::OnSample(void* ctx, void* data, size_t size) {
  auto* self = static_cast<KernelDrainer*>(ctx);
  self->events_received_++;
  const __u8 type = size > 0 ? *static_cast<const __u8*>(data) : 0;
  if (type == SS_EVENT_IO_SPILL && size >= sizeof(ss_io_spill)) {
    const auto* spill = static_cast<const ss_io_spill*>(data);
    self->table_.Add(spill->value.flow, spill->value.counts);
    // One call, or an evicted cache slot's several.
    self->io_spilled_ += spill->value.counts.tx_calls + spill->value.counts.rx_calls;
  } else if ((type == SS_EVENT_STATE || type == SS_EVENT_RETRANSMIT) && size >= sizeof(ss_conn_event)) {
    if (self->conn_events_.size() < self->max_conn_events_) {
      self->conn_events_.push_back(*static_cast<const ss_conn_event*>(data));
    } else {
      self->conn_events_dropped_++;
    }
  } else {
    self->malformed_++;
  }
  return 0;
}

std::vector<FlowRecord> KernelDrainer::TakeRecords() {
  std::lock_guard<std::mutex> lock(mutex_);
  return table_.TakeRecords();
}

uint64_t KernelDrainer::events_received() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return events_received_;
}

std::vector<ss_conn_event> KernelDrainer::TakeConnEvents() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<ss_conn_event> out;
  out.swap(conn_events_);
  return out;
}

uint64_t KernelDrainer::conn_events_dropped() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return conn_events_dropped_;
}

uint64_t KernelDrainer::io_spilled() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return io_spilled_;
}

uint64_t KernelDrainer::malformed_records() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return malformed_;
}

uint64_t KernelDrainer::flow_map_errors() const { return flow_maps_ ? flow_maps_->errors() : 0; }

uint64_t KernelDrainer::flow_table_dropped() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return table_.dropped_events();
}

}  // namespace sockscope

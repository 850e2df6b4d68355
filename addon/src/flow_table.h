// Per-flow aggregation of I/O events: the only per-event work in user space.
#pragma once
#include <linux/types.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <unordered_map>
#include <vector>

#include "sockscope.h"

namespace sockscope {

// One flow's totals as handed to JavaScript; the layout is published to
// TypeScript through RecordLayout() so the decoder never hard-codes offsets.
struct FlowRecord {
  ss_flow_key key;
  __u64 tx_bytes;
  __u64 rx_bytes;
  __u64 tx_messages;
  __u64 rx_messages;
  __u32 srtt_us;  // last TCP smoothed RTT seen on this flow, 0 if none
  __u32 _pad;
};

struct FlowKeyHash {
  size_t operator()(const ss_flow_key& key) const noexcept;
};

struct FlowKeyEqual {
  bool operator()(const ss_flow_key& a, const ss_flow_key& b) const noexcept {
    return std::memcmp(&a, &b, sizeof(a)) == 0;
  }
};

class FlowTable {
 public:
  explicit FlowTable(size_t max_flows) : max_flows_(max_flows) {}

  // Adds one event. When the table is full, traffic of a new flow is folded
  // into nothing and counted, so memory stays bounded.
  void Add(const ss_io_event& event);

  // Moves all records out (the table is left empty).
  std::vector<FlowRecord> TakeRecords();

  size_t size() const { return flows_.size(); }
  uint64_t dropped_events() const { return dropped_events_; }

 private:
  struct Counters {
    __u64 tx_bytes = 0;
    __u64 rx_bytes = 0;
    __u64 tx_messages = 0;
    __u64 rx_messages = 0;
    __u32 srtt_us = 0;
  };
  using Map = std::unordered_map<ss_flow_key, Counters, FlowKeyHash, FlowKeyEqual>;

  size_t max_flows_;
  Map flows_;
  // Bulk transfers hit the same flow back to back: skip the hash then.
  Counters* last_counters_ = nullptr;
  ss_flow_key last_key_{};
  uint64_t dropped_events_ = 0;
};

}  // namespace sockscope

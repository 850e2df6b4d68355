// Per-flow totals between two hand-overs to JavaScript, folded from the
// kernel's per-socket, per-CPU sums (FlowMapDrainer).
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

  // Adds one socket's counts on one CPU. When the table is full, the calls of
  // a new flow are dropped and counted, so memory stays bounded.
  void Add(const ss_flow_key& key, const ss_io_counts& counts);

  // Moves all records out (the table is left empty).
  std::vector<FlowRecord> TakeRecords();

  size_t size() const { return flows_.size(); }
  // Calls whose flow found the table full.
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
  uint64_t dropped_events_ = 0;
};

}  // namespace sockscope

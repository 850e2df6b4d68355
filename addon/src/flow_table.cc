#include "flow_table.h"

namespace sockscope {

size_t FlowKeyHash::operator()(const ss_flow_key& key) const noexcept {
  // The key is a multiple of 8 bytes with zeroed padding: mix it word by word.
  static_assert(sizeof(ss_flow_key) % sizeof(uint64_t) == 0, "key must be word-sized");
  uint64_t words[sizeof(ss_flow_key) / sizeof(uint64_t)];
  std::memcpy(words, &key, sizeof(words));
  uint64_t h = 0x9e3779b97f4a7c15ULL;
  for (uint64_t w : words) {
    h ^= w + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return static_cast<size_t>(h);
}

void FlowTable::Add(const ss_flow_key& key, const ss_io_counts& counts) {
  auto it = flows_.find(key);
  if (it == flows_.end()) {
    if (flows_.size() >= max_flows_) {
      dropped_events_ += counts.tx_calls + counts.rx_calls;
      return;
    }
    it = flows_.emplace(key, Counters{}).first;
  }
  Counters& c = it->second;
  // Any CPU's last RTT will do: the CPUs' values carry no order between them.
  if (counts.srtt_us != 0) c.srtt_us = counts.srtt_us;
  c.tx_bytes += counts.tx_bytes;
  c.rx_bytes += counts.rx_bytes;
  c.tx_messages += counts.tx_calls;
  c.rx_messages += counts.rx_calls;
}

std::vector<FlowRecord> FlowTable::TakeRecords() {
  std::vector<FlowRecord> records;
  records.reserve(flows_.size());
  for (const auto& [key, c] : flows_) {
    records.push_back(FlowRecord{key, c.tx_bytes, c.rx_bytes, c.tx_messages, c.rx_messages, c.srtt_us, 0});
  }
  flows_.clear();
  return records;
}

}  // namespace sockscope

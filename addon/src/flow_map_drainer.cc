#include "flow_map_drainer.h"

#include <bpf/bpf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

namespace sockscope {

FlowMapDrainer::FlowMapDrainer(int live_slot_fd, int map_a_fd, int map_b_fd, uint32_t max_entries,
                               std::unique_ptr<IoCache> cache)
    : slot_fd_(live_slot_fd), cache_(std::move(cache)), map_fd_{map_a_fd, map_b_fd} {
  batch_ = std::clamp<size_t>(max_entries, 1, 1024);
}

std::string FlowMapDrainer::Activate() {
  std::lock_guard<std::mutex> lock(mutex_);
  __u32 zero = 0;
  live_ = 0;
  if (bpf_map_update_elem(slot_fd_, &zero, &map_fd_[live_], BPF_ANY) != 0) {
    return std::string("activating the socket I/O map: ") + strerror(errno);
  }
  return "";
}

int FlowMapDrainer::Swap() {
  __u32 zero = 0;
  int next = 1 - live_;
  if (bpf_map_update_elem(slot_fd_, &zero, &map_fd_[next], BPF_ANY) != 0) return -errno;
  live_ = next;
  return 0;
}

uint64_t FlowMapDrainer::Drain(std::vector<ss_io_value>& out) {
  std::lock_guard<std::mutex> lock(mutex_);
  last_drain_ = std::chrono::steady_clock::now();
  if (cache_) cache_->Flip();
  if (Swap() != 0) {
    // Programs may still add to the old map and cache half: reading them now could race.
    // They are read after a later swap; the half flipped back to keeps its sums meanwhile.
    errors_++;
    return 0;
  }
  uint64_t calls = ReadAndDelete(map_fd_[1 - live_], out);
  if (cache_) calls += cache_->ReadIdle(out);
  return calls;
}

std::chrono::steady_clock::duration FlowMapDrainer::SinceLastDrain() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return std::chrono::steady_clock::now() - last_drain_;
}

uint64_t FlowMapDrainer::errors() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return errors_;
}

uint64_t FlowMapDrainer::ReadAndDelete(int map_fd, std::vector<ss_io_value>& out) {
  uint64_t calls = 0;
  __u32 token = 0;
  void* in = nullptr;
  for (;;) {
    keys_.resize(batch_);
    values_.resize(batch_);
    __u32 count = static_cast<__u32>(batch_);
    int err = bpf_map_lookup_and_delete_batch(map_fd, in, &token, keys_.data(), values_.data(),
                                              &count, nullptr);
    if (err != 0) err = -errno;
    if (err == -ENOSPC && count == 0) {
      // One hash bucket holds more entries than a batch: retry bigger.
      batch_ *= 2;
      continue;
    }
    if (err != 0 && err != -ENOENT) {
      errors_++;
      return calls;
    }
    // One value per entry, whatever the CPU count: the programs insert each whole.
    for (__u32 i = 0; i < count; i++) {
      calls += values_[i].counts.tx_calls + values_[i].counts.rx_calls;
      out.push_back(values_[i]);
    }
    if (err == -ENOENT) return calls;  // read to the end
    in = &token;
  }
}

}  // namespace sockscope

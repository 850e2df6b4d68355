// Kprobes and kretprobes created through tracefs (kprobe_events), not the
// perf kprobe PMU that bpf_program__attach() uses, for two reasons:
//  - a kretprobe needs an instance per call in flight, and the PMU gives it
//    the kernel's default of max(10, 2 x CPUs): with more threads blocked in a
//    receive at once, returns are missed and their bytes lost without a trace
//    (seen with 10 threads on a 2-CPU 5.10 guest). Here it gets kMaxActive.
//  - tracefs counts what a probe missed (kprobe_profile's nmissed), for a
//    kretprobe short of instances and for a kprobe hit while another kprobe
//    handler ran; the PMU's probes show that nowhere BPF can read before 6.7.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

struct bpf_program;
struct bpf_link;

namespace sockscope {

class TracefsKprobe {
 public:
  // The most instances tracefs allows a kretprobe (KRETPROBE_MAXACTIVE_MAX).
  static constexpr int kMaxActive = 4096;

  // Creates the probe on `function` and attaches `prog`. nullptr with `error`
  // set when tracefs is not there or refuses; the caller then attaches as usual.
  static std::unique_ptr<TracefsKprobe> Attach(bpf_program* prog, const std::string& function,
                                               bool retprobe, std::string& error);
  ~TracefsKprobe();
  TracefsKprobe(const TracefsKprobe&) = delete;
  TracefsKprobe& operator=(const TracefsKprobe&) = delete;

  // Hits the probe missed so far (kprobe_profile), 0 if unreadable.
  uint64_t Missed() const;

 private:
  TracefsKprobe(std::string tracefs, std::string event, bpf_link* link)
      : tracefs_(std::move(tracefs)), event_(std::move(event)), link_(link) {}

  std::string tracefs_;
  std::string event_;
  bpf_link* link_;
};

}  // namespace sockscope

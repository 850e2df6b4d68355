#include "tracefs_kprobe.h"

#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace sockscope {
namespace {

constexpr const char* kGroup = "sockscope";
std::atomic<unsigned> next_id{0};

std::string TracefsRoot() {
  for (const char* dir : {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"}) {
    if (access((std::string(dir) + "/kprobe_events").c_str(), W_OK) == 0) return dir;
  }
  return "";
}

// One line appended to kprobe_events; "" or why not.
std::string AppendProbeDefinition(const std::string& tracefs, const std::string& line) {
  int fd = open((tracefs + "/kprobe_events").c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) return std::string("opening kprobe_events: ") + strerror(errno);
  ssize_t n = write(fd, line.data(), line.size());
  int err = errno;
  close(fd);
  if (n != static_cast<ssize_t>(line.size())) return "writing '" + line + "' to kprobe_events: " + strerror(err);
  return "";
}

}  // namespace

std::unique_ptr<TracefsKprobe> TracefsKprobe::Attach(bpf_program* prog, const std::string& function,
                                                     bool retprobe, std::string& error) {
  std::string tracefs = TracefsRoot();
  if (tracefs.empty()) {
    error = "no writable kprobe_events in tracefs";
    return nullptr;
  }
  // Event names are global in kprobe_profile: pid and a counter keep them apart.
  std::string event = "p" + std::to_string(getpid()) + "_" + std::to_string(next_id++) + "_" + function;
  std::string definition = retprobe ? "r" + std::to_string(kMaxActive) : std::string("p");
  definition += ":" + std::string(kGroup) + "/" + event + " " + function;
  error = AppendProbeDefinition(tracefs, definition);
  if (!error.empty()) return nullptr;
  std::unique_ptr<TracefsKprobe> probe(new TracefsKprobe(tracefs, event, nullptr));  // removes the event on error

  std::ifstream id_file(tracefs + "/events/" + kGroup + "/" + event + "/id");
  uint64_t id = 0;
  if (!(id_file >> id)) {
    error = "reading the id of kprobe event " + event;
    return nullptr;
  }
  perf_event_attr attr{};
  attr.size = sizeof(attr);
  attr.type = PERF_TYPE_TRACEPOINT;
  attr.config = id;
  // Any CPU: the program is attached to the probe, which fires on every CPU.
  int pfd = static_cast<int>(syscall(__NR_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC));
  if (pfd < 0) {
    error = std::string("perf_event_open on kprobe event ") + event + ": " + strerror(errno);
    return nullptr;
  }
  probe->link_ = bpf_program__attach_perf_event(prog, pfd);  // the link owns pfd from here
  if (probe->link_ == nullptr) {
    error = std::string("attaching to kprobe event ") + event + ": " + strerror(errno);
    close(pfd);
    return nullptr;
  }
  return probe;
}

TracefsKprobe::~TracefsKprobe() {
  if (link_ != nullptr) bpf_link__destroy(link_);
  AppendProbeDefinition(tracefs_, "-:" + std::string(kGroup) + "/" + event_);
}

uint64_t TracefsKprobe::Missed() const {
  // "  <event>   <hits>   <nmissed>" per probe.
  std::ifstream profile(tracefs_ + "/kprobe_profile");
  std::string line;
  while (std::getline(profile, line)) {
    std::istringstream fields(line);
    std::string name;
    uint64_t hits = 0, missed = 0;
    if (fields >> name >> hits >> missed && name == event_) return missed;
  }
  return 0;
}

}  // namespace sockscope

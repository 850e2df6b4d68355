#include "tracefs_kprobe.h"

#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <vector>

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

// The pid in an event name this file made ("p<pid>_<n>_<function>"), 0 for any other name.
pid_t PidOfEvent(const std::string& event) {
  if (event.size() < 2 || event[0] != 'p') return 0;
  size_t end = event.find('_');
  if (end == std::string::npos || end == 1) return 0;
  pid_t pid = 0;
  for (size_t i = 1; i < end; i++) {
    if (event[i] < '0' || event[i] > '9') return 0;
    pid = pid * 10 + (event[i] - '0');
  }
  return pid;
}

// Probe definitions outlive a process killed before its destructors ran (SIGKILL, OOM): a
// definition is global kernel state, not an fd. Removes those of sockscope processes that
// are gone, once per process. The kernel refuses to remove an event still in use (EBUSY),
// so an instance in another pid namespace, whose pid looks dead here, keeps its probes.
void RemoveDefinitionsOfDeadProcesses(const std::string& tracefs) {
  static std::once_flag swept;
  std::call_once(swept, [&tracefs] {
    std::ifstream events(tracefs + "/kprobe_events");
    std::string line;
    const std::string prefix = std::string(":") + kGroup + "/";
    std::vector<std::string> stale;
    // "p:sockscope/p123_0_tcp_sendmsg tcp_sendmsg" or "r4096:sockscope/p123_1_inet_recvmsg inet_recvmsg"
    while (std::getline(events, line)) {
      size_t at = line.find(prefix);
      if (at == std::string::npos) continue;
      std::string event = line.substr(at + prefix.size(), line.find(' ', at) - at - prefix.size());
      pid_t pid = PidOfEvent(event);
      if (pid > 0 && pid != getpid() && kill(pid, 0) != 0 && errno == ESRCH) stale.push_back(event);
    }
    for (const auto& event : stale) AppendProbeDefinition(tracefs, "-:" + std::string(kGroup) + "/" + event);
  });
}

}  // namespace

std::unique_ptr<TracefsKprobe> TracefsKprobe::Attach(bpf_program* prog, const std::string& function,
                                                     bool retprobe, std::string& error) {
  std::string tracefs = TracefsRoot();
  if (tracefs.empty()) {
    error = "no writable kprobe_events in tracefs";
    return nullptr;
  }
  RemoveDefinitionsOfDeadProcesses(tracefs);
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

// Looks up conntrack entries by their original tuple on a thread of its own, in the network
// namespace where the NAT happened: the thread enters it (setns affects only that thread)
// before it opens its netlink socket, so the JavaScript thread and the rest of the process
// stay where they are. libnetfilter_conntrack does the netlink work.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

struct nfct_handle;

namespace sockscope {

struct ConntrackTuple {
  int family;        // AF_INET or AF_INET6
  uint8_t protocol;  // IPPROTO_TCP or IPPROTO_UDP
  uint8_t src[16];   // network order; IPv4 in the first 4 bytes
  uint8_t dst[16];
  uint16_t sport;    // host order
  uint16_t dport;
};

struct ConntrackAnswer {
  // "backend": the reply's source differs from the original destination (a DNAT);
  // "no_nat": the entry exists and nothing rewrote the destination;
  // else why there is no answer: "not_found", "unavailable", "netns", "error".
  std::string outcome;
  std::string backend;  // the reply direction's source address, for backend and no_nat
};

class ConntrackClient {
 public:
  using Done = std::function<void(std::vector<ConntrackAnswer>)>;

  // netns_path: "" for the daemon's own namespace, else a /proc/<pid>/ns/net or /run/netns/<name>.
  // Returns once the thread has entered it and opened its socket (or failed to).
  explicit ConntrackClient(std::string netns_path);
  ~ConntrackClient();
  ConntrackClient(const ConntrackClient&) = delete;
  ConntrackClient& operator=(const ConntrackClient&) = delete;

  // Queues a batch; `done` runs on the lookup thread with one answer per tuple, in order.
  void Lookup(std::vector<ConntrackTuple> tuples, Done done);
  // Why conntrack cannot be used ("" when it can); thread-safe.
  std::string unavailable_reason() const;
  void Stop();

 private:
  struct Batch {
    std::vector<ConntrackTuple> tuples;
    Done done;
  };
  void Run();
  // Opens the handle in the target namespace, once; sets open_outcome_ on failure.
  void Open();
  ConntrackAnswer Query(const ConntrackTuple& t);

  std::string netns_path_;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Batch> queue_;
  bool stopping_ = false;
  bool opened_ = false;  // under mutex_
  // Touched by the lookup thread only, except the reason (under mutex_).
  nfct_handle* handle_ = nullptr;
  std::string open_outcome_;
  std::string reason_;
};

}  // namespace sockscope

#include "conntrack_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <utility>

namespace sockscope {

namespace {

struct QueryResult {
  const ConntrackTuple* asked;
  bool seen = false;
  bool nat = false;
  std::string backend;
};

int OnEntry(enum nf_conntrack_msg_type, struct nf_conntrack* ct, void* data) {
  auto* r = static_cast<QueryResult*>(data);
  char text[INET6_ADDRSTRLEN] = "";
  if (r->asked->family == AF_INET) {
    uint32_t src = nfct_get_attr_u32(ct, ATTR_REPL_IPV4_SRC);
    inet_ntop(AF_INET, &src, text, sizeof(text));
    r->nat = std::memcmp(&src, r->asked->dst, 4) != 0;
  } else {
    const void* src = nfct_get_attr(ct, ATTR_REPL_IPV6_SRC);
    if (src != nullptr) {
      inet_ntop(AF_INET6, src, text, sizeof(text));
      r->nat = std::memcmp(src, r->asked->dst, 16) != 0;
    }
  }
  r->seen = text[0] != '\0';
  r->backend = text;
  // Continue: stopping here would leave the ACK that follows in the socket, for the next query to read.
  return NFCT_CB_CONTINUE;
}

}  // namespace

ConntrackClient::ConntrackClient(std::string netns_path) : netns_path_(std::move(netns_path)) {
  thread_ = std::thread(&ConntrackClient::Run, this);
  // Entering the namespace and opening the socket need privileges the daemon drops once it
  // has started: wait until the thread has done both.
  std::unique_lock<std::mutex> lock(mutex_);
  cv_.wait(lock, [&] { return opened_; });
}

ConntrackClient::~ConntrackClient() { Stop(); }

void ConntrackClient::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void ConntrackClient::Lookup(std::vector<ConntrackTuple> tuples, Done done) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(Batch{std::move(tuples), std::move(done)});
  }
  cv_.notify_one();
}

std::string ConntrackClient::unavailable_reason() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return reason_;
}

void ConntrackClient::Run() {
  Open();
  for (;;) {
    Batch batch;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      // Batches still queued are answered (as unavailable if need be): a promise must settle.
      if (queue_.empty()) break;
      batch = std::move(queue_.front());
      queue_.pop_front();
    }
    std::vector<ConntrackAnswer> answers;
    answers.reserve(batch.tuples.size());
    for (const ConntrackTuple& t : batch.tuples) {
      answers.push_back(handle_ != nullptr ? Query(t) : ConntrackAnswer{open_outcome_, ""});
    }
    batch.done(std::move(answers));
  }
  if (handle_ != nullptr) nfct_close(handle_);
  handle_ = nullptr;
}

void ConntrackClient::Open() {
  std::string reason;
  if (!netns_path_.empty()) {
    int fd = open(netns_path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) {
      reason = "cannot enter network namespace " + netns_path_ + ": " + strerror(errno);
      open_outcome_ = "netns";
    }
    if (fd >= 0) close(fd);
  }
  if (reason.empty()) {
    // The socket belongs to the namespace it was created in, for as long as it lives.
    handle_ = nfct_open(CONNTRACK, 0);
    if (handle_ == nullptr) {
      reason = std::string("cannot open a conntrack netlink socket (nf_conntrack_netlink not loaded, or no CAP_NET_ADMIN): ") +
               strerror(errno);
      open_outcome_ = "unavailable";
    }
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    reason_ = reason;
    opened_ = true;
  }
  cv_.notify_all();
}

ConntrackAnswer ConntrackClient::Query(const ConntrackTuple& t) {
  std::unique_ptr<nf_conntrack, void (*)(nf_conntrack*)> ct(nfct_new(), nfct_destroy);
  if (!ct) return {"error", ""};
  nfct_set_attr_u8(ct.get(), ATTR_L3PROTO, static_cast<uint8_t>(t.family));
  if (t.family == AF_INET) {
    uint32_t src, dst;
    std::memcpy(&src, t.src, 4);
    std::memcpy(&dst, t.dst, 4);
    nfct_set_attr_u32(ct.get(), ATTR_IPV4_SRC, src);
    nfct_set_attr_u32(ct.get(), ATTR_IPV4_DST, dst);
  } else {
    nfct_set_attr(ct.get(), ATTR_IPV6_SRC, t.src);
    nfct_set_attr(ct.get(), ATTR_IPV6_DST, t.dst);
  }
  nfct_set_attr_u8(ct.get(), ATTR_L4PROTO, t.protocol);
  nfct_set_attr_u16(ct.get(), ATTR_PORT_SRC, htons(t.sport));
  nfct_set_attr_u16(ct.get(), ATTR_PORT_DST, htons(t.dport));

  QueryResult result{&t};
  nfct_callback_register(handle_, NFCT_T_ALL, OnEntry, &result);
  int rc = nfct_query(handle_, NFCT_Q_GET, ct.get());
  nfct_callback_unregister(handle_);
  if (rc != 0) return {errno == ENOENT ? "not_found" : "error", ""};
  if (!result.seen) return {"error", ""};
  return {result.nat ? "backend" : "no_nat", result.backend};
}

}  // namespace sockscope

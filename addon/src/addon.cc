// Module entry: the BpfSession class and the record layout the TypeScript
// decoder reads, so offsets are defined in exactly one place (the C structs).
#include <napi.h>

#include <cstddef>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "bpf_session.h"
#include "capabilities.h"
#include "conntrack_lookup.h"
#include "flow_table.h"
#include "libbpf_log.h"

namespace sockscope {
namespace {

Napi::Object RecordLayout(Napi::Env env) {
  Napi::Object layout = Napi::Object::New(env);
  auto set = [&](const char* name, size_t value) { layout.Set(name, static_cast<double>(value)); };
  set("size", sizeof(FlowRecord));
  set("tgid", offsetof(FlowRecord, key) + offsetof(ss_flow_key, tgid));
  set("family", offsetof(FlowRecord, key) + offsetof(ss_flow_key, family));
  set("protocol", offsetof(FlowRecord, key) + offsetof(ss_flow_key, protocol));
  set("cgroupId", offsetof(FlowRecord, key) + offsetof(ss_flow_key, cgroup_id));
  set("localAddress", offsetof(FlowRecord, key) + offsetof(ss_flow_key, laddr));
  set("remoteAddress", offsetof(FlowRecord, key) + offsetof(ss_flow_key, raddr));
  set("localPort", offsetof(FlowRecord, key) + offsetof(ss_flow_key, lport));
  set("remotePort", offsetof(FlowRecord, key) + offsetof(ss_flow_key, rport));
  set("netns", offsetof(FlowRecord, key) + offsetof(ss_flow_key, netns));
  set("comm", offsetof(FlowRecord, key) + offsetof(ss_flow_key, comm));
  set("threadComm", offsetof(FlowRecord, key) + offsetof(ss_flow_key, thread_comm));
  set("commLength", SS_COMM_LEN);
  set("txBytes", offsetof(FlowRecord, tx_bytes));
  set("rxBytes", offsetof(FlowRecord, rx_bytes));
  set("txMessages", offsetof(FlowRecord, tx_messages));
  set("rxMessages", offsetof(FlowRecord, rx_messages));
  set("srttMicros", offsetof(FlowRecord, srtt_us));
  return layout;
}

Napi::Object ConnEventLayout(Napi::Env env) {
  Napi::Object layout = Napi::Object::New(env);
  auto set = [&](const char* name, size_t value) { layout.Set(name, static_cast<double>(value)); };
  set("size", sizeof(ss_conn_event));
  set("type", offsetof(ss_conn_event, type));
  set("oldState", offsetof(ss_conn_event, oldstate));
  set("newState", offsetof(ss_conn_event, newstate));
  set("flags", offsetof(ss_conn_event, flags));
  set("family", offsetof(ss_conn_event, family));
  set("localPort", offsetof(ss_conn_event, lport));
  set("remotePort", offsetof(ss_conn_event, rport));
  set("error", offsetof(ss_conn_event, error));
  set("timestampNs", offsetof(ss_conn_event, ts_ns));
  set("durationNs", offsetof(ss_conn_event, duration_ns));
  set("srttMicros", offsetof(ss_conn_event, srtt_us));
  set("localAddress", offsetof(ss_conn_event, laddr));
  set("remoteAddress", offsetof(ss_conn_event, raddr));
  set("netns", offsetof(ss_conn_event, netns));
  set("tgid", offsetof(ss_conn_event, owner) + offsetof(ss_owner, tgid));
  set("pid", offsetof(ss_conn_event, owner) + offsetof(ss_owner, pid));
  set("cgroupId", offsetof(ss_conn_event, owner) + offsetof(ss_owner, cgroup_id));
  set("comm", offsetof(ss_conn_event, owner) + offsetof(ss_owner, comm));
  set("threadComm", offsetof(ss_conn_event, owner) + offsetof(ss_owner, thread_comm));
  set("commLength", SS_COMM_LEN);
  return layout;
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
#ifdef __GLIBC__
  // Every drain allocates and frees blocks of a megabyte or more at 10k flows (the kernel
  // maps' per-CPU values, the records for JavaScript). glibc serves such blocks from mmap,
  // but its threshold rises to the largest block freed, after which they come from the
  // heap and fragment it (~15 MB more RSS at 10k flows). A fixed threshold keeps them
  // mapped and returned to the kernel when freed.
  mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif
  InstallLibbpfLog();
  exports.Set("BpfSession", BpfSession::Init(env));
  exports.Set("ConntrackLookup", ConntrackLookup::Init(env));
  exports.Set("recordLayout", RecordLayout(env));
  exports.Set("connEventLayout", ConnEventLayout(env));
  RegisterCapabilities(env, exports);
  return exports;
}

}  // namespace sockscope

// The macro pastes its argument into a symbol name: it needs an unqualified one.
static Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  return sockscope::Init(env, exports);
}

NODE_API_MODULE(sockscope, InitModule)

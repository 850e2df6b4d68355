// Module entry: the BpfSession class and the record layout the TypeScript
// decoder reads, so offsets are defined in exactly one place (the C structs).
#include <napi.h>

#include <cstddef>

#include "bpf_session.h"
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
  set("comm", offsetof(FlowRecord, key) + offsetof(ss_flow_key, comm));
  set("commLength", SS_COMM_LEN);
  set("txBytes", offsetof(FlowRecord, tx_bytes));
  set("rxBytes", offsetof(FlowRecord, rx_bytes));
  set("txMessages", offsetof(FlowRecord, tx_messages));
  set("rxMessages", offsetof(FlowRecord, rx_messages));
  return layout;
}

Napi::Value SetLibbpfVerbose(const Napi::CallbackInfo& info) {
  InstallLibbpfLog(info[0].ToBoolean());
  return info.Env().Undefined();
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  InstallLibbpfLog(false);
  exports.Set("BpfSession", BpfSession::Init(env));
  exports.Set("recordLayout", RecordLayout(env));
  exports.Set("setLibbpfVerbose", Napi::Function::New(env, SetLibbpfVerbose));
  return exports;
}

}  // namespace sockscope

// The macro pastes its argument into a symbol name: it needs an unqualified one.
static Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  return sockscope::Init(env, exports);
}

NODE_API_MODULE(sockscope, InitModule)

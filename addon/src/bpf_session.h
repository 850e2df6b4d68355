// One loaded instance of sockscope's BPF object, exposed to JavaScript.
// The attach plan (which implementation of each hook to use) is decided in
// TypeScript; this class only carries out open/autoload/load/attach steps.
#pragma once
#include <napi.h>

#include <map>
#include <memory>
#include <string>

#include "flow_map_drainer.h"
#include "kernel_drainer.h"
#include "tracefs_kprobe.h"

struct sockscope_bpf;
struct bpf_link;

namespace sockscope {

class BpfSession : public Napi::ObjectWrap<BpfSession> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit BpfSession(const Napi::CallbackInfo& info);
  ~BpfSession() override;

 private:
  Napi::Value Programs(const Napi::CallbackInfo& info);
  Napi::Value SetAutoload(const Napi::CallbackInfo& info);
  Napi::Value Load(const Napi::CallbackInfo& info);
  Napi::Value Attach(const Napi::CallbackInfo& info);
  Napi::Value StartDrain(const Napi::CallbackInfo& info);
  Napi::Value Drain(const Napi::CallbackInfo& info);
  Napi::Value DrainEvents(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  uint64_t KernelStat(__u32 stat) const;
  bool RequireState(Napi::Env env, bool want_loaded, const char* what);
  void Release();

  sockscope_bpf* skel_ = nullptr;
  bool loaded_ = false;
  size_t max_flows_ = 0;
  size_t max_conn_events_ = 0;
  uint32_t io_cache_slots_ = 0;  // per CPU; 0: the tracepoints add to the maps directly
  // False: no socket I/O program loads, so its maps are not created and nothing swaps them.
  bool socket_io_ = true;
  uint32_t possible_cpus_ = 1;  // per-CPU values and cache sections come one per possible CPU
  std::map<std::string, bpf_link*> links_;
  // Kprobe programs attached through tracefs probes (tracefs_kprobe.h), by program name.
  std::map<std::string, std::unique_ptr<TracefsKprobe>> kprobes_;
  // Created at load (the programs need a live map before they attach), then
  // handed to the drain thread.
  std::unique_ptr<FlowMapDrainer> flow_maps_;
  std::unique_ptr<KernelDrainer> drainer_;
  // drain()'s records are copied into this one ArrayBuffer, grown when too small: a
  // megabyte a second at 10k flows would otherwise wait for V8's GC as external memory.
  Napi::Reference<Napi::ArrayBuffer> drain_buffer_;
};

}  // namespace sockscope

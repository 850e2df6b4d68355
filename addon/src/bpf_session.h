// One loaded instance of sockscope's BPF object, exposed to JavaScript.
// The attach plan (which implementation of each hook to use) is decided in
// TypeScript; this class only carries out open/autoload/load/attach steps.
#pragma once
#include <napi.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

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
  Napi::Value TakeRecords(const Napi::CallbackInfo& info);
  Napi::Value TakeEvents(const Napi::CallbackInfo& info);
  Napi::Value HoldDrains(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  uint64_t KernelStat(__u32 stat) const;
  bool RequireState(Napi::Env env, bool want_loaded, const char* what);
  // answer_waiters: from JavaScript (close()), not from the destructor, which may not call into it.
  void Release(bool answer_waiters);
  void StopDrainThread(bool answer_waiters);

  // A promise of drain() or drainEvents(), answered once the drain thread has served its ticket.
  struct Waiter {
    uint64_t ticket;
    Napi::Promise::Deferred deferred;
  };
  // The drain thread's word reaches JavaScript through this; it outlives the session
  // when a notice is still queued (session is then null).
  struct ServedChannel {
    BpfSession* session = nullptr;
  };
  Napi::Value Enqueue(Napi::Env env, std::vector<Waiter>& waiters, bool maps);
  void OnServed(Napi::Env env, uint64_t ring_ticket, uint64_t maps_ticket);
  // Resolves the waiters whose ticket the drain thread has served.
  static void Answer(std::vector<Waiter>& waiters, uint64_t ticket, Napi::Env env);
  // Keeps the process alive while a promise waits on the drain thread.
  void UpdateRef(Napi::Env env);

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
  std::vector<Waiter> flow_waiters_;
  std::vector<Waiter> event_waiters_;
  // What the drain thread's last drain left at close(), for the takes still to come.
  std::vector<FlowRecord> final_records_;
  std::vector<ss_conn_event> final_events_;
  Napi::ThreadSafeFunction served_;
  std::shared_ptr<ServedChannel> channel_;
  bool referenced_ = false;
};

}  // namespace sockscope

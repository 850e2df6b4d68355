#include "bpf_session.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "libbpf_log.h"
#include "map_memory.h"
#include "sockscope.skel.h"

namespace sockscope {
namespace {

Napi::Value ThrowError(Napi::Env env, const std::string& message, int err = 0) {
  std::string text = message;
  if (err != 0) text += ": " + std::string(strerror(err > 0 ? err : -err));
  std::string log = TakeLibbpfLog();
  if (!log.empty()) text += "\nlibbpf: " + log;
  Napi::Error error = Napi::Error::New(env, text);
  if (err != 0) error.Set("errno", Napi::Number::New(env, err > 0 ? err : -err));
  error.ThrowAsJavaScriptException();
  return env.Undefined();
}

uint32_t OptionU32(const Napi::Object& opts, const char* key, uint32_t fallback) {
  Napi::Value v = opts.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().Uint32Value() : fallback;
}

bool OptionBool(const Napi::Object& opts, const char* key, bool fallback) {
  Napi::Value v = opts.Get(key);
  return v.IsBoolean() ? v.As<Napi::Boolean>().Value() : fallback;
}

}  // namespace

Napi::Function BpfSession::Init(Napi::Env env) {
  return DefineClass(env, "BpfSession",
                     {
                         InstanceMethod<&BpfSession::Programs>("programs"),
                         InstanceMethod<&BpfSession::SetAutoload>("setAutoload"),
                         InstanceMethod<&BpfSession::Load>("load"),
                         InstanceMethod<&BpfSession::Attach>("attach"),
                         InstanceMethod<&BpfSession::StartDrain>("startDrain"),
                         InstanceMethod<&BpfSession::Drain>("drain"),
                         InstanceMethod<&BpfSession::DrainEvents>("drainEvents"),
                         InstanceMethod<&BpfSession::TakeRecords>("takeRecords"),
                         InstanceMethod<&BpfSession::TakeEvents>("takeEvents"),
                         InstanceMethod<&BpfSession::HoldDrains>("holdDrains"),
                         InstanceMethod<&BpfSession::Stats>("stats"),
                         InstanceMethod<&BpfSession::Close>("close"),
                     });
}

// new BpfSession({ ringBufferSize, wakeupDataSize, maxFlows, ioMapEntries, ioCacheSlots,
//                  maxConnEvents, maxSockets, maxListeners, preallocateMaps, socketIo })
BpfSession::BpfSession(const Napi::CallbackInfo& info) : Napi::ObjectWrap<BpfSession>(info) {
  Napi::Env env = info.Env();
  Napi::Object opts = info.Length() > 0 && info[0].IsObject() ? info[0].As<Napi::Object>()
                                                              : Napi::Object::New(env);
  uint32_t ring_size = OptionU32(opts, "ringBufferSize", 16u << 20);
  uint32_t wakeup = OptionU32(opts, "wakeupDataSize", ring_size / 4);
  max_flows_ = OptionU32(opts, "maxFlows", 65536);
  uint32_t io_map_entries = OptionU32(opts, "ioMapEntries", static_cast<uint32_t>(max_flows_));
  max_conn_events_ = OptionU32(opts, "maxConnEvents", 65536);
  uint32_t max_sockets = OptionU32(opts, "maxSockets", 65536);
  uint32_t max_listeners = OptionU32(opts, "maxListeners", 8192);
  // Slots per CPU of the tracepoint programs' socket I/O cache: a power of two, 0 for none.
  io_cache_slots_ = OptionU32(opts, "ioCacheSlots", 0);
  socket_io_ = OptionBool(opts, "socketIo", true);
  if (!socket_io_ && io_cache_slots_ > 0) {
    ThrowError(env, "ioCacheSlots must be 0 without the socket I/O programs (socketIo: false), not " +
                        std::to_string(io_cache_slots_));
    return;
  }
  int ncpus = libbpf_num_possible_cpus();
  possible_cpus_ = ncpus > 0 ? static_cast<uint32_t>(ncpus) : 1;
  if ((io_cache_slots_ & (io_cache_slots_ - 1)) != 0 ||
      2ull * possible_cpus_ * io_cache_slots_ > UINT32_MAX) {
    ThrowError(env, "ioCacheSlots must be 0 or a power of two that fits 2 x " +
                        std::to_string(possible_cpus_) + " CPUs in one array, not " +
                        std::to_string(io_cache_slots_));
    return;
  }

  skel_ = sockscope_bpf__open();
  if (skel_ == nullptr) {
    ThrowError(env, "opening the BPF object failed", errno);
    return;
  }
  int err = bpf_map__set_max_entries(skel_->maps.events, ring_size);
  if (err != 0) {
    ThrowError(env, "setting the ring buffer size to " + std::to_string(ring_size) + " failed", err);
    return;
  }
  struct {
    bpf_map* map;
    uint32_t entries;
    const char* what;
  } sizes[] = {{skel_->maps.sockets, max_sockets, "socket-owner map"},
               {skel_->maps.listeners, max_listeners, "listener map"},
               // Each holds the (socket, process) pairs active in one interval, one value
               // each, shared by all CPUs. The slot's inner-map template keeps its one
               // entry: since 5.10 a hash inner map's size need not match it.
               {skel_->maps.io_socks_a, io_map_entries, "socket I/O map A"},
               {skel_->maps.io_socks_b, io_map_entries, "socket I/O map B"}};
  for (const auto& size : sizes) {
    err = bpf_map__set_max_entries(size.map, size.entries);
    if (err != 0) {
      ThrowError(env, std::string("sizing the ") + size.what, err);
      return;
    }
  }
  // Allocated on use, the hash maps hold what is live, not max_entries. Only where the
  // kernel allocates safely from tracing programs (TypeScript decides: 6.1's BPF allocator);
  // before, a kprobe or tracepoint program with such a map loads with a kernel WARN (fatal
  // under panic_on_warn), so they are preallocated there. The slot's inner-map template must
  // carry the same flags as the maps put in it.
  if (!OptionBool(opts, "preallocateMaps", true)) {
    bpf_map* hash_maps[] = {skel_->maps.io_socks_a, skel_->maps.io_socks_b,
                            bpf_map__inner_map(skel_->maps.io_socks_live), skel_->maps.sockets,
                            skel_->maps.listeners};
    for (bpf_map* map : hash_maps) {
      err = map == nullptr ? -ENOENT : bpf_map__set_map_flags(map, bpf_map__map_flags(map) | BPF_F_NO_PREALLOC);
      if (err != 0) {
        ThrowError(env, "setting the hash maps to allocate on use", err);
        return;
      }
    }
  }
  if (!socket_io_) {
    // Unused by the programs that load, these maps would cost their memory and a swap a second.
    bpf_map* io_maps[] = {skel_->maps.io_socks_a, skel_->maps.io_socks_b, skel_->maps.io_socks_live,
                          skel_->maps.io_cache, skel_->maps.io_cache_used, skel_->maps.io_calls};
    for (bpf_map* map : io_maps) {
      err = bpf_map__set_autocreate(map, false);
      if (err != 0) {
        ThrowError(env, std::string("leaving out the socket I/O map ") + bpf_map__name(map), err);
        return;
      }
    }
  }
  skel_->rodata->wakeup_data_size = wakeup;
  if (io_cache_slots_ > 0) {
    skel_->rodata->io_cache_enabled = true;
    skel_->rodata->io_cache_cpus = possible_cpus_;
    skel_->rodata->io_cache_slots_log2 = static_cast<uint32_t>(__builtin_ctz(io_cache_slots_));
    err = bpf_map__set_max_entries(skel_->maps.io_cache, 2 * possible_cpus_ * io_cache_slots_);
    if (err == 0) err = bpf_map__set_max_entries(skel_->maps.io_cache_used, 2 * possible_cpus_);
    if (err != 0) {
      ThrowError(env, "sizing the socket I/O cache", err);
      return;
    }
  }
}

BpfSession::~BpfSession() { Release(false); }

void BpfSession::Release(bool answer_waiters) {
  StopDrainThread(answer_waiters);
  flow_maps_.reset();
  for (auto& [name, link] : links_) bpf_link__destroy(link);
  links_.clear();
  kprobes_.clear();
  if (skel_ != nullptr) sockscope_bpf__destroy(skel_);
  skel_ = nullptr;
  loaded_ = false;
}

void BpfSession::StopDrainThread(bool answer_waiters) {
  if (drainer_) {
    drainer_->Stop();  // joins the thread after one last drain: no kernel access is left in flight
    final_records_ = drainer_->TakeRecords();
    final_events_ = drainer_->TakeConnEvents();
    if (answer_waiters) {
      Napi::Env env = Env();
      Answer(flow_waiters_, UINT64_MAX, env);
      Answer(event_waiters_, UINT64_MAX, env);
      UpdateRef(env);
    }
  }
  flow_waiters_.clear();
  event_waiters_.clear();
  if (channel_) {
    channel_->session = nullptr;  // a notice still queued finds no session
    channel_.reset();
    served_.Release();
  }
  drainer_.reset();
}

bool BpfSession::RequireState(Napi::Env env, bool want_loaded, const char* what) {
  if (skel_ == nullptr) {
    ThrowError(env, std::string(what) + ": session is closed");
    return false;
  }
  if (loaded_ != want_loaded) {
    ThrowError(env, std::string(what) + (want_loaded ? ": load() first" : ": already loaded"));
    return false;
  }
  return true;
}

// -> [{ name, section, autoload }]
Napi::Value BpfSession::Programs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array out = Napi::Array::New(env);
  if (skel_ == nullptr) return out;
  uint32_t i = 0;
  bpf_program* prog;
  bpf_object__for_each_program(prog, skel_->obj) {
    Napi::Object p = Napi::Object::New(env);
    p.Set("name", bpf_program__name(prog));
    p.Set("section", bpf_program__section_name(prog));
    p.Set("autoload", bpf_program__autoload(prog));
    out.Set(i++, p);
  }
  return out;
}

Napi::Value BpfSession::SetAutoload(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!RequireState(env, false, "setAutoload")) return env.Undefined();
  std::string name = info[0].As<Napi::String>();
  bpf_program* prog = bpf_object__find_program_by_name(skel_->obj, name.c_str());
  if (prog == nullptr) return ThrowError(env, "no BPF program named " + name);
  int err = bpf_program__set_autoload(prog, info[1].ToBoolean());
  if (err != 0) return ThrowError(env, "setAutoload(" + name + ")", err);
  return env.Undefined();
}

Napi::Value BpfSession::Load(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!RequireState(env, false, "load")) return env.Undefined();
  TakeLibbpfLog();  // report only this load's diagnostics
  int err = sockscope_bpf__load(skel_);
#ifdef __GLIBC__
  // Loading parses the kernel's BTF (megabytes) and frees it; glibc keeps the pages unless asked.
  malloc_trim(0);
#endif
  if (err != 0) {
    // libbpf 1.1 leaves a reference to an uncreated map to the verifier, whose log does not name it.
    return ThrowError(env, socket_io_ ? "loading BPF programs failed"
                                      : "loading BPF programs failed (socketIo is false: no socket I/O "
                                        "program can load without its maps)",
                      err);
  }
  loaded_ = true;
  if (!socket_io_) return env.Undefined();  // no maps to read: the drain thread only consumes the ring
  std::unique_ptr<IoCache> cache;
  if (io_cache_slots_ > 0) {
    std::string error;
    cache = IoCache::Map(bpf_map__fd(skel_->maps.io_cache), bpf_map__fd(skel_->maps.io_cache_used),
                         &skel_->bss->io_cache_half, possible_cpus_, io_cache_slots_, error);
    if (!cache) return ThrowError(env, error);
  }
  flow_maps_ = std::make_unique<FlowMapDrainer>(
      bpf_map__fd(skel_->maps.io_socks_live), bpf_map__fd(skel_->maps.io_socks_a),
      bpf_map__fd(skel_->maps.io_socks_b), static_cast<uint32_t>(max_flows_), std::move(cache));
  std::string error = flow_maps_->Activate();
  if (!error.empty()) return ThrowError(env, error);
  return env.Undefined();
}

Napi::Value BpfSession::Attach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!RequireState(env, true, "attach")) return env.Undefined();
  std::string name = info[0].As<Napi::String>();
  if (links_.count(name) != 0 || kprobes_.count(name) != 0) return env.Undefined();
  bpf_program* prog = bpf_object__find_program_by_name(skel_->obj, name.c_str());
  if (prog == nullptr) return ThrowError(env, "no BPF program named " + name);
  TakeLibbpfLog();
  std::string section = bpf_program__section_name(prog);
  bool retprobe = section.rfind("kretprobe/", 0) == 0;
  if (retprobe || section.rfind("kprobe/", 0) == 0) {
    std::string error;  // without tracefs: the PMU probe below (default kretprobe instances, misses unseen)
    auto probe = TracefsKprobe::Attach(prog, section.substr(section.find('/') + 1), retprobe, error);
    if (probe) {
      kprobes_[name] = std::move(probe);
      return env.Undefined();
    }
  }
  bpf_link* link = bpf_program__attach(prog);
  if (link == nullptr) return ThrowError(env, "attaching " + name + " failed", errno);
  links_[name] = link;
  return env.Undefined();
}

Napi::Value BpfSession::StartDrain(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!RequireState(env, true, "startDrain")) return env.Undefined();
  if (drainer_) return ThrowError(env, "startDrain: already draining");
  int interval_ms = info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 50;
  drainer_ = std::make_unique<KernelDrainer>(bpf_map__fd(skel_->maps.events), std::move(flow_maps_),
                                           max_flows_, max_conn_events_);
  channel_ = std::make_shared<ServedChannel>();
  channel_->session = this;
  served_ = Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}),
                                          "sockscope drain", 0, 1);
  served_.Unref(env);  // referenced only while a promise waits (UpdateRef)
  struct Notice {
    std::shared_ptr<ServedChannel> channel;
    uint64_t ring;
    uint64_t maps;
  };
  Napi::ThreadSafeFunction served = served_;
  std::shared_ptr<ServedChannel> channel = channel_;
  auto on_served = [served, channel](uint64_t ring, uint64_t maps) mutable {
    auto* notice = new Notice{channel, ring, maps};
    napi_status status = served.NonBlockingCall(notice, [](Napi::Env env, Napi::Function, Notice* n) {
      // env is null when the function is torn down with notices still queued.
      if (env != nullptr && n->channel->session != nullptr) n->channel->session->OnServed(env, n->ring, n->maps);
      delete n;
    });
    if (status != napi_ok) delete notice;  // closing: close() answers the waiters itself
  };
  std::string error = drainer_->Start(interval_ms, on_served);
  if (!error.empty()) {
    StopDrainThread(false);
    return ThrowError(env, error);
  }
  return env.Undefined();
}

Napi::Value BpfSession::Enqueue(Napi::Env env, std::vector<Waiter>& waiters, bool maps) {
  Napi::Promise::Deferred deferred = Napi::Promise::Deferred::New(env);
  Napi::Promise promise = deferred.Promise();
  if (!drainer_) {
    deferred.Resolve(env.Undefined());
    return promise;
  }
  waiters.push_back({drainer_->Request(maps), std::move(deferred)});
  UpdateRef(env);
  return promise;
}

void BpfSession::OnServed(Napi::Env env, uint64_t ring_ticket, uint64_t maps_ticket) {
  if (!drainer_) return;
  Answer(flow_waiters_, maps_ticket, env);
  Answer(event_waiters_, ring_ticket, env);
  UpdateRef(env);
}

void BpfSession::UpdateRef(Napi::Env env) {
  bool waiting = !flow_waiters_.empty() || !event_waiters_.empty();
  if (!channel_ || waiting == referenced_) return;
  if (waiting) served_.Ref(env);
  else served_.Unref(env);
  referenced_ = waiting;
}

void BpfSession::Answer(std::vector<Waiter>& waiters, uint64_t ticket, Napi::Env env) {
  std::vector<Waiter> ready;
  for (auto it = waiters.begin(); it != waiters.end();) {
    if (it->ticket <= ticket) {
      ready.push_back(std::move(*it));
      it = waiters.erase(it);
    } else {
      ++it;
    }
  }
  for (Waiter& w : ready) w.deferred.Resolve(env.Undefined());
}

// -> Promise, resolved once a drain of the socket I/O maps and the ring, begun after this
// call, is done. The swap and the read run on the drain thread; this returns at once.
// Calls made before the thread begins a drain share it.
Napi::Value BpfSession::Drain(const Napi::CallbackInfo& info) {
  return Enqueue(info.Env(), flow_waiters_, true);
}

// -> Promise, resolved once the drain thread has consumed the ring after this call.
Napi::Value BpfSession::DrainEvents(const Napi::CallbackInfo& info) {
  return Enqueue(info.Env(), event_waiters_, false);
}

// -> Uint8Array of the FlowRecord structs aggregated so far (layout: see addon.cc
// recordLayout); no kernel access, only the table's mutex.
Napi::Value BpfSession::TakeRecords(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<FlowRecord> records = drainer_ ? drainer_->TakeRecords() : std::move(final_records_);
  final_records_.clear();
  size_t bytes = records.size() * sizeof(FlowRecord);
  if (drain_buffer_.IsEmpty() || drain_buffer_.Value().ByteLength() < bytes) {
    // A quarter more than needed: flow counts creep up, and each new buffer is garbage.
    drain_buffer_ = Napi::Persistent(Napi::ArrayBuffer::New(env, bytes + bytes / 4));
  }
  Napi::ArrayBuffer buffer = drain_buffer_.Value();
  if (bytes > 0) memcpy(buffer.Data(), records.data(), bytes);
  // Valid until the next takeRecords(), which overwrites it.
  return Napi::Uint8Array::New(env, bytes, buffer, 0);
}

// -> Buffer of the ss_conn_event structs consumed so far (layout: see addon.cc connEventLayout).
Napi::Value BpfSession::TakeEvents(const Napi::CallbackInfo& info) {
  std::vector<ss_conn_event> events = drainer_ ? drainer_->TakeConnEvents() : std::move(final_events_);
  final_events_.clear();
  return Napi::Buffer<uint8_t>::Copy(info.Env(), reinterpret_cast<const uint8_t*>(events.data()),
                                     events.size() * sizeof(ss_conn_event));
}

// holdDrains(bool): tests hold requested drains in the drain thread, to see JavaScript run meanwhile.
Napi::Value BpfSession::HoldDrains(const Napi::CallbackInfo& info) {
  if (drainer_) drainer_->Hold(info[0].ToBoolean());
  return info.Env().Undefined();
}

uint64_t BpfSession::KernelStat(__u32 stat) const {
  if (!loaded_) return 0;
  std::vector<__u64> values(possible_cpus_);
  uint64_t sum = 0;
  if (bpf_map__lookup_elem(skel_->maps.ss_stats, &stat, sizeof(stat), values.data(),
                           values.size() * sizeof(__u64), 0) == 0) {
    for (__u64 v : values) sum += v;
  }
  return sum;
}

Napi::Value BpfSession::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  auto set = [&](const char* name, uint64_t v) {
    out.Set(name, Napi::Number::New(env, static_cast<double>(v)));
  };
  // The ring was full: a connection event, or a call the socket I/O map could not take.
  set("eventsLost", KernelStat(SS_STAT_RINGBUF_LOST) + KernelStat(SS_STAT_IO_LOST));
  set("ioCallsSpilled", drainer_ ? drainer_->io_spilled() : 0);
  set("ioCacheEvictions", KernelStat(SS_STAT_IO_CACHE_EVICTED));
  set("socketsMapFull", KernelStat(SS_STAT_SOCKETS_FULL));
  set("listenersMapFull", KernelStat(SS_STAT_LISTENERS_FULL));
  set("connEventsDropped", drainer_ ? drainer_->conn_events_dropped() : 0);
  // Swaps or batch reads of the socket I/O maps that failed (retried next interval).
  set("flowMapErrors", drainer_ ? drainer_->flow_map_errors() : 0);
  // Ring records of no known type or too short for their type: skipped.
  set("malformedRecords", drainer_ ? drainer_->malformed_records() : 0);
  // Runs the kernel skipped because a BPF program was already running on that
  // CPU (e.g. softirq interrupting one): events that never reached us.
  Napi::Object misses = Napi::Object::New(env);
  // bpf_prog_info run_time_ns / run_cnt: they only advance while kernel.bpf_stats_enabled is on.
  Napi::Object run_time_ns = Napi::Object::New(env);
  Napi::Object run_count = Napi::Object::New(env);
  if (loaded_) {
    bpf_program* prog;
    bpf_object__for_each_program(prog, skel_->obj) {
      int fd = bpf_program__fd(prog);
      if (fd < 0) continue;
      bpf_prog_info prog_info{};
      __u32 len = sizeof(prog_info);
      if (bpf_obj_get_info_by_fd(fd, &prog_info, &len) == 0) {
        uint64_t missed = prog_info.recursion_misses;
        // A tracefs kprobe's own misses: out of kretprobe instances, or hit inside another kprobe.
        auto probe = kprobes_.find(bpf_program__name(prog));
        if (probe != kprobes_.end()) missed += probe->second->Missed();
        misses.Set(bpf_program__name(prog), Napi::Number::New(env, static_cast<double>(missed)));
        run_time_ns.Set(bpf_program__name(prog), Napi::Number::New(env, static_cast<double>(prog_info.run_time_ns)));
        run_count.Set(bpf_program__name(prog), Napi::Number::New(env, static_cast<double>(prog_info.run_cnt)));
      }
    }
  }
  out.Set("recursionMisses", misses);
  out.Set("programRunTimeNs", run_time_ns);
  out.Set("programRunCount", run_count);
  // Kernel memory of every map this session created (maps left out are not created: no fd).
  Napi::Object map_memory = Napi::Object::New(env);
  if (loaded_) {
    bpf_map* map;
    bpf_object__for_each_map(map, skel_->obj) {
      int fd = bpf_map__fd(map);
      if (fd < 0) continue;
      std::optional<uint64_t> bytes = MapMemlockBytes(fd);
      if (bytes) map_memory.Set(bpf_map__name(map), Napi::Number::New(env, static_cast<double>(*bytes)));
    }
  }
  out.Set("mapMemoryBytes", map_memory);
  out.Set("eventsReceived",
          Napi::Number::New(env, drainer_ ? static_cast<double>(drainer_->events_received()) : 0));
  out.Set("drainWakeups",
          Napi::Number::New(env, drainer_ ? static_cast<double>(drainer_->wakeups()) : 0));
  out.Set("flowTableDropped",
          Napi::Number::New(env, drainer_ ? static_cast<double>(drainer_->flow_table_dropped()) : 0));
  return out;
}

Napi::Value BpfSession::Close(const Napi::CallbackInfo& info) {
  Release(true);
  drain_buffer_.Reset();
  return info.Env().Undefined();
}

}  // namespace sockscope

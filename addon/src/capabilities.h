// Dropping capabilities after the probes are attached. Linux keeps capabilities per
// thread, and Node runs several (V8 platform workers, the libuv pool, the kernel drainer),
// so a capset() on the JavaScript thread alone would leave the others privileged. The
// drop runs on every thread: directly on the caller, through a real-time signal on the
// others. Raw capset/prctl syscalls, no libcap.
#pragma once
#include <napi.h>

#include <cstdint>
#include <vector>

namespace sockscope {

struct CapabilityDropResult {
  // Threads that ran the drop, the caller included.
  int threads_dropped = 0;
  // Threads that block every signal (Node's SIGUSR1 watchdog does) and so cannot be
  // asked; they keep what they had. The caller reports them.
  std::vector<int> unreachable_tids;
  // Threads that were asked but did not answer within the wait (they may still drop later).
  int unanswered = 0;
  // First errno of a failed capset/prctl in any thread (0: none).
  int error = 0;
  // Whether the bounding set was reduced too (needs CAP_SETPCAP, which containers rarely grant).
  bool bounding_set_reduced = false;
};

// Sets effective = permitted = keep (as far as held), inheritable and ambient empty,
// no_new_privs, and the bounding set to keep when CAP_SETPCAP allows, in every thread.
// keep is a bit mask of capability numbers (bit n = capability n).
CapabilityDropResult DropCapabilities(uint64_t keep);

// Exports dropCapabilities(keep: number[]) -> { threadsDropped, unreachableTids,
// unansweredThreads, error, boundingSetReduced }.
void RegisterCapabilities(Napi::Env env, Napi::Object exports);

}  // namespace sockscope

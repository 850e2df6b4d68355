#include "capabilities.h"

#include <dirent.h>
#include <linux/capability.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>

namespace sockscope {
namespace {

// What every thread applies to itself; written before any thread is signalled.
struct Target {
  uint64_t keep = 0;
  int last_cap = 40;
};
Target g_target;
std::atomic<int> g_answers{0};
std::atomic<int> g_error{0};
std::atomic<bool> g_bounding_reduced{false};

constexpr long kAnswerWaitNanos = 2'000'000'000;  // per pass

// Async-signal-safe: only raw syscalls and atomics.
int ApplyToThisThread() {
  const uint64_t keep = g_target.keep;
  // The bounding set first, while CAP_SETPCAP (if we have it at all) is still effective.
  bool reduced = true;
  for (int cap = 0; cap <= g_target.last_cap; cap++) {
    if ((keep >> cap) & 1) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
      reduced = false;  // EPERM without CAP_SETPCAP: the runtime's bounding set stays
      break;
    }
  }
  if (reduced) g_bounding_reduced.store(true);
  // Ambient capabilities would be passed to anything we execute: none.
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) return errno;

  __user_cap_header_struct header{};
  header.version = _LINUX_CAPABILITY_VERSION_3;
  header.pid = 0;
  __user_cap_data_struct now[2]{};
  if (syscall(SYS_capget, &header, now) != 0) return errno;
  const uint64_t permitted = (uint64_t{now[1].permitted} << 32) | now[0].permitted;
  const uint64_t kept = permitted & keep;
  __user_cap_data_struct next[2]{};
  for (int i = 0; i < 2; i++) {
    const auto word = static_cast<uint32_t>(kept >> (32 * i));
    next[i].effective = word;
    next[i].permitted = word;
    next[i].inheritable = 0;
  }
  if (syscall(SYS_capset, &header, next) != 0) return errno;
  // Nothing this thread executes can gain privileges back (setuid binaries, file caps).
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return errno;
  return 0;
}

void OnDropSignal(int) {
  const int saved = errno;
  const int err = ApplyToThisThread();
  if (err != 0) {
    int expected = 0;
    g_error.compare_exchange_strong(expected, err);
  }
  g_answers.fetch_add(1);
  errno = saved;
}

int ReadLastCap() {
  FILE* f = fopen("/proc/sys/kernel/cap_last_cap", "re");
  int last = 40;  // CAP_CHECKPOINT_RESTORE, the last one in Linux 6.x
  if (f != nullptr) {
    if (fscanf(f, "%d", &last) != 1) last = 40;
    fclose(f);
  }
  return last < 63 ? last : 63;
}

// Whether thread tid blocks sig, from /proc/self/task/<tid>/status (SigBlk, a hex mask).
bool ThreadBlocks(int tid, int sig) {
  char path[64];
  snprintf(path, sizeof(path), "/proc/self/task/%d/status", tid);
  FILE* f = fopen(path, "re");
  if (f == nullptr) return false;  // gone: nothing to ask
  char line[256];
  bool blocked = false;
  while (fgets(line, sizeof(line), f) != nullptr) {
    if (strncmp(line, "SigBlk:", 7) == 0) {
      const uint64_t mask = strtoull(line + 7, nullptr, 16);
      blocked = ((mask >> (sig - 1)) & 1) != 0;
      break;
    }
  }
  fclose(f);
  return blocked;
}

std::set<int> ListThreads() {
  std::set<int> tids;
  DIR* dir = opendir("/proc/self/task");
  if (dir == nullptr) return tids;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] >= '0' && entry->d_name[0] <= '9') tids.insert(atoi(entry->d_name));
  }
  closedir(dir);
  return tids;
}

// A real-time signal nobody in this process handles, or 0.
int FreeSignal() {
  for (int sig = SIGRTMAX; sig >= SIGRTMIN; sig--) {
    struct sigaction current {};
    if (sigaction(sig, nullptr, &current) != 0) continue;
    if (!(current.sa_flags & SA_SIGINFO) && current.sa_handler == SIG_DFL) return sig;
  }
  return 0;
}

void WaitForAnswers(int expected) {
  const timespec step{0, 1'000'000};
  for (long waited = 0; g_answers.load() < expected && waited < kAnswerWaitNanos; waited += step.tv_nsec) {
    nanosleep(&step, nullptr);
  }
}

}  // namespace

CapabilityDropResult DropCapabilities(uint64_t keep) {
  CapabilityDropResult result;
  g_target.keep = keep;
  g_target.last_cap = ReadLastCap();
  g_answers.store(0);
  g_error.store(0);
  g_bounding_reduced.store(false);

  const int self = static_cast<int>(syscall(SYS_gettid));
  const int pid = getpid();
  const int sig = FreeSignal();
  struct sigaction previous {};
  struct sigaction action {};
  action.sa_handler = OnDropSignal;
  action.sa_flags = SA_RESTART;
  sigfillset(&action.sa_mask);
  const bool installed = sig != 0 && sigaction(sig, &action, &previous) == 0;

  int asked = 0;
  std::set<int> seen{self};
  // Until a pass finds no new thread: one created meanwhile by a thread that had not
  // dropped yet would have inherited the old set.
  for (bool found_new = true; found_new;) {
    found_new = false;
    for (int tid : ListThreads()) {
      if (!seen.insert(tid).second) continue;
      found_new = true;
      if (!installed || ThreadBlocks(tid, sig)) {
        result.unreachable_tids.push_back(tid);
        continue;
      }
      if (syscall(SYS_tgkill, pid, tid, sig) == 0) asked++;
    }
    WaitForAnswers(asked);
  }
  const int answered = g_answers.load();
  // Our own thread last: until here it could still send signals to any thread.
  const int own_error = ApplyToThisThread();

  // With a signal still in flight the handler stays: the default action would kill us.
  if (installed && answered >= asked) sigaction(sig, &previous, nullptr);
  result.unanswered = asked - answered;
  result.threads_dropped = answered + 1;
  result.error = own_error != 0 ? own_error : g_error.load();
  result.bounding_set_reduced = g_bounding_reduced.load();
  return result;
}

namespace {

Napi::Value DropCapabilitiesJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArray()) {
    Napi::TypeError::New(env, "dropCapabilities(keep: number[])").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Array keep_list = info[0].As<Napi::Array>();
  uint64_t keep = 0;
  for (uint32_t i = 0; i < keep_list.Length(); i++) {
    const int cap = keep_list.Get(i).ToNumber().Int32Value();
    if (cap < 0 || cap > 63) {
      Napi::RangeError::New(env, "capability number out of range").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    keep |= uint64_t{1} << cap;
  }
  const CapabilityDropResult result = DropCapabilities(keep);
  auto to_array = [&](const std::vector<int>& values) {
    Napi::Array out = Napi::Array::New(env, values.size());
    for (size_t i = 0; i < values.size(); i++) out.Set(static_cast<uint32_t>(i), values[i]);
    return out;
  };
  Napi::Object out = Napi::Object::New(env);
  out.Set("threadsDropped", result.threads_dropped);
  out.Set("unreachableTids", to_array(result.unreachable_tids));
  out.Set("unansweredThreads", result.unanswered);
  out.Set("error", result.error == 0 ? env.Null() : Napi::String::New(env, strerror(result.error)));
  out.Set("boundingSetReduced", result.bounding_set_reduced);
  return out;
}

}  // namespace

void RegisterCapabilities(Napi::Env env, Napi::Object exports) {
  exports.Set("dropCapabilities", Napi::Function::New(env, DropCapabilitiesJs));
}

}  // namespace sockscope

#include "libbpf_log.h"

#include <bpf/libbpf.h>

#include <cstdarg>
#include <cstdio>
#include <mutex>

namespace sockscope {
namespace {

constexpr size_t kMaxLogBytes = 64 * 1024;

std::mutex log_mutex;
std::string log_text;

int PrintToLog(enum libbpf_print_level level, const char* format, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  char line[1024];
  int n = vsnprintf(line, sizeof(line), format, args);
  if (n <= 0) return n;
  std::lock_guard<std::mutex> lock(log_mutex);
  if (log_text.size() + static_cast<size_t>(n) > kMaxLogBytes) {
    // Keep the newest output: it holds the error that is being reported.
    log_text.erase(0, log_text.size() / 2);
  }
  log_text.append(line);
  return n;
}

}  // namespace

void InstallLibbpfLog() {
  libbpf_set_print(PrintToLog);
}

std::string TakeLibbpfLog() {
  std::lock_guard<std::mutex> lock(log_mutex);
  std::string out;
  out.swap(log_text);
  return out;
}

}  // namespace sockscope

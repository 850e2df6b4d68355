// libbpf's diagnostics, kept so a failed load or attach can say why.
#pragma once
#include <string>

namespace sockscope {

// Routes libbpf's print callback into a bounded in-memory log of its warnings
// and errors (debug output is dropped).
void InstallLibbpfLog();

// Returns and clears what libbpf printed since the last call.
std::string TakeLibbpfLog();

}  // namespace sockscope

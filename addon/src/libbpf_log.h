// libbpf's diagnostics, kept so a failed load or attach can say why.
#pragma once
#include <string>

namespace sockscope {

// Routes libbpf's print callback into a bounded in-memory log. Warnings and
// errors are kept; debug output only when verbose is set.
void InstallLibbpfLog(bool verbose);

// Returns and clears what libbpf printed since the last call.
std::string TakeLibbpfLog();

}  // namespace sockscope

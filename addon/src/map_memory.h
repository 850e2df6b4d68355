// Kernel memory of a BPF map, as the kernel itself accounts it.
#pragma once
#include <cstdint>
#include <optional>

namespace sockscope {

// The `memlock:` line of /proc/self/fdinfo/<fd> (what bpftool prints): bytes the kernel
// charges for the map, every CPU's copy of a per-CPU value included. Before 6.4 it is the
// size the map was charged at creation (preallocated or not); from 6.4 map_mem_usage()
// computes it from what the map holds now. Nothing when the fd is not a map's.
std::optional<uint64_t> MapMemlockBytes(int map_fd);

}  // namespace sockscope

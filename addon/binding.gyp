{
  "targets": [
    {
      "target_name": "sockscope",
      "sources": [
        "src/addon.cc",
        "src/bpf_session.cc",
        "src/flow_table.cc",
        "src/flow_map_drainer.cc",
        "src/io_cache.cc",
        "src/kernel_drainer.cc",
        "src/libbpf_log.cc",
        "src/map_memory.cc",
        "src/capabilities.cc",
        "src/conntrack_client.cc",
        "src/conntrack_lookup.cc",
        "src/tracefs_kprobe.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "../ebpf",
        "../ebpf/.output"
      ],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-Wno-missing-field-initializers", "-Wno-unused-parameter"],
      "cflags_cc!": ["-fno-exceptions"],
      "libraries": ["-lbpf", "-lelf", "-lz", "-lnetfilter_conntrack"]
    }
  ]
}

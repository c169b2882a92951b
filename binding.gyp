{
  "targets": [
    {
      "target_name": "tcpkit",
      "sources": ["native/addon.cc", "native/pcap_file.cc", "native/pcap_live.cc", "native/ebpf.cc", "native/privileges.cc", "native/probe.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-fvisibility=hidden", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "libraries": ["-lpcap", "-lbpf", "-lelf", "-lz"]
    }
  ]
}

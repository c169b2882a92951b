// Appends records (bpf/record.h) to a caller-owned batch buffer.
#ifndef TCPKIT_BATCH_H
#define TCPKIT_BATCH_H

#include <cstddef>
#include <cstdint>
#include <cstring>

extern "C" {
#include "../bpf/record.h"
}

static_assert(sizeof(struct tk_record) == TK_RECORD_HDR_LEN, "record header size");

namespace tcpkit {

inline size_t RecordSpan(uint32_t cap_len) {
  size_t n = TK_RECORD_HDR_LEN + cap_len;
  return (n + TK_RECORD_ALIGN - 1) & ~static_cast<size_t>(TK_RECORD_ALIGN - 1);
}

// A window over the JavaScript Buffer a batch is written into.
struct BatchWriter {
  uint8_t* base;
  size_t capacity;
  size_t used = 0;
  uint32_t count = 0;

  bool Fits(uint32_t cap_len) const { return used + RecordSpan(cap_len) <= capacity; }

  void Append(const struct tk_record& hdr, const uint8_t* data) {
    uint8_t* at = base + used;
    std::memcpy(at, &hdr, sizeof hdr);
    std::memcpy(at + TK_RECORD_HDR_LEN, data, hdr.cap_len);
    used += RecordSpan(hdr.cap_len);
    count++;
  }
};

}  // namespace tcpkit

#endif

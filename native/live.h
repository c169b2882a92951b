// What the live engines share: a capture thread that fills record batches and
// hands each full (or timed-out) batch to JavaScript through a thread-safe
// function. JavaScript gets one call per batch, never one per packet.
//
// Back-pressure: at most kMaxQueued batches wait for JavaScript. When it
// falls behind, the capture thread blocks, the kernel's buffer (ring buffer
// or packet socket) fills, and the kernel counts what it could not deliver.
#ifndef TCPKIT_LIVE_H
#define TCPKIT_LIVE_H

#include <napi.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "batch.h"

namespace tcpkit {

class LivePump {
 public:
  static constexpr size_t kBatchBytes = 1 << 20;
  static constexpr size_t kMaxQueued = 16;
  // A batch is handed over at the latest this long after its first record.
  static constexpr std::chrono::milliseconds kMaxDelay{20};

  // Starts `loop` on a new thread. On the JavaScript thread,
  // `onBatch(buffer, used)` is called once per batch, then once
  // `onBatch(null, 0, error)` when the loop has ended (error: a string, or
  // undefined when it ended because it was asked to). `loop` returns an
  // error message or "" and must return soon after Stopping() turns true.
  template <typename Loop>
  void Start(Napi::Env env, Napi::Function onBatch, Loop loop) {
    tsfn_ = Napi::ThreadSafeFunction::New(env, onBatch, "tcpkit-capture", kMaxQueued, 1);
    stopping_ = false;
    running_ = true;
    thread_ = std::thread([this, loop]() {
      std::string* error = new std::string(loop());
      Flush();
      napi_status st = tsfn_.BlockingCall(error, [](Napi::Env env, Napi::Function fn, std::string* e) {
        Napi::Value why = e->empty() ? env.Undefined() : Napi::String::New(env, *e);
        delete e;
        fn.Call({env.Null(), Napi::Number::New(env, 0), why});
      });
      if (st != napi_ok) delete error;
      tsfn_.Release();
    });
  }

  // Asks the loop to end; the end call reaches JavaScript after the last batch.
  void RequestStop() { stopping_ = true; }

  // Waits for the thread (call after the end call arrived, or at teardown).
  void Join() {
    stopping_ = true;
    if (thread_.joinable()) thread_.join();
    running_ = false;
  }

  bool Stopping() const { return stopping_.load(std::memory_order_relaxed); }
  bool Running() const { return running_; }

  // Capture thread: room for a record of cap_len bytes, flushing if needed.
  BatchWriter& Room(uint32_t cap_len) {
    if (cur_ == nullptr) Fresh();
    if (!writer_.Fits(cap_len)) {
      Flush();
      Fresh();
    }
    if (writer_.count == 0) first_ = std::chrono::steady_clock::now();
    return writer_;
  }

  // Capture thread: hands the batch over if it has waited long enough.
  void MaybeFlush() {
    if (cur_ != nullptr && writer_.count > 0 && std::chrono::steady_clock::now() - first_ >= kMaxDelay) Flush();
  }

  void Flush() {
    if (cur_ == nullptr || writer_.count == 0) return;
    Batch* batch = new Batch{cur_, writer_.used, this};
    cur_ = nullptr;
    // JavaScript gets a copy of the used bytes (a batch is rarely full), and
    // the block goes back to the pool at once: no 1 MiB allocation per batch.
    napi_status st = tsfn_.BlockingCall(batch, [](Napi::Env env, Napi::Function fn, Batch* b) {
      auto buf = Napi::Buffer<uint8_t>::Copy(env, b->data, b->used);
      b->pump->Recycle(b->data);
      size_t used = b->used;
      delete b;
      fn.Call({buf, Napi::Number::New(env, static_cast<double>(used))});
    });
    if (st != napi_ok) {
      Recycle(batch->data);
      delete batch;
    }
  }

  ~LivePump() {
    delete[] cur_;
    for (uint8_t* b : pool_) delete[] b;
  }

 private:
  struct Batch {
    uint8_t* data;
    size_t used;
    LivePump* pump;
  };

  void Fresh() {
    {
      std::lock_guard<std::mutex> lock(pool_mutex_);
      if (!pool_.empty()) {
        cur_ = pool_.back();
        pool_.pop_back();
      }
    }
    if (cur_ == nullptr) cur_ = new uint8_t[kBatchBytes];
    writer_ = BatchWriter{cur_, kBatchBytes};
  }

  void Recycle(uint8_t* block) {
    std::lock_guard<std::mutex> lock(pool_mutex_);
    pool_.push_back(block);
  }

  Napi::ThreadSafeFunction tsfn_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  bool running_ = false;
  uint8_t* cur_ = nullptr;
  std::mutex pool_mutex_;
  std::vector<uint8_t*> pool_;
  BatchWriter writer_{nullptr, 0};
  std::chrono::steady_clock::time_point first_;
};

}  // namespace tcpkit

#endif

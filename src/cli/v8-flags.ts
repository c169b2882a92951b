// V8 settings for a long-running capture, set before anything else loads
// (both are read when a function first runs or the heap grows, so setting
// them here, not on node's command line, takes effect).
//
// The memory reducer: V8 starts it when the heap may hold garbage (at start-up,
// after a full collection) and, about 8 s later, if the program allocates
// little, runs up to three full mark-compacts to hand memory back to the
// system. tcpkit's heap is small and bounded by design (7 MB once running),
// and a capture allocates little per packet: exactly the case the reducer
// acts on. On a live capture it cost two mark-compacts, 35-90 ms of CPU, some
// 8 s into every run, for no memory worth returning (8.3 -> 6.8 MB). Ordinary
// collections are unchanged: the young generation and the old generation's
// growth limits still run the collector when there is garbage to collect.
import v8 from 'node:v8';

v8.setFlagsFromString('--no-memory-reducer-for-small-heaps');

// Feedback from a function's first call. By default V8 records type feedback
// for a function only after it has run a few times, so a branch that runs
// early and rarely (the once-a-second clock) leaves none behind, and the
// first time a packet loop takes it, V8 throws away the loop's optimized code
// and compiles it again. With feedback recorded from the start, a cold
// `--ebpf -t 10` run of 200,000 requests had one deopt left on its packet
// path, when the first slow line is printed (before: 3-5); with this file's
// other setting and the branch-free counts in stats.ts and pipeline.ts, its
// CPU fell from a median of 43 to 36 ticks (5 alternating rounds). The cost is a
// feedback vector for every function that runs once: 0.8 MB more RSS, not
// time per packet.
v8.setFlagsFromString('--no-lazy-feedback-allocation');

// Optimizing on the JavaScript thread: node's command line says
// --no-concurrent-recompilation (the #! line of cli/main.ts and bin/tcpkit,
// so `tcpkit` and the installed command start that way). V8 reads it only
// when it creates the isolate, so it cannot be set here. By default V8
// compiles a hot function on a worker thread while the JavaScript thread
// goes on running its unoptimized code. At the start of a capture that code
// is the packet path, 20 times slower than once optimized, and on a busy
// 2-core host the worker waits for a core. Replaying 200,000 recorded
// requests in a fresh process (test/bench/ring-replay.ts), the first 1-8 MiB
// of samples took 100-170 ms of CPU before the path ran at full speed; with
// the compiling done in place, 55-60 ms, and the compiling costs the same.
// The whole replay, 7 alternating runs: a median of 274 ns a packet against
// 452 (every run lower); once warm, 107-111 against 105-112. Live, over a
// veth, the first 200,000 requests (6 alternating rounds): a median of 18 CPU
// ticks against 21.5. The price: the event loop stops for a few milliseconds
// while a function compiles, early in a capture; the ring buffer holds the
// samples meanwhile.

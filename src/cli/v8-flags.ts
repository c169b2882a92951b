// V8 settings for a long-running capture, set before anything else loads.
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

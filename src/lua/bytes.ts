// Bytes for the Lua strings tcpkit makes per packet (string.format's
// results, payloads). V8 keeps a Uint8Array of up to 64 bytes on its own
// heap, but gives a larger one a backing store of its own, which costs about
// a microsecond to make and later to free: on the original's example.lua that
// was a tenth of the run (node --cpu-prof, BENCHMARKS.md). So strings of
// 65..MAX_SHARED bytes are views into a shared 4 KB block instead, as
// Node's Buffer.allocUnsafe does with its 8 KB pool.
//
// The cost: a string a script keeps keeps its whole block (at most 4 KB)
// alive, as a Buffer keeps Node's pool. Lua strings never change, so sharing
// the block is otherwise invisible.

/** V8's largest on-heap typed array (JSTypedArray::kMaxSizeInHeap). */
const IN_HEAP = 64;
const BLOCK = 4096;
/** Larger strings get arrays of their own: a block is for many small ones. */
const MAX_SHARED = 512;

let block = new ArrayBuffer(BLOCK);
let used = 0;

/** A new zeroed byte array of length n, never handed out before. */
export function newBytes(n: number): Uint8Array {
  if (n <= IN_HEAP || n > MAX_SHARED) return new Uint8Array(n);
  if (used + n > BLOCK) {
    block = new ArrayBuffer(BLOCK);
    used = 0;
  }
  const bytes = new Uint8Array(block, used, n);
  // Keep every view 8-byte aligned, as malloc would.
  used += (n + 7) & ~7;
  return bytes;
}

/** A copy of src[from, to) in new bytes. */
export function copyBytes(src: Uint8Array, from: number, to: number): Uint8Array {
  const n = to - from;
  const bytes = newBytes(n);
  if (n <= 128) for (let i = 0; i < n; i++) bytes[i] = src[from + i];
  else bytes.set(src.subarray(from, to));
  return bytes;
}

// bpf/record.h is the contract; src/engine/record.ts must mirror it exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RECORD_LAYOUT } from '../../../src/engine/record';
import { SAMPLE_LAYOUT } from '../../../src/decode/sample';
import { ROOT } from '../../helpers/run';

test('record.ts mirrors the offsets and sizes of bpf/record.h', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-record-'));
  try {
    const src = path.join(dir, 'layout.c');
    fs.writeFileSync(
      src,
      `#include <stdio.h>
#include <stddef.h>
#include "record.h"
#define F(name) printf("\\"%s\\":%zu,", #name, offsetof(struct tk_record, name))
int main(void) {
  printf("{\\"size\\":%zu,\\"align\\":%d,", sizeof(struct tk_record), TK_RECORD_ALIGN);
  F(ts_sec); F(ts_nsec); F(ifindex); F(orig_len); F(cap_len); F(link_type);
  printf("\\"direction\\":%zu}", offsetof(struct tk_record, direction));
  return sizeof(struct tk_record) == TK_RECORD_HDR_LEN ? 0 : 1;
}
`,
    );
    const bin = path.join(dir, 'layout');
    execFileSync('cc', ['-I', path.join(ROOT, 'bpf'), '-o', bin, src]);
    const c = JSON.parse(execFileSync(bin, { encoding: 'utf8' }));
    assert.deepEqual(c, { ...RECORD_LAYOUT });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('decode/sample.ts mirrors the offsets and size of bpf/sample.h', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-sample-'));
  try {
    const src = path.join(dir, 'layout.c');
    const fields = Object.keys(SAMPLE_LAYOUT).filter((k) => k !== 'size');
    fs.writeFileSync(
      src,
      `#include <stdio.h>
#include <stddef.h>
#include "sample.h"
#define F(name) printf(",\\"%s\\":%zu", #name, offsetof(struct tk_sample, name))
int main(void) {
  printf("{\\"size\\":%zu", sizeof(struct tk_sample));
  ${fields.map((f) => `F(${f});`).join(' ')}
  printf("}");
  return sizeof(struct tk_sample) == TK_SAMPLE_HDR_LEN ? 0 : 1;
}
`,
    );
    const bin = path.join(dir, 'layout');
    execFileSync('cc', ['-I', path.join(ROOT, 'bpf'), '-o', bin, src]);
    const c = JSON.parse(execFileSync(bin, { encoding: 'utf8' }));
    assert.deepEqual(c, { ...SAMPLE_LAYOUT });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

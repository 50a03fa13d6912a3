import assert from "node:assert/strict";
import { rowSlices, SPLIT_FROM_ROWS } from "./column_sums.ts";

Deno.test("rowSlices: covers every row once, ~512 workgroups, no slice under 1,024 rows", () => {
  const cases: [number, number][] = [
    [SPLIT_FROM_ROWS, 1],
    [16641, 70],
    [18432, 3],
    [64 * 112 * 112, 64], // ResNet-50's first batch norm at batch 64, 224 px
    [64 * 56 * 56, 256],
    [64 * 7 * 7, 2048],
    [64 * 197, 192], // DeiT-tiny's tokens
    [1000, 5],
  ];
  for (const [rows, channels] of cases) {
    const { slices, rowsPerSlice } = rowSlices(rows, channels);
    const label = `${rows} rows × ${channels} channels: ${slices} × ${rowsPerSlice}`;
    assert.ok(slices >= 1 && slices <= 256, label);
    // the last slice is non-empty and no longer than the others
    const last = rows - (slices - 1) * rowsPerSlice;
    assert.ok(last >= 1 && last <= rowsPerSlice, label);
    assert.ok(slices === 1 || rowsPerSlice >= 1024, label);
    const groups = slices * Math.ceil(channels / 64);
    // fewer workgroups than the target only where the slice cap or the 1,024-row floor binds
    assert.ok(groups >= 512 || slices === 256 || rowsPerSlice < 2048, label);
  }
  assert.deepEqual(rowSlices(64 * 112 * 112, 64), { slices: 256, rowsPerSlice: 3136 });
  assert.deepEqual(rowSlices(16641, 70), { slices: 16, rowsPerSlice: 1041 });
});

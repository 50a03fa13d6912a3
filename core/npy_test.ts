import assert from "node:assert/strict";
import { decodeNpy, encodeNpy, FileError, readNpy, writeNpy } from "./mod.ts";

function hasNumpy(): boolean {
  try {
    const r = new Deno.Command("python3", { args: ["-c", "import numpy"], stderr: "null" })
      .outputSync();
    return r.success;
  } catch {
    return false;
  }
}

function python(code: string): string {
  const r = new Deno.Command("python3", { args: ["-c", code] }).outputSync();
  if (!r.success) throw new Error(new TextDecoder().decode(r.stderr));
  return new TextDecoder().decode(r.stdout);
}

Deno.test("encode/decode round-trips float32 and float64 of any rank", () => {
  for (const shape of [[], [0], [3], [2, 3], [2, 1, 3, 2]]) {
    const count = shape.reduce((a, b) => a * b, 1);
    for (const Ctor of [Float32Array, Float64Array]) {
      const data = new Ctor(count).map((_, i) => i * 0.5 - 1);
      const bytes = encodeNpy({ data, shape });
      // NumPy pads the header so the payload starts on a 64-byte boundary
      assert.equal((bytes.length - data.byteLength) % 64, 0);
      const back = decodeNpy(bytes);
      assert.deepEqual(back.shape, shape);
      assert.ok(back.data instanceof Ctor);
      assert.deepEqual(Array.from(back.data), Array.from(data));
    }
  }
});

Deno.test("bad files are FileErrors naming the file and the problem", () => {
  const good = encodeNpy({ data: new Float32Array([1, 2, 3, 4]), shape: [2, 2] });
  const patch = (from: string, to: string) => {
    const out = good.slice();
    const at = new TextDecoder().decode(good.subarray(0, 128)).indexOf(from);
    assert.ok(at > 0 && from.length === to.length);
    out.set(new TextEncoder().encode(to), at);
    return out;
  };
  const cases: Array<[Uint8Array, RegExp]> = [
    [new TextEncoder().encode("PK\x03\x04 not numpy at all"), /magic/],
    [good.subarray(0, good.length - 3), /truncated data/],
    [good.subarray(0, 40), /truncated .npy header/],
    [patch("'<f4'", "'<i4'"), /unsupported dtype "<i4"/],
    [patch("'fortran_order': False", "'fortran_order': True "), /Fortran/],
    [patch("'shape'", "'shapf'"), /malformed/],
  ];
  for (const [bytes, pattern] of cases) {
    assert.throws(() => decodeNpy(bytes, "x.npy"), (e: unknown) => {
      assert.ok(e instanceof FileError);
      assert.equal(e.path, "x.npy");
      assert.match(e.message, pattern);
      return true;
    });
  }
});

Deno.test("readNpy/writeNpy: atomic write, missing file error", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/a.npy`;
    await writeNpy(path, { data: new Float64Array([3, 4]), shape: [1, 2] });
    const a = await readNpy(path);
    assert.deepEqual([...a.data], [3, 4]);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["a.npy"]);
    await assert.rejects(() => readNpy(`${dir}/missing.npy`), (e: unknown) => {
      return e instanceof FileError && e.path.endsWith("missing.npy");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "NumPy reads our files and we read NumPy's (v1, v2, big-endian)",
  ignore: !hasNumpy(),
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      await writeNpy(`${dir}/ours.npy`, {
        data: Float32Array.from({ length: 24 }, (_, i) => i / 4),
        shape: [2, 3, 4],
      });
      const out = python(
        `import numpy as np; a = np.load("${dir}/ours.npy"); print(a.dtype, a.shape, float(a[1,2,3]))`,
      );
      assert.equal(out.trim(), "float32 (2, 3, 4) 5.75");
      python(
        [
          "import numpy as np",
          `a = np.arange(12, dtype=np.float64).reshape(3, 4) / 8`,
          `np.save("${dir}/v1.npy", a)`,
          `np.lib.format.write_array(open("${dir}/v2.npy", "wb"), a.astype(np.float32), version=(2, 0))`,
          `np.save("${dir}/be.npy", a.astype(">f4"))`,
          `np.save("${dir}/f.npy", np.asfortranarray(a))`,
          `np.save("${dir}/i.npy", np.arange(3))`,
        ].join("\n"),
      );
      for (const name of ["v1", "v2", "be"]) {
        const a = await readNpy(`${dir}/${name}.npy`);
        assert.deepEqual(a.shape, [3, 4]);
        assert.deepEqual([...a.data], Array.from({ length: 12 }, (_, i) => i / 8), name);
      }
      await assert.rejects(() => readNpy(`${dir}/f.npy`), /Fortran/);
      await assert.rejects(() => readNpy(`${dir}/i.npy`), /unsupported dtype/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

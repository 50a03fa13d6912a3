/**
 * `deno task crop` end to end: NumPy writes a batch, the CLI crops it, NumPy's own
 * `freq_crop` (np.fft) checks the result; and bad flags exit with code 1, naming the flag.
 */
import assert from "node:assert/strict";
import { readNpy, writeNpy } from "@efficienttrain/core";
import { main } from "../cli/crop.ts";

const CLI = new URL("../cli/crop.ts", import.meta.url).pathname;

function hasNumpy(): boolean {
  try {
    return new Deno.Command("python3", { args: ["-c", "import numpy"], stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

function python(code: string): void {
  const r = new Deno.Command("python3", { args: ["-c", code] }).outputSync();
  if (!r.success) throw new Error(new TextDecoder().decode(r.stderr));
}

/** Run `main` with console output captured (the CLI prints one line per run). */
async function run(args: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const { log, error } = console;
  console.log = (...a: unknown[]) => lines.push(a.join(" "));
  console.error = (...a: unknown[]) => lines.push(a.join(" "));
  try {
    return { code: await main(args), out: lines.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
  }
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

Deno.test({
  name: "crop CLI matches NumPy's fft2 → corners → ifft2 for a random batch",
  ignore: !hasNumpy(),
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      // NumPy transcription of the authors' freq_crop (paper) and, for odd B, the centred
      // fftshift crop that the hermitian mode equals
      python(`
import numpy as np
rng = np.random.default_rng(0)
x = rng.random((2, 3, 16, 16))
np.save("${dir}/x64.npy", x)
np.save("${dir}/x32.npy", x.astype(np.float32))
def paper(x, b):
    X = np.fft.fft2(x); h = b // 2; H, W = x.shape[-2:]
    top = np.concatenate([X[..., :h, :h], X[..., :h, -h:]], -1)
    bot = np.concatenate([X[..., -h:, :h], X[..., -h:, -h:]], -1)
    return np.real(np.fft.ifft2(np.concatenate([top, bot], -2) * (b * b) / (H * W)))
def centred(x, b):
    S = np.fft.fftshift(np.fft.fft2(x), axes=(-2, -1)); H, W = x.shape[-2:]
    c0, c1 = H // 2 - b // 2, W // 2 - b // 2
    K = np.fft.ifftshift(S[..., c0:c0 + b, c1:c1 + b], axes=(-2, -1)) * (b * b) / (H * W)
    return np.real(np.fft.ifft2(K))
np.save("${dir}/paper12.npy", paper(x, 12))
np.save("${dir}/herm9.npy", centred(x, 9))
`);
      const cases = [
        {
          input: "x64",
          backend: "reference",
          mode: "paper",
          size: 12,
          want: "paper12",
          tol: 1e-12,
        },
        { input: "x32", backend: "cpu", mode: "paper", size: 12, want: "paper12", tol: 1e-5 },
        { input: "x32", backend: "wasm", mode: "paper", size: 12, want: "paper12", tol: 1e-5 },
        {
          input: "x64",
          backend: "reference",
          mode: "hermitian",
          size: 9,
          want: "herm9",
          tol: 1e-12,
        },
        { input: "x32", backend: "wasm", mode: "hermitian", size: 9, want: "herm9", tol: 1e-5 },
      ];
      for (const c of cases) {
        const out = `${dir}/out.npy`;
        const { code, out: text } = await run([
          "--input",
          `${dir}/${c.input}.npy`,
          "--output",
          out,
          "--size",
          String(c.size),
          "--layout",
          "NCHW",
          "--mode",
          c.mode,
          "--backend",
          c.backend,
        ]);
        assert.equal(code, 0, text);
        const got = await readNpy(out);
        const want = await readNpy(`${dir}/${c.want}.npy`);
        assert.deepEqual(got.shape, want.shape);
        assert.equal(got.data instanceof Float64Array, c.input === "x64");
        const err = maxAbsDiff(got.data, want.data);
        assert.ok(err < c.tol, `${JSON.stringify(c)}: ${err}`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("crop CLI: bad input exits 1 with a message naming the flag or file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const input = `${dir}/x.npy`;
    await writeNpy(input, { data: new Float32Array(2 * 8 * 8), shape: [2, 8, 8, 1] });
    const base = ["--input", input, "--output", `${dir}/y.npy`, "--backend", "reference"];
    const cases: Array<[string[], RegExp]> = [
      [[...base, "--size", "7"], /--size = 7.*even B/],
      [[...base, "--size", "9"], /--size = 9.*cannot exceed the input H = 8/],
      [[...base, "--size", "0"], /--size = 0.*> 0/],
      [[...base, "--size", "4x"], /--size = "4x"/],
      [[...base, "--size", "4", "--layout", "CHW"], /--layout = "CHW"/],
      [[...base, "--size", "4", "--mode", "exact"], /--mode = "exact"/],
      [[...base, "--size", "4", "--method", "resize:nearest"], /--method = "resize:nearest"/],
      [[...base, "--size", "4", "--backend", "tpu"], /--backend = "tpu"/],
      [[...base, "--size", "4", "--frobnicate"], /Unknown option '--frobnicate'/],
      [["--output", `${dir}/y.npy`, "--size", "4"], /--input/],
      [
        ["--input", `${dir}/missing.npy`, "--output", `${dir}/y.npy`, "--size", "4"],
        /missing\.npy: cannot read/,
      ],
    ];
    for (const [args, pattern] of cases) {
      const { code, out } = await run(args);
      assert.equal(code, 1, args.join(" "));
      assert.match(out, pattern);
    }
    await writeNpy(`${dir}/nan.npy`, {
      data: new Float32Array([0, NaN, 0, 0]),
      shape: [1, 2, 2, 1],
    });
    const nan = await run([
      ...["--input", `${dir}/nan.npy`, "--output", `${dir}/y.npy`, "--size", "2", "--check-finite"],
      ...["--backend", "reference"],
    ]);
    assert.equal(nan.code, 1);
    assert.match(nan.out, /NaN/);
    const help = await run(["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.out, /--method/);
    // the real process exits with status 1 too
    const p = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", CLI, ...base, "--size", "5"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(p.code, 1);
    assert.match(new TextDecoder().decode(p.stderr), /--size = 5/);
    assert.equal([...Deno.readDirSync(dir)].some((e) => e.name.startsWith("y.npy")), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

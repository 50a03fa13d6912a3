import assert from "node:assert/strict";

async function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../cli/models.ts", import.meta.url).pathname, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("deno task models --json lists every variant with params and GFLOPs", async () => {
  const { code, stdout } = await run("--json");
  assert.equal(code, 0);
  const rows = JSON.parse(stdout) as { name: string; params: number; gflops: number }[];
  const by = new Map(rows.map((r) => [r.name, r]));
  assert.equal(by.get("resnet50")!.params, 25_557_032);
  assert.equal(by.get("deit_small_patch16_224")!.params, 22_050_664);
  assert.ok(by.get("swin_tiny_patch4_window7_224")!.gflops > 8.9);
  assert.ok(by.has("test_swin") && by.has("resnet20_cifar"));
});

Deno.test("deno task models: table output, and bad flags exit 2 naming the flag", async () => {
  // one input channel: the stem loses 2 × 9 × 16 = 288 of resnet8_cifar's 78,042
  const table = await run("--in-chans", "1", "--classes", "10");
  assert.equal(table.code, 0);
  assert.match(table.stdout, /resnet8_cifar\s+resnet\s+32\s+77,754/);
  const bad = await run("--classes", "2.5");
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--classes = 2.5/);
  const unknown = await run("--frobnicate");
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /frobnicate/);
});

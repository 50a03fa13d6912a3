/**
 * The package graph points one way: core ← backends ← models / data / curricula ← train ← cli.
 * Every non-test source file may import only its own package, packages below it, and (for a
 * backend) another backend; models, data and curricula do not import each other; and no file
 * reaches into another package through a relative path.
 */
import assert from "node:assert/strict";

const root = new URL("..", import.meta.url).pathname;

const PACKAGES: Record<string, { dir: string; level: number }> = {
  "@efficienttrain/core": { dir: "core", level: 0 },
  "@efficienttrain/backend-native": { dir: "backends/native", level: 1 },
  "@efficienttrain/backend-tfjs": { dir: "backends/tfjs", level: 1 },
  "@efficienttrain/backend-webgpu": { dir: "backends/webgpu", level: 1 },
  "@efficienttrain/models": { dir: "models", level: 2 },
  "@efficienttrain/data": { dir: "data", level: 2 },
  "@efficienttrain/curricula": { dir: "curricula", level: 2 },
  "@efficienttrain/train": { dir: "train", level: 3 },
  "cli": { dir: "cli", level: 4 },
};

function* sources(dir: string): Generator<string> {
  for (const e of Deno.readDirSync(`${root}${dir}`)) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) yield* sources(path);
    else if (e.name.endsWith(".ts") && !e.name.endsWith("_test.ts")) yield path;
  }
}

function packageOf(path: string): string | undefined {
  return Object.entries(PACKAGES)
    .filter(([, p]) => path === p.dir || path.startsWith(`${p.dir}/`))
    .sort((a, b) => b[1].dir.length - a[1].dir.length)[0]?.[0];
}

Deno.test("package imports point one way (core ← backends ← models/data/curricula ← train ← cli)", () => {
  const violations: string[] = [];
  let files = 0;
  for (const [name, pkg] of Object.entries(PACKAGES)) {
    for (const file of sources(pkg.dir)) {
      files++;
      const text = Deno.readTextFileSync(`${root}${file}`);
      const specifiers = [...text.matchAll(/(?:from|import)\s*\(?\s*"([^"]+)"/g)].map((m) => m[1]);
      for (const spec of specifiers) {
        let target: string | undefined;
        if (spec.startsWith("@efficienttrain/")) {
          target = spec.split("/").slice(0, 2).join("/");
        } else if (spec.startsWith(".")) {
          const resolved = new URL(spec, `file://${root}${file}`).pathname.slice(root.length);
          target = packageOf(resolved);
          if (target !== name) violations.push(`${file}: relative import into ${resolved}`);
          continue;
        } else continue;
        const to = PACKAGES[target];
        if (to === undefined) {
          violations.push(`${file}: imports unknown package ${spec}`);
          continue;
        }
        if (target === name) continue;
        const ok = to.level < pkg.level || (to.level === 1 && pkg.level === 1);
        if (!ok) {
          violations.push(
            `${file} (${name}, level ${pkg.level}) imports ${target} (level ${to.level})`,
          );
        }
      }
    }
  }
  assert.ok(files > 100, `scanned ${files} files`);
  assert.deepEqual(violations, []);
});

/**
 * Runs the JSDoc `@example` blocks of every published source file (not the unit tests,
 * which `deno task test` runs), so `deno task check` does not run the suite twice.
 */
const members = [
  "core",
  "backends/tfjs",
  "backends/native",
  "backends/webgpu",
  "models",
  "curricula",
  "data",
  "train",
];
const files: string[] = [];
async function walk(dir: string): Promise<void> {
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) await walk(path);
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith("_test.ts")) files.push(path);
  }
}
for (const member of members) await walk(member);
files.sort();
const { code } = await new Deno.Command(Deno.execPath(), {
  args: ["test", "-A", "--doc", "--permit-no-files", ...files],
  stdout: "inherit",
  stderr: "inherit",
}).output();
Deno.exit(code);

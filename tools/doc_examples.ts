/**
 * Runs the JSDoc `@example` blocks of every published source file (not the unit tests,
 * which `deno task test` runs), so `deno task check` does not run the suite twice. An example
 * whose `console.assert` fails fails the check.
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
const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
  args: ["test", "-A", "--doc", "--permit-no-files", ...files],
  stdout: "piped",
  stderr: "piped",
}).output();
const colours = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g");
const output = (new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr))
  .replace(colours, "");
await Deno.stdout.write(stdout);
await Deno.stderr.write(stderr);
// The examples assert with console.assert, which prints and carries on: a false one would pass
// as a test, so each "Assertion failed" fails the check, named by the example that printed it.
const failed: string[] = [];
let example = "";
for (const line of output.split("\n")) {
  const running = line.match(/running \d+ tests? from (\S+)/);
  if (running) example = running[1];
  if (line.includes("Assertion failed")) failed.push(example);
}
if (failed.length > 0) {
  console.error(`console.assert failed in ${failed.length} example(s): ${failed.join(", ")}`);
  Deno.exit(1);
}
Deno.exit(code);

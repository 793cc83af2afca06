// The ci bench's baseline in a process of its own (`node run-loop.js STEPS` prints the milliseconds):
// the same step command run STEPS times in a row with quire/runtime's run(), timed after one untimed
// loop. In the bench's own process it measured whatever the earlier benches had left there (a fork costs
// more from a bigger process).
import { stepCommand } from "../../src/ci/runner/shell.js";
import { run } from "../../src/runtime/index.js";

const steps = Number(process.argv[2]);
const { file, args } = stepCommand("true");
const loop = async () => {
  for (let i = 0; i < steps; i++) await run(file, args);
};
await loop();
const start = performance.now();
await loop();
process.stdout.write(`${performance.now() - start}\n`);

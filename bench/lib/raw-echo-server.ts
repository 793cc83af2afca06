// The baseline server: a plain Unix-socket echo in its own process, with no framing and no protocol.
// Usage: node raw-echo-server.js SOCKET  (prints "ready" when listening)
import { unlinkSync } from "node:fs";
import { createServer } from "node:net";

const path = process.argv[2]!;
try {
  unlinkSync(path);
} catch {}
createServer((socket) => {
  socket.on("error", () => socket.destroy());
  socket.pipe(socket);
}).listen(path, () => process.stdout.write("ready\n"));
process.on("disconnect", () => process.exit(0));

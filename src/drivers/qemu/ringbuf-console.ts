// The guest's serial console as QEMU keeps it: a ring buffer chardev of
// RINGBUF_BYTES inside QEMU (the newest output; older output is overwritten,
// so a chatty guest costs QEMU a fixed amount however long it runs, plugin or
// no plugin). While Start watches the boot, this drains it through the
// console monitor socket (QMP ringbuf-read, base64) into serial.log, which is
// capped and rotated (console-log.ts), and hands the lines to the boot watch.
import { BoundedLog, readTail } from "../guest/console-log.js";
import { ConsoleLines, tailLines, type ConsoleSource } from "../guest/console-source.js";
import { QmpClient } from "./qmp-client.js";

/** QEMU's ring buffer for the console (a power of two, as QEMU requires). */
export const RINGBUF_BYTES = 1024 * 1024;
/** The chardev id the ring buffer has in QEMU's command line. */
export const CONSOLE_CHARDEV = "ser0";
/** Read per look; the ring holds more only when a guest writes faster than we look. */
const READ_BYTES = 256 * 1024;

export class RingbufConsole implements ConsoleSource {
  private monitor: QmpClient | undefined;
  private connecting: Promise<QmpClient | undefined> | undefined;
  private readonly lines = new ConsoleLines();
  private readonly log: BoundedLog;
  private opened = false;
  private closed = false;

  constructor(
    private readonly monitorPath: string,
    logPath: string,
  ) {
    this.log = new BoundedLog(logPath);
  }

  get sawReady(): boolean {
    return this.lines.sawReady;
  }

  async newLines(): Promise<string[]> {
    if (this.closed) return [];
    if (!this.opened) {
      this.opened = true;
      await this.log.open();
    }
    const monitor = await this.connect();
    if (!monitor) return [];
    let data: string;
    try {
      data = await monitor.execute<string>(
        "ringbuf-read",
        { device: CONSOLE_CHARDEV, size: READ_BYTES, format: "base64" },
        5_000,
      );
    } catch {
      // QEMU is going away or the monitor is gone: the boot watch's liveness check says which.
      this.drop();
      return [];
    }
    if (typeof data !== "string" || data === "") return [];
    const chunk = Buffer.from(data, "base64");
    await this.log.append(chunk);
    return this.lines.push(chunk.toString("latin1"));
  }

  async tail(): Promise<string> {
    // What QEMU still holds comes first into the log.
    if (!this.closed) await this.newLines().catch(() => undefined);
    return tailLines(await readTail(this.log.path));
  }

  close(): void {
    this.closed = true;
    this.drop();
    void this.log.close();
  }

  private drop(): void {
    this.monitor?.close();
    this.monitor = undefined;
  }

  private connect(): Promise<QmpClient | undefined> {
    if (this.monitor && !this.monitor.closed) return Promise.resolve(this.monitor);
    this.connecting ??= QmpClient.connect(this.monitorPath, { timeoutMs: 3_000 })
      .then((client) => {
        if (this.closed) {
          client.close();
          return undefined;
        }
        this.monitor = client;
        return client;
      })
      .catch(() => undefined)
      .finally(() => (this.connecting = undefined));
    return this.connecting;
  }
}

// A plugin under test, launched through the real host (launch()): the host's
// own trust checks apply, every call has the kit's step deadline, and every
// line the plugin logs is kept so hygiene checks can read it.
import type { DriverServiceService } from "../../generated/driverplug/driver/v1/driver.js";
import { launch } from "../host/launch.js";
import type { HostLogRecord } from "../host/host-logger.js";
import type { PluginHandle } from "../host/plugin-handle.js";
import type { TypedClient } from "../host/typed-client.js";
import type { KitSettings } from "./kit-settings.js";
import type { LeftProcesses } from "./left-processes.js";
import { approximateBytes, MAX_LOG_BYTES, MAX_LOG_RECORDS } from "./kept-output.js";

export type DriverClient = TypedClient<typeof DriverServiceService>;

/** What the kit keeps of a plugin's log: a flood is cut at MAX_LOG_RECORDS records or MAX_LOG_BYTES. */
class KeptLog {
  readonly records: HostLogRecord[] = [];
  private bytes = 0;
  /** True once a record was left out: the log the kit holds is not the whole log. */
  cut = false;

  keep(record: HostLogRecord): void {
    const size = approximateBytes(record.message) + approximateBytes(record.fields);
    if (this.cut || this.records.length >= MAX_LOG_RECORDS || this.bytes + size > MAX_LOG_BYTES) {
      this.cut = true;
      return;
    }
    this.bytes += size;
    this.records.push(record);
  }
}

export class KitPlugin {
  private constructor(
    readonly handle: PluginHandle,
    private readonly log: KeptLog,
    private readonly left: LeftProcesses | undefined,
  ) {}

  /** `left`: where the plugin's leftover processes are noted (its check's), when it belongs to a check. */
  static async launch(
    settings: KitSettings,
    env: Record<string, string> = {},
    left?: LeftProcesses,
  ): Promise<KitPlugin> {
    const log = new KeptLog();
    const handle = await launch(settings.name, {
      executable: settings.executable,
      env: { ...settings.env, ...env },
      inheritEnv: settings.inheritEnv,
      cookie: settings.cookie,
      ...(settings.socketBaseDir !== undefined ? { socketBaseDir: settings.socketBaseDir } : {}),
      startTimeoutMs: settings.startTimeoutMs ?? settings.stepTimeoutMs,
      logger: {
        log(record) {
          log.keep(record);
        },
      },
      callDefaults: {
        // WatchState may rightly stay open as long as the check reads it.
        timeoutMs: (name) => (name === "watchState" ? undefined : settings.stepTimeoutMs),
      },
      graceMs: 2000,
      termGraceMs: 2000,
    });
    // What it started while starting up is noted now: a child that leaves its group is no longer its descendant once the plugin is gone.
    left?.note(handle.pid);
    return new KitPlugin(handle, log, left);
  }

  get client(): DriverClient {
    return this.handle.client;
  }

  get pid(): number {
    return this.handle.pid;
  }

  get appVersion(): number {
    return this.handle.record.appVersion;
  }

  get gone(): boolean {
    return this.handle.gone;
  }

  /** Everything the plugin logged so far (stderr and later stdout), one record per line. */
  logText(): string {
    return this.log.records.map((r) => `${r.level} ${r.message} ${JSON.stringify(r.fields)}`).join("\n");
  }

  /** True when the plugin logged more than the kit keeps (logText() then holds only the first part). */
  get logCut(): boolean {
    return this.log.cut;
  }

  /** SIGKILL, as a crash would; the handle then reaps it and removes its private dir. */
  async kill(): Promise<void> {
    this.left?.note(this.handle.pid);
    if (!this.handle.gone) {
      try {
        process.kill(this.handle.pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
    await this.close();
  }

  /** Closes the plugin; what it leaves running is noted for its check first. */
  async close(): Promise<void> {
    this.left?.note(this.handle.pid);
    await this.handle.close();
    this.left?.endedByHost(this.handle.leftBehind);
  }
}

// A plugin under test, launched through the real host (launch()): the host's
// own trust checks apply, every call has the kit's step deadline, and every
// line the plugin logs is kept so hygiene checks can read it.
import type { DriverServiceService } from "../../generated/driverplug/driver/v1/driver.js";
import { launch } from "../host/launch.js";
import type { HostLogRecord } from "../host/host-logger.js";
import type { PluginHandle } from "../host/plugin-handle.js";
import type { TypedClient } from "../host/typed-client.js";
import type { KitSettings } from "./kit-settings.js";

export type DriverClient = TypedClient<typeof DriverServiceService>;

/** Far more than a check makes a healthy plugin log; a flood is cut here. */
const MAX_LOG_RECORDS = 20_000;

export class KitPlugin {
  private constructor(
    readonly handle: PluginHandle,
    private readonly records: HostLogRecord[],
  ) {}

  static async launch(settings: KitSettings, env: Record<string, string> = {}): Promise<KitPlugin> {
    const records: HostLogRecord[] = [];
    const handle = await launch(settings.name, {
      executable: settings.executable,
      env: { ...settings.env, ...env },
      cookie: settings.cookie,
      ...(settings.socketBaseDir !== undefined ? { socketBaseDir: settings.socketBaseDir } : {}),
      startTimeoutMs: settings.stepTimeoutMs,
      logger: {
        log(record) {
          if (records.length < MAX_LOG_RECORDS) records.push(record);
        },
      },
      callDefaults: {
        // WatchState may rightly stay open as long as the check reads it.
        timeoutMs: (name) => (name === "watchState" ? undefined : settings.stepTimeoutMs),
      },
      graceMs: 2000,
      termGraceMs: 2000,
    });
    return new KitPlugin(handle, records);
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
    return this.records.map((r) => `${r.level} ${r.message} ${JSON.stringify(r.fields)}`).join("\n");
  }

  /** SIGKILL, as a crash would; the handle then reaps it and removes its private dir. */
  async kill(): Promise<void> {
    if (!this.handle.gone) {
      try {
        process.kill(this.handle.pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
    await this.handle.close();
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

// A running plugin as the host holds it: the typed client, the record to
// reattach later, and close(). It fails in-flight calls the moment the
// plugin dies, and closes in go-plugin's order: Shutdown RPC, grace period,
// SIGTERM, wait, SIGKILL; then the channel and private directory go.
import { Code } from "../protocol/status.js";
import type { Client } from "@grpc/grpc-js";
import type { DriverServiceService } from "../../generated/driverplug/driver/v1/driver.js";
import { GRPCControllerService } from "../../generated/plugin/grpc_controller.js";
import { HealthCheckResponse_ServingStatus, HealthService } from "../../generated/grpc/health/v1/health.js";
import { IDLE_EXIT_CHECK_MS, IDLE_EXIT_HEALTH_SERVICE } from "../protocol/env.js";
import type { ServiceDefinitionShape } from "../protocol/service-types.js";
import type { CallDefaults } from "./call-options.js";
import { ClientError } from "./client-error.js";
import { guardPlugin } from "./host-exit-guard.js";
import type { PluginExit, PluginProcess } from "./plugin-process.js";
import type { GroupMember } from "./process-group.js";
import { removePrivateDir, removePrivateDirSync } from "./private-socket-dir.js";
import type { ReattachRecord } from "./reattach-record.js";
import { machineClient } from "./machine-client.js";
import type { ClientMiddleware } from "./client-middleware.js";
import { createTypedClient, type CallTracker, type TypedClient } from "./typed-client.js";

export interface CloseOptions {
  /** How long the plugin has to exit after the Shutdown RPC before SIGTERM; default 2000 ms. */
  graceMs?: number;
  /** How long it has after SIGTERM before SIGKILL; default 2000 ms. */
  termGraceMs?: number;
}

/** How long a transport failure waits for the exit that may explain it. */
const DEATH_EXPLAIN_MS = 500;

export interface HandleParts<S extends ServiceDefinitionShape> {
  name: string;
  process: PluginProcess;
  channel: Client;
  record: ReattachRecord;
  service: S;
  callDefaults: CallDefaults;
  /** Around every call of the client, the first listed outermost. */
  middleware?: readonly ClientMiddleware[];
  close: CloseOptions;
  /** Ends the launching side's hold on the process (stdin pipe, listeners). */
  release?: () => Promise<void>;
  /** Lets go of the pinned socket (pinned-socket.ts) once the channel is closed. */
  unpin?: () => void;
  /** Removes the private dir on close; default: all of it (a dir this host made). */
  removeDir?: () => Promise<void>;
  /** For a warm launched plugin: detach() lets go of its pipes and child handle, leaving it running. */
  letGo?: () => void;
  /** Resolves when the process is gone, for launched plugins. */
  died?: Promise<unknown>;
  /**
   * Kill the plugin when this host process ends: true for plugins it
   * launched; a reattached plugin follows the lifetime of its launcher.
   */
  guard: boolean;
}

/** The typed client of a DriverService plugin, as `launch()` gives it. */
export type DriverClient = TypedClient<typeof DriverServiceService>;

/** A running plugin; `S` is the service its client speaks (DriverService unless launched with another). */
export class PluginHandle<S extends ServiceDefinitionShape = typeof DriverServiceService> {
  readonly name: string;
  readonly pid: number;
  /** Save as JSON to reattach from another host process. */
  readonly record: ReattachRecord;
  readonly client: TypedClient<S>;
  private readonly process: PluginProcess;
  private readonly channel: Client;
  private readonly inflight = new Set<(details: string) => void>();
  private readonly unguard: () => void;
  private closing: Promise<void> | undefined;
  private left: readonly GroupMember[] = [];

  constructor(private readonly parts: HandleParts<S>) {
    this.name = parts.name;
    this.pid = parts.process.pid;
    this.record = Object.freeze({ ...parts.record });
    this.process = parts.process;
    this.channel = parts.channel;
    this.client = createTypedClient(parts.service, parts.channel, {
      defaults: parts.callDefaults,
      tracker: this.tracker(),
      middleware: parts.middleware,
    });
    this.unguard = parts.guard ? guardPlugin({ killNow: () => this.killNow(), close: () => this.close() }) : () => {};
    parts.died?.then(() => this.onDeath());
  }

  /** True once the plugin's process is known to be gone. */
  get gone(): boolean {
    return this.process.gone();
  }

  /**
   * After close(): the processes found in the plugin's process group once the
   * plugin was gone (children it left running), which close() then ended.
   * Empty for a plugin that cleaned up after itself, and for reattached plugins.
   */
  get leftBehind(): readonly GroupMember[] {
    return this.left;
  }

  /** How the plugin's process ended, once it has (launched plugins only). */
  get exit(): PluginExit | undefined {
    return this.process.exit;
  }

  /**
   * A client whose calls name `machine` (the `driverplug-machine` key), for a
   * plugin that advertises CAPABILITY_MACHINE_INSTANCES in GetInfo.
   */
  forMachine(machine: string): TypedClient<S> {
    return machineClient(this.client, machine);
  }

  /** Stops the plugin; idempotent, and concurrent callers share one promise. */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  /** `await using plugin = await launch(...)` closes the plugin when the block ends, as close() does. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * Disconnects without stopping the plugin (e.g. after reattach, to leave a
   * long-lived driver running for the next host). Calls in flight are
   * cancelled. A plugin launched with `idleExitMs` is let go of entirely: it
   * outlives this host and ends after its idle period; any other launched
   * plugin still ends with this host.
   */
  detach(): void {
    if (this.closing) return;
    this.closing = Promise.resolve();
    this.channel.close();
    this.parts.unpin?.();
    this.unguard();
    this.parts.letGo?.();
  }

  /**
   * Whether the plugin ends by itself when idle (it was launched with
   * `idleExitMs`, or reattached to such a plugin, and serves driverplug's
   * health name for it). False for go-plugin plugins and for errors.
   */
  async honoursIdleExit(timeoutMs = IDLE_EXIT_CHECK_MS): Promise<boolean> {
    try {
      const health = createTypedClient(HealthService, this.channel);
      const answer = await health.check({ service: IDLE_EXIT_HEALTH_SERVICE }, { timeoutMs });
      return answer.status === HealthCheckResponse_ServingStatus.SERVING;
    } catch {
      return false;
    }
  }

  private tracker(): CallTracker {
    return {
      track: (fail) => {
        if (this.process.gone()) {
          fail(this.process.describeDeath());
          return () => {};
        }
        this.inflight.add(fail);
        return () => this.inflight.delete(fail);
      },
      explain: async (err) => {
        // A dying plugin's calls end UNAVAILABLE (connection lost) or CANCELLED (its server
        // shut down); INTERNAL is also a driver's own status, so it is only rewritten after the fact.
        const mayBeDeath = err.code === Code.UNAVAILABLE || err.code === Code.CANCELLED;
        if (!mayBeDeath && err.code !== Code.INTERNAL) return err;
        const gone = this.process.gone() || (mayBeDeath && (await this.process.waitGone(DEATH_EXPLAIN_MS)));
        if (!gone) return err;
        return new ClientError(err.path, Code.UNAVAILABLE, this.process.describeDeath(), err.metadata, {
          cause: err,
        });
      },
    };
  }

  private onDeath(): void {
    const details = this.process.describeDeath();
    for (const fail of [...this.inflight]) fail(details);
    this.inflight.clear();
  }

  private async shutDown(): Promise<void> {
    const graceMs = this.parts.close.graceMs ?? 2000;
    const termGraceMs = this.parts.close.termGraceMs ?? 2000;
    this.process.noteClosedByHost();
    if (!this.process.gone()) {
      const ac = new AbortController();
      const controller = createTypedClient(GRPCControllerService, this.channel);
      // The plugin may answer and exit, answer and linger, or never answer: the grace period bounds all three.
      const shutdown = controller.shutdown({}, { timeoutMs: graceMs, signal: ac.signal }).catch(() => undefined);
      const exited = await this.process.waitGone(graceMs);
      ac.abort();
      await shutdown;
      if (!exited) {
        this.process.signal("SIGTERM");
        if (!(await this.process.waitGone(termGraceMs))) {
          this.process.signal("SIGKILL");
          await this.process.waitGone(10_000);
        }
      }
    }
    this.onDeath();
    this.channel.close();
    this.parts.unpin?.();
    // After the plugin's own stop path: what it left in its group is ended (before its output is drained,
    // which a leftover holding the pipes would otherwise hold up).
    if (this.process.endLeftovers) this.left = Object.freeze(await this.process.endLeftovers(termGraceMs));
    await this.parts.release?.();
    await (this.parts.removeDir ?? (() => removePrivateDir(this.record.privateDir)))();
    this.unguard();
  }

  private killNow(): void {
    this.process.signal("SIGKILL");
    removePrivateDirSync(this.record.privateDir);
  }
}

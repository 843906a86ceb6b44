// How a serving plugin ends. SIGINT is ignored (the host owns the plugin);
// SIGTERM, Shutdown and the host's death stop it gracefully (tryShutdown,
// then forceShutdown after a grace period, since tryShutdown waits for open
// streams forever); an uncaught exception or unhandled rejection logs its
// stack and exits 1. Every path removes the socket file.
import type { Server } from "@grpc/grpc-js";
import { rmdirSync } from "node:fs";
import { HealthCheckResponse_ServingStatus } from "../../generated/grpc/health/v1/health.js";
import type { HealthState } from "./health-service.js";
import type { Logger } from "./logger.js";
import { removeSocketFile } from "./socket-listener.js";

/** Long enough for calls to finish, shorter than go-plugin's 2 s before SIGKILL. */
export const DEFAULT_SHUTDOWN_GRACE_MS = 1000;

export class PluginLifecycle {
  private socketPath: string | undefined;
  private orphanedDir: string | undefined;
  private server: Server | undefined;
  private health: HealthState | undefined;
  private stopping = false;
  private readonly cleanups: Array<() => void> = [];

  constructor(
    private readonly log: Logger,
    private readonly graceMs = DEFAULT_SHUTDOWN_GRACE_MS,
  ) {}

  install(): void {
    process.on("SIGINT", () => this.log.debug("ignoring SIGINT: the host stops this plugin with Shutdown or SIGTERM"));
    process.on("SIGTERM", () => this.requestStop("received SIGTERM"));
    process.on("uncaughtException", (err) => this.crash("uncaught exception", err));
    process.on("unhandledRejection", (reason) => this.crash("unhandled promise rejection", reason));
    process.on("exit", () => this.removeSocket());
    // A host that died takes the read ends of our pipes with it: EPIPE on a
    // log line must not turn into a crash loop.
    process.stdout.on("error", () => {});
    process.stderr.on("error", () => {});
  }

  socketBound(path: string): void {
    this.socketPath = path;
  }

  serving(server: Server, health: HealthState): void {
    this.server = server;
    this.health = health;
  }

  /** After the socket, remove this directory too if it is empty (the host that made it is gone). */
  removeDirOnExit(dir: string): void {
    this.orphanedDir = dir;
  }

  onStop(cleanup: () => void): void {
    this.cleanups.push(cleanup);
  }

  /** Graceful stop; safe to call more than once. */
  requestStop(why: string): void {
    if (this.stopping) return;
    this.stopping = true;
    this.log.info("plugin stopping", { reason: why });
    this.health?.set(HealthCheckResponse_ServingStatus.NOT_SERVING);
    const server = this.server;
    if (!server) {
      this.exit(0);
      return;
    }
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      this.exit(0);
    };
    const timer = setTimeout(() => {
      this.log.debug("calls still open after the grace period; closing them", { graceMs: this.graceMs });
      server.forceShutdown();
      finish();
    }, this.graceMs);
    server.tryShutdown(finish);
  }

  /** A start-up failure: say why on stderr, exit 1. */
  failStart(err: unknown): never {
    this.log.error(`plugin cannot start: ${err instanceof Error ? err.message : String(err)}`);
    return this.exit(1);
  }

  private crash(what: string, err: unknown): void {
    this.log.error(`plugin crashed: ${what}: ${err instanceof Error ? err.message : String(err)}`, {
      error: err instanceof Error ? err : String(err),
    });
    this.exit(1);
  }

  private exit(code: number): never {
    for (const cleanup of this.cleanups.splice(0)) {
      try {
        cleanup();
      } catch (err) {
        this.log.debug("cleanup failed while exiting", { error: err instanceof Error ? err : String(err) });
      }
    }
    this.removeSocket();
    process.exit(code);
  }

  private removeSocket(): void {
    if (this.socketPath !== undefined) {
      removeSocketFile(this.socketPath);
      this.socketPath = undefined;
    }
    if (this.orphanedDir !== undefined) {
      // Not recursive: a directory with anything left in it is not ours to judge.
      try {
        rmdirSync(this.orphanedDir);
      } catch {
        // Already gone, not empty, or replaced: leave it.
      }
      this.orphanedDir = undefined;
    }
  }
}

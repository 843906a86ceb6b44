// The qemu driver: real virtual machines, one per plugin instance, each in its
// own private directory under its store path. QEMU runs detached, so the VM
// outlives the plugin; every answer about the machine's state is read from the
// system (pidfile lock, QMP), so a later plugin sees the truth after a crash of
// the plugin, of QEMU or of the host.
import { promises as fs } from "node:fs";
import {
  State,
  type Progress,
  alreadyExists,
  DriverError,
  failedPrecondition,
  internal,
  notFound,
  type Driver,
  type CallContext,
  type Logger,
} from "../../plugin/index.js";
import { SocketDirError } from "../../socket/private-dir.js";
import { SocketFileError } from "../../socket/socket-file.js";
import { randomBytes } from "node:crypto";
import { watchBoot } from "../guest/boot-watch.js";
import { BundleError, copyBundleFile } from "../guest/bundle.js";
import { findIsoTool, ISO_TOOL_HINT, makeSeed } from "../guest/cloud-init-seed.js";
import { checkBaseImage, ImageRefusal, makeDisk } from "../guest/disk-image.js";
import { chooseFirmware, findOvmf, OVMF_HINT } from "../guest/firmware.js";
import { pickFreePort } from "../guest/free-port.js";
import { findExecutable } from "../guest/host-tools.js";
import { SocketReadyPort } from "../guest/readiness.js";
import { FileRefusal } from "../guest/regular-file.js";
import { makeSshKey } from "../guest/ssh-key.js";
import { sshAnswers, sshAnswersOnSocket } from "../guest/ssh-probe.js";
import { configCodec, type QemuConfig } from "./config.js";
import { applyFlags, createFlags } from "./flags.js";
import { MachineFiles, SOCKETS } from "./machine-files.js";
import { readRecord, writeRecord, type MachineRecord } from "./machine-record.js";
import { imageLabel, loadSource, SourceError, type MachineSource } from "./machine-source.js";
import { pidfileStatus, processExists } from "./pidfile-lock.js";
import { processGone, sigkill, waitGone } from "./process-exit.js";
import { buildQemuArgv } from "./qemu-argv.js";
import { kernelCmdline } from "../guest/kernel-cmdline.js";
import {
  acceleratorFor,
  refuseImmutableChanges,
  refuseUnlessRunning,
  requireConfig,
  requireMachine,
} from "../guest/machine-preconditions.js";
import { launchQemu, LaunchError } from "./qemu-launch.js";
import { qmpOnce } from "./qmp-client.js";
import { RingbufConsole } from "./ringbuf-console.js";
import { stateWord } from "../guest/state-word.js";
import { StateFeed } from "./state-feed.js";
import { observeVm } from "./vm-state.js";

/** Fields fixed at Create: the disk and files were made from them. */
const IMMUTABLE: ReadonlyArray<keyof QemuConfig> = [
  "machineName",
  "storePath",
  "bundlePath",
  "imagePath",
  "bundleName",
  "diskGiB",
  "firmware",
  "sshUser",
];
const PORT_ATTEMPTS = 5;
/** After QMP quit, and after SIGKILL: how long QEMU gets to be gone. */
const QUIT_WAIT_MS = 10_000;
const KILL_WAIT_MS = 30_000;

const progress = (p: Progress) => ({ progress: p });

export class QemuDriver implements Driver {
  private config: QemuConfig | undefined;
  private files: MachineFiles | undefined;
  /** Set while this plugin starts or stops the machine; never persisted. */
  private transient: State | undefined;
  private creating = false;
  /** The QEMU a Start in flight launched, so a pre-empting Kill can end it before Start notices. */
  private launchedPid: number | undefined;
  private readonly feed = new StateFeed(
    () => this.currentState(),
    () => this.files?.socket("qmpWatch"),
  );

  constructor(private readonly log: Logger) {}

  async getCreateFlags() {
    return { flags: createFlags() };
  }

  async setConfigFromFlags({ values }: { values: Parameters<typeof applyFlags>[1] }) {
    this.config = applyFlags(this.requireConfig(), values);
    return {};
  }

  async getConfig() {
    return { configJson: configCodec.encode(this.requireConfig()) };
  }

  async setConfig({ configJson }: { configJson: Buffer }) {
    const config = configCodec.decode(configJson);
    this.config = config;
    this.files = new MachineFiles(config.storePath);
    this.feed.publish();
    return {};
  }

  async updateConfig({ configJson }: { configJson: Buffer }) {
    const current = this.requireConfig();
    const next = configCodec.decode(configJson);
    refuseImmutableChanges(current, next, IMMUTABLE);
    await this.requireMachine("update");
    if (JSON.stringify(next) === JSON.stringify(current)) return {};
    const { state } = await observeVm(this.files!);
    if (state !== State.STATE_STOPPED)
      throw failedPrecondition(
        `machine "${current.machineName}" is ${stateWord(state)}; stop it before changing its config (cpus, memory...)`,
      );
    this.config = next;
    return {};
  }

  async preCreateCheck(_request: unknown, ctx?: CallContext) {
    const config = this.requireConfig();
    if (await this.files!.exists())
      throw failedPrecondition(`machine "${config.machineName}" already exists in ${this.files!.dir}`);
    const source = await this.loadConfiguredSource(ctx?.signal);
    const missing: string[] = [];
    for (const tool of [config.qemuBinary, "qemu-img", "ssh-keygen"]) {
      if (!(await findExecutable(tool))) missing.push(tool);
    }
    if (missing.length > 0)
      throw failedPrecondition(
        `${missing.join(", ")} not found on PATH; install them (Debian: apt-get install --no-install-recommends qemu-system-x86 qemu-utils openssh-client)`,
      );
    if (source.image && !(await findIsoTool()))
      throw failedPrecondition(`disk images need a cloud-init seed: ${ISO_TOOL_HINT}`);
    if (source.image && config.firmware === "uefi" && !(await findOvmf())) throw failedPrecondition(OVMF_HINT);
    await acceleratorFor(config.accelerator);
    return {};
  }

  async *create(_request: unknown, { signal }: CallContext) {
    const config = this.requireConfig();
    const files = this.files!;
    if (await files.exists()) throw alreadyExists(`machine "${config.machineName}" already exists in ${files.dir}`);
    this.creating = true;
    let staging: MachineFiles | undefined;
    try {
      yield progress({ step: "check", message: "Checking the bundle or image", percent: 5 });
      const source = await this.loadConfiguredSource(signal);
      await acceleratorFor(config.accelerator);
      let leftovers: string[];
      try {
        leftovers = await files.removeLeftovers(
          processExists,
          async () => (await observeVm(files)).state !== State.STATE_STOPPED,
        );
        staging = await files.makeStaging();
      } catch (err) {
        if (err instanceof SocketDirError) throw failedPrecondition(err.message);
        throw err;
      }
      if (leftovers.length > 0)
        yield progress({
          step: "check",
          message: `Removed what an interrupted Create of this machine left in ${leftovers.join(", ")}`,
          percent: 8,
        });
      signal.throwIfAborted();
      yield progress({ step: "key", message: "Making the SSH key (ed25519)", percent: 20 });
      const publicKey = await makeSshKey(staging.path("key"), `driverplug-${config.machineName}`, signal);
      const record: MachineRecord = {
        name: config.machineName,
        bundleName: source.label,
        sshUser: source.sshUser,
        readiness: source.readiness,
        ...(source.sshChannel ? { sshChannel: source.sshChannel } : {}),
      };
      if (source.kind === "bundle" && source.bundle.kernelPath) {
        yield progress({ step: "kernel", message: "Copying the kernel and initrd", percent: 35 });
        await copyBundleFile(source.bundle, "kernel", staging.path("kernel"), signal);
        if (source.bundle.initrdPath) await copyBundleFile(source.bundle, "initrd", staging.path("initrd"), signal);
        record.kernelCmdline = kernelCmdline(source.bundle.manifest.cmdline, publicKey, config.machineName);
        record.hasInitrd = source.bundle.initrdPath !== undefined;
      }
      signal.throwIfAborted();
      yield progress({
        step: "disk",
        message: source.image
          ? `Making a ${config.diskGiB} GiB disk on the base image ${source.image.path} (never written)`
          : `Making a ${config.diskGiB} GiB disk`,
        percent: 55,
      });
      await makeDisk(staging.path("disk"), config.diskGiB, source.image, signal);
      if (source.image) {
        record.baseImage = { path: source.image.path, format: source.image.format };
        if (!record.kernelCmdline) {
          const { firmware, why } = await chooseFirmware(config.firmware, source.image, staging.dir, signal);
          record.firmware = firmware;
          if (firmware === "uefi") {
            const ovmf = await findOvmf();
            if (!ovmf) throw failedPrecondition(`${why}, so it boots with UEFI; ${OVMF_HINT}`);
            await fs.copyFile(ovmf.vars, staging.path("efiVars"));
          }
          yield progress({
            step: "firmware",
            message: `Booting by ${firmware === "bios" ? "BIOS (SeaBIOS)" : "UEFI (OVMF)"}: ${why}`,
            percent: 65,
          });
        }
        yield progress({ step: "seed", message: "Making the cloud-init seed (user, SSH key, host name)", percent: 70 });
        record.instanceId = randomBytes(6).toString("hex");
        record.hasSeed = true;
        await this.writeSeed(staging, record, publicKey, config, signal);
      }
      signal.throwIfAborted();
      const sshPort = config.sshPort === 0 ? await pickFreePort() : config.sshPort;
      record.sshPort = sshPort;
      yield progress({ step: "port", message: `SSH will be forwarded from 127.0.0.1:${sshPort}`, percent: 85 });
      // The tools made their files under the plugin's umask: the directory is private, the files are too.
      for (const file of ["disk", "kernel", "initrd", "publicKey", "seed", "efiVars"] as const)
        await fs.chmod(staging.path(file), 0o600).catch(() => undefined);
      await writeRecord(staging.path("record"), record);
      if (!(await files.commit(staging)))
        throw alreadyExists(
          `machine "${config.machineName}" already exists in ${files.dir} (another Create finished first)`,
        );
      staging = undefined;
      this.config = { ...config, bundleName: record.bundleName, sshPort };
      this.feed.publish();
      yield progress({ step: "done", message: `Machine "${config.machineName}" created (stopped)`, percent: 100 });
    } catch (err) {
      // Leave no half-made machine behind.
      if (staging) await staging.removeAll();
      throw mapError(err);
    } finally {
      this.creating = false;
    }
  }

  async *start(_request: unknown, ctx: CallContext) {
    yield* this.startMachine(ctx.signal);
  }

  async stop(_request: unknown, { signal }: CallContext) {
    await this.stopMachine(signal);
    return {};
  }

  async restart(_request: unknown, { signal }: CallContext) {
    await this.stopMachine(signal);
    for await (const _ of this.startMachine(signal)) {
      // Restart reports no progress; it only has to finish.
    }
    return {};
  }

  async kill() {
    const config = this.requireConfig();
    const files = this.files!;
    if (!(await files.exists())) {
      // A Create in flight has just been aborted and cleans up after itself.
      if (this.creating) return {};
      throw notFound(`machine "${config.machineName}" does not exist`);
    }
    const launched = this.launchedPid;
    if (launched !== undefined) sigkill(launched);
    const status = await pidfileStatus(files.path("pidfile"));
    // Only a pid proven by the lock is signalled: a stale pidfile may name anyone's process.
    if (status.kind === "locked") sigkill(status.pid);
    for (const pid of [launched, status.kind === "locked" ? status.pid : undefined]) {
      if (pid !== undefined && !(await waitGone(pid, KILL_WAIT_MS)))
        throw internal(`QEMU (pid ${pid}) is still there ${KILL_WAIT_MS / 1000} s after SIGKILL`);
    }
    await observeVm(files);
    this.log.info("machine killed", { machine: config.machineName });
    this.feed.publish();
    return {};
  }

  async remove() {
    const config = this.requireConfig();
    const files = this.files!;
    if (!(await files.exists())) {
      if (!this.creating) await files.removeEverything();
      return {};
    }
    const { state } = await observeVm(files);
    if (state !== State.STATE_STOPPED)
      throw failedPrecondition(
        `machine "${config.machineName}" is ${stateWord(state)}; stop or kill it before removing it`,
      );
    await files.removeEverything();
    this.feed.publish(State.STATE_NONE_UNSPECIFIED);
    return {};
  }

  async getState() {
    this.requireConfig();
    return { state: await this.currentState() };
  }

  async *watchState(_request: unknown, { signal }: CallContext) {
    this.requireConfig();
    for await (const state of this.feed.watch(signal)) yield { state };
  }

  async getMachineName() {
    return { name: this.requireConfig().machineName };
  }

  async getIp() {
    await this.requireRunning("an IP address");
    // User-mode networking: the guest is reached through forwards on the host's loopback.
    return { ip: "127.0.0.1" };
  }

  async getSshInfo() {
    const { record } = await this.requireRunning("SSH access");
    return {
      hostname: "127.0.0.1",
      // The port this driver wrote down before launching QEMU with it, never text from QEMU's command line.
      port: record.sshPort ?? this.config!.sshPort,
      username: record.sshUser,
      keyPath: this.files!.path("key"),
      unixSocketPath: record.sshChannel ? this.files!.socket("ssh") : "",
    };
  }

  async getBundleName() {
    const config = this.requireConfig();
    if (config.bundleName !== "") return { bundleName: config.bundleName };
    if (config.imagePath !== "") return { bundleName: imageLabel(config.imagePath) };
    return { bundleName: (await this.loadConfiguredSource()).label };
  }

  async getSharedDirs() {
    return { sharedDirs: this.requireConfig().sharedDirs };
  }

  private async *startMachine(signal: AbortSignal): AsyncGenerator<{ progress: Progress }> {
    const config = this.requireConfig();
    const files = this.files!;
    const record = await this.requireMachine("start");
    const now = await observeVm(files);
    if (now.state === State.STATE_RUNNING || now.state === State.STATE_STARTING) return;
    if (now.state === State.STATE_PAUSED) {
      await qmpOnce(files.socket("qmp"), "cont");
      this.feed.publish();
      return;
    }
    if (now.state !== State.STATE_STOPPED)
      throw failedPrecondition(
        `machine "${config.machineName}" is ${stateWord(now.state)}; it cannot start from there`,
      );
    const { accel, note } = await acceleratorFor(config.accelerator);
    let checked;
    try {
      checked = await files.checkDir();
    } catch (err) {
      throw failedPrecondition((err as Error).message);
    }
    this.setTransient(State.STATE_STARTING);
    let pid: number | undefined;
    try {
      const uefi = record.firmware === "uefi" ? await findOvmf() : undefined;
      if (record.firmware === "uefi" && !uefi)
        throw failedPrecondition(`machine "${config.machineName}" boots with UEFI; ${OVMF_HINT}`);
      if (record.baseImage) await this.recheckBaseImage(record, signal);
      if (record.hasSeed) {
        if (!record.instanceId) record.instanceId = randomBytes(6).toString("hex");
        const publicKey = (await fs.readFile(files.path("publicKey"), "utf8")).trim();
        await this.writeSeed(files, record, publicKey, config, signal);
      }
      yield progress({ step: "launch", message: `Launching QEMU (${note})`, percent: 10 });
      let port = config.sshPort !== 0 ? config.sshPort : (record.sshPort ?? (await pickFreePort()));
      for (let attempt = 1; ; attempt++) {
        await files.removeRuntimeFiles();
        // Written down before QEMU forwards it: the record is where GetSSHInfo reads the port.
        if (port !== record.sshPort) {
          record.sshPort = port;
          await writeRecord(files.path("record"), record);
        }
        const argv = buildQemuArgv({
          machineName: config.machineName,
          files,
          accel,
          cpus: config.cpus,
          memoryMiB: config.memoryMiB,
          sshPort: port,
          network: config.network,
          uefi,
          kernel: record.kernelCmdline
            ? {
                kernelPath: files.path("kernel"),
                initrdPath: record.hasInitrd ? files.path("initrd") : undefined,
                cmdline: record.kernelCmdline,
              }
            : undefined,
          seedPath: record.hasSeed ? files.path("seed") : undefined,
          sharedDirs: config.sharedDirs,
        });
        try {
          pid = await launchQemu({
            binary: config.qemuBinary,
            argv,
            logPath: files.path("qemuLog"),
            qmpPath: files.socket("qmp"),
            signal,
            onSpawn: (spawned) => (this.launchedPid = spawned),
          });
          break;
        } catch (err) {
          if (!(err instanceof LaunchError) || !err.portTaken || attempt >= PORT_ATTEMPTS) throw err;
          const next = await pickFreePort();
          yield progress({ step: "port", message: `SSH port ${port} is taken; using ${next}`, percent: 12 });
          this.log.info("ssh port taken, picked another", { machine: config.machineName, taken: port, port: next });
          port = next;
        }
      }
      if (port !== config.sshPort) this.config = { ...this.config!, sshPort: port };
      // QEMU made its files under umask 0177; prove it, and that the directory is still the one checked.
      const status = await pidfileStatus(files.path("pidfile"));
      if (status.kind !== "locked" || status.pid !== pid)
        throw internal(`QEMU (pid ${pid}) runs but does not hold its pidfile ${files.path("pidfile")}'s lock`);
      await files.verifySockets(Object.keys(SOCKETS) as Array<keyof typeof SOCKETS>);
      const again = await files.checkDir();
      if (again.dev !== checked.dev || again.ino !== checked.ino)
        throw internal(`machine directory ${files.dir} was replaced while QEMU started`);
      this.feed.publish();
      yield progress({ step: "launch", message: `QEMU running (pid ${pid}), SSH on 127.0.0.1:${port}`, percent: 20 });
      const launched = pid;
      const sshPort = port;
      // The owner's way in when the guest serves it (immune to other users' connections to the TCP port).
      const sshSocket = record.sshChannel ? files.socket("ssh") : undefined;
      const boot = watchBoot({
        console: new RingbufConsole(files.socket("console"), files.path("serialLog")),
        ready: record.readiness === "virtio-serial" ? new SocketReadyPort(files.socket("ready")) : undefined,
        readiness: record.readiness,
        firstPhase: record.kernelCmdline ? "kernel" : "firmware",
        sshWhere: sshSocket ?? `127.0.0.1:${sshPort}`,
        sshAnswers: () => (sshSocket ? sshAnswersOnSocket(sshSocket) : sshAnswers(sshPort)),
        timeoutMs: config.bootTimeoutMs,
        signal,
        alive: async () => !(await processGone(launched)),
      });
      for await (const step of boot) yield progress(step);
    } catch (err) {
      // A failed or cancelled Start (Kill included) leaves the machine stopped, not half-booted.
      for (const p of [pid, this.launchedPid]) if (p !== undefined) sigkill(p);
      for (const p of [pid, this.launchedPid]) if (p !== undefined) await waitGone(p, KILL_WAIT_MS);
      await observeVm(files).catch(() => undefined);
      throw mapError(err);
    } finally {
      this.launchedPid = undefined;
      this.setTransient(undefined);
    }
    yield progress({ step: "ready", message: `Machine "${config.machineName}" is running`, percent: 100 });
  }

  /** The base image must still be the one checked at Create: the same real path and format, standing alone. */
  private async recheckBaseImage(record: MachineRecord, signal: AbortSignal): Promise<void> {
    const base = record.baseImage!;
    let now;
    try {
      now = await checkBaseImage(base.path, `the machine's base image ${base.path}`, { signal });
    } catch (err) {
      if (err instanceof ImageRefusal)
        throw failedPrecondition(`${err.message}; it changed since the machine was created`);
      throw err;
    }
    if (now.path !== base.path || now.format !== base.format)
      throw failedPrecondition(
        `the machine's base image ${base.path} is now ${now.path} (${now.format}), not the ${base.format} image it was created on`,
      );
  }

  private async stopMachine(signal: AbortSignal): Promise<void> {
    const config = this.requireConfig();
    const files = this.files!;
    await this.requireMachine("stop");
    const now = await observeVm(files);
    if (now.state === State.STATE_STOPPED) return;
    const status = await pidfileStatus(files.path("pidfile"));
    if (status.kind !== "locked") return void (await observeVm(files));
    const pid = status.pid;
    this.setTransient(State.STATE_STOPPING);
    try {
      let how = "powered off";
      try {
        await qmpOnce(files.socket("qmp"), "system_powerdown", undefined, { timeoutMs: 5_000, signal });
      } catch (err) {
        if (signal.aborted) throw err;
        this.log.warn("ACPI power-down could not be sent; quitting QEMU", { machine: config.machineName, error: err });
      }
      if (!(await waitGone(pid, config.stopTimeoutMs, signal))) {
        how = "quit";
        await qmpOnce(files.socket("qmp"), "quit", undefined, { timeoutMs: 5_000, signal }).catch(() => undefined);
        if (!(await waitGone(pid, QUIT_WAIT_MS, signal))) {
          how = "killed";
          sigkill(pid);
          if (!(await waitGone(pid, KILL_WAIT_MS, signal)))
            throw internal(`QEMU (pid ${pid}) is still there ${KILL_WAIT_MS / 1000} s after SIGKILL`);
        }
      }
      await observeVm(files);
      this.log.info("machine stopped", { machine: config.machineName, how });
    } finally {
      this.setTransient(undefined);
    }
  }

  private async currentState(): Promise<State> {
    const files = this.files;
    if (!files || !(await files.exists())) return State.STATE_NONE_UNSPECIFIED;
    if (this.transient !== undefined) return this.transient;
    return (await observeVm(files)).state;
  }

  private setTransient(state: State | undefined): void {
    this.transient = state;
    this.feed.publish(state);
  }

  private async loadConfiguredSource(signal?: AbortSignal): Promise<MachineSource> {
    try {
      return await loadSource(this.requireConfig(), signal);
    } catch (err) {
      if (err instanceof SourceError) throw failedPrecondition(err.message);
      throw err;
    }
  }

  /** The seed for this boot: the record's user and instance, the config's shares (they may have changed). */
  private async writeSeed(
    files: MachineFiles,
    record: MachineRecord,
    publicKey: string,
    config: QemuConfig,
    signal?: AbortSignal,
  ): Promise<void> {
    await makeSeed(
      files.path("seed"),
      {
        machineName: config.machineName,
        sshUser: record.sshUser,
        publicKey,
        instanceId: record.instanceId!,
        sharedDirs: config.sharedDirs,
      },
      signal,
    );
  }

  private requireConfig(): QemuConfig {
    return requireConfig(this.config);
  }

  private requireMachine(action: string): Promise<MachineRecord> {
    const files = this.files!;
    return requireMachine(this.requireConfig().machineName, action, files, () => readRecord(files.path("record")));
  }

  private async requireRunning(what: string): Promise<{ pid: number | undefined; record: MachineRecord }> {
    const config = this.requireConfig();
    const record = await this.requireMachine(`get ${what} of`);
    const now = await observeVm(this.files!);
    refuseUnlessRunning(config.machineName, now.state, what, [State.STATE_RUNNING, State.STATE_STARTING]);
    return { pid: now.pid, record };
  }
}

/** Known failures become statuses with their message; the rest stays INTERNAL. */
function mapError(err: unknown): unknown {
  if (err instanceof DriverError) return err;
  if (
    err instanceof LaunchError ||
    err instanceof BundleError ||
    err instanceof SourceError ||
    err instanceof ImageRefusal ||
    err instanceof FileRefusal ||
    err instanceof SocketDirError
  )
    return failedPrecondition(err.message);
  if (err instanceof SocketFileError) return internal(`QEMU's socket is not private: ${err.message}`);
  return err;
}

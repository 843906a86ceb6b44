// The libvirt driver: one instance per machine (CAPABILITY_MACHINE_INSTANCES),
// all of a plugin's instances sharing one connection per URI. libvirt is the
// truth for state: GetState asks it, WatchState follows its lifecycle events
// (registered again after a reconnect), and the domain outlives the plugin.
// Disks, seed, kernel and initrd are volumes of the machine's own storage
// pool, uploaded over the connection; console and readiness are read over it
// too, so a remote hypervisor (qemu+ssh) works like the local one.
import { randomBytes } from "node:crypto";
import { EventEmitter, once } from "node:events";
import { promises as fs } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import {
  alreadyExists,
  Code,
  DriverError,
  failedPrecondition,
  internal,
  invalidArgument,
  notFound,
  unavailable,
  State,
  type CallContext,
  type Driver,
  type Logger,
  type Progress,
} from "../../plugin/index.js";
import { SocketDirError } from "../../socket/private-dir.js";
import { watchBoot } from "../guest/boot-watch.js";
import { BundleError, bundleLabel, type Bundle } from "../guest/bundle.js";
import { findIsoTool, ISO_TOOL_HINT, makeSeed } from "../guest/cloud-init-seed.js";
import { StreamConsole } from "../guest/console-source.js";
import { pickFreePort } from "../guest/free-port.js";
import { findExecutable } from "../guest/host-tools.js";
import { StreamReadyPort } from "../guest/readiness.js";
import { kernelCmdline } from "../guest/kernel-cmdline.js";
import {
  acceleratorFor,
  configuredBundle,
  refuseImmutableChanges,
  refuseUnlessRunning,
  requireConfig,
  requireMachine,
} from "../guest/machine-preconditions.js";
import { makeSshKey } from "../guest/ssh-key.js";
import { stateWord } from "../guest/state-word.js";
import { sshAnswers } from "../guest/ssh-probe.js";
import { configCodec, type LibvirtConfig } from "./config.js";
import type { ConnectionPool } from "./connection-pool.js";
import { domainName } from "./domain-name.js";
import { stateOf } from "./domain-state.js";
import { domainXml, macOf, uuidOf } from "./domain-xml.js";
import { applyFlags, createFlags } from "./flags.js";
import { MachineFiles, type MachineRecord } from "./machine-files.js";
import {
  deletePool,
  emptyVolume,
  ensurePool,
  lookupVolume,
  privilegedDaemon,
  privilegedPoolPath,
  uploadVolume,
  volumePath,
} from "./machine-storage.js";
import { remoteHome, sshAnswersVia } from "./remote-ssh.js";
import type { LibvirtConnection } from "./rpc/connection.js";
import { parseLibvirtUri, type SshUri, UriError } from "./rpc/connection-uri.js";
import { kvmNeedsMasking } from "./rpc/daemon-launch.js";
import { ConnectionClosedError, isLibvirtError, LibvirtError, VirErrorNumber } from "./rpc/libvirt-error.js";
import { proc } from "./rpc/procedures.js";
import type { DomainRef } from "./rpc/remote-types.js";

/** Fields fixed at Create. */
const IMMUTABLE: ReadonlyArray<keyof LibvirtConfig> = [
  "machineName",
  "storePath",
  "bundlePath",
  "bundleName",
  "diskGiB",
  "uri",
  "network",
];
const GiB = 1024 ** 3;
const START_PAUSED = 1;
const STREAM_FORCE = 1;
const SHUTDOWN_ACPI = 1;
const MONITOR_HMP = 1;
const INTERFACE_SOURCE_LEASE = 0;
const FORWARD_ATTEMPTS = 5;
/** How long WatchState keeps trying to reach libvirt again before it ends with UNAVAILABLE. */
const RECONNECT_MS = 60_000;
/** WatchState also looks now and then, for what no event says (a domain undefined and redefined elsewhere). */
const WATCH_POLL_MS = 5_000;

const progress = (p: Progress) => ({ progress: p });

export class LibvirtDriver implements Driver {
  private config: LibvirtConfig | undefined;
  private files: MachineFiles | undefined;
  private transient: State | undefined;
  private creating = false;
  /** Set while Remove takes the machine apart: a domain already gone then means "no machine", not ERROR. */
  private removing = false;
  /** The machine's record and domain as last seen, so GetState costs one libvirt call; never a state. */
  private known: { record: MachineRecord; dom: DomainRef | undefined } | undefined;
  private readonly changes = new EventEmitter();

  constructor(
    private readonly pool: ConnectionPool,
    private readonly log: Logger,
  ) {
    this.changes.setMaxListeners(0);
  }

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
    this.config = configCodec.decode(configJson);
    this.files = new MachineFiles(this.config.storePath);
    this.known = undefined;
    this.publish();
    return {};
  }

  async updateConfig({ configJson }: { configJson: Buffer }, { signal }: CallContext) {
    const current = this.requireConfig();
    const next = configCodec.decode(configJson);
    refuseImmutableChanges(current, next, IMMUTABLE);
    const record = await this.requireMachine("update");
    if (JSON.stringify(next) === JSON.stringify(current)) return {};
    await this.guard(async () => {
      const c = await this.connection(signal);
      const dom = await this.requireDomain(c, record);
      const state = await this.domainState(c, dom);
      if (state !== State.STATE_STOPPED)
        throw failedPrecondition(
          `machine "${current.machineName}" is ${stateWord(state)}; stop it before changing its config (cpus, memory)`,
        );
      const xml = (await c.call(proc.domainGetXmlDesc, { dom, flags: 0 })).xml;
      await c.call(proc.domainDefineXmlFlags, { xml: await this.domainXmlFor(c, next, record, uuidOf(xml)), flags: 0 });
    });
    this.config = next;
    return {};
  }

  async preCreateCheck(_request: unknown, { signal }: CallContext) {
    const config = this.requireConfig();
    if (await this.files!.exists())
      throw failedPrecondition(`machine "${config.machineName}" already exists in ${this.files!.dir}`);
    const bundle = await this.loadConfiguredBundle();
    if (!(await findExecutable("ssh-keygen")))
      throw failedPrecondition("ssh-keygen not found on PATH; install the OpenSSH client (Debian: openssh-client)");
    if (bundle.disk && !(await findIsoTool()))
      throw failedPrecondition(`disk-image bundles need a seed image: ${ISO_TOOL_HINT}`);
    await this.kvm(config);
    try {
      await this.files!.ensureDir();
      await this.connection(signal);
    } catch (err) {
      throw failedPrecondition(`cannot reach libvirt at ${config.uri}: ${(err as Error).message}`);
    }
    return {};
  }

  async *create(_request: unknown, { signal }: CallContext) {
    const config = this.requireConfig();
    const files = this.files!;
    if (await files.exists()) throw alreadyExists(`machine "${config.machineName}" already exists in ${files.dir}`);
    this.creating = true;
    const domain = domainName(config.machineName, config.storePath);
    let c: LibvirtConnection | undefined;
    let made = false;
    try {
      yield progress({ step: "check", message: "Checking the bundle", percent: 5 });
      const bundle = await this.loadConfiguredBundle();
      const kvm = await this.kvm(config);
      try {
        await files.ensureDir();
      } catch (err) {
        if (err instanceof SocketDirError) throw failedPrecondition(err.message);
        throw err;
      }
      yield progress({ step: "connect", message: `Connecting to libvirt (${config.uri})`, percent: 10 });
      c = await this.connection(signal);
      const existing = await this.lookup(c, domain);
      if (existing)
        throw alreadyExists(
          `libvirt already has a domain named ${domain}; remove it (virsh undefine) or use another machine name`,
        );
      yield progress({ step: "key", message: "Making the SSH key (ed25519)", percent: 15 });
      const publicKey = await makeSshKey(files.key, `driverplug-${config.machineName}`, signal);
      const uri = parseLibvirtUri(config.uri);
      const poolPath =
        uri.kind === "local" && !privilegedDaemon(uri)
          ? files.localPool
          : uri.kind === "ssh" && !privilegedDaemon(uri)
            ? `${await remoteHome(uri, files.knownHosts)}/.local/share/libvirt/images/driverplug/${domain}`
            : privilegedPoolPath(domain);
      const record: MachineRecord = {
        name: config.machineName,
        domain,
        uri: uri.text,
        poolPath,
        bundleName: bundleLabel(bundle.manifest),
        sshUser: bundle.manifest.sshUser,
        readiness: bundle.manifest.readiness,
      };
      yield progress({ step: "pool", message: `Making the storage pool ${domain} (${poolPath})`, percent: 20 });
      const pool = await ensurePool(c, domain, poolPath, privilegedDaemon(uri));
      if (bundle.kernelPath) {
        yield progress({ step: "kernel", message: "Uploading the kernel and initrd", percent: 30 });
        await uploadVolume(c, pool, "vmlinuz", bundle.kernelPath, signal);
        if (bundle.initrdPath) await uploadVolume(c, pool, "initrd.img", bundle.initrdPath, signal);
        record.kernelCmdline = kernelCmdline(bundle.manifest.cmdline, publicKey, config.machineName);
        record.hasInitrd = bundle.initrdPath !== undefined;
      }
      signal.throwIfAborted();
      if (bundle.disk) {
        yield progress({ step: "disk", message: `Uploading the base image ${bundle.disk.path}`, percent: 45 });
        const vol = await uploadVolume(c, pool, "disk.qcow2", bundle.disk.path, signal);
        await c.call(proc.storagePoolRefresh, { pool, flags: 0 });
        await c
          .call(proc.storageVolResize, { vol, capacity: BigInt(config.diskGiB * GiB), flags: 0 })
          .catch((err: unknown) => {
            // A base image already larger than the disk size stays as it is.
            if (!isLibvirtError(err, VirErrorNumber.INVALID_ARG)) throw err;
          });
        yield progress({ step: "seed", message: "Making and uploading the cloud-init seed (SSH key)", percent: 65 });
        await makeSeed(
          files.seed,
          {
            machineName: config.machineName,
            sshUser: record.sshUser,
            publicKey,
            instanceId: randomBytes(6).toString("hex"),
            sharedDirs: [],
          },
          signal,
        );
        await uploadVolume(c, pool, "seed.iso", files.seed, signal);
        await fs.rm(files.seed, { force: true });
        record.hasSeed = true;
      } else {
        yield progress({ step: "disk", message: `Making a ${config.diskGiB} GiB disk`, percent: 55 });
        await emptyVolume(c, pool, "disk.qcow2", "qcow2", config.diskGiB * GiB);
      }
      signal.throwIfAborted();
      yield progress({ step: "define", message: `Defining the domain ${domain}`, percent: 85 });
      await c.call(proc.domainDefineXmlFlags, {
        xml: await this.domainXmlFor(c, config, record, undefined, kvm),
        flags: 0,
      });
      await files.writeRecord(record);
      this.known = undefined;
      made = true;
      this.config = { ...config, bundleName: record.bundleName };
      this.publish();
      yield progress({
        step: "done",
        message: `Machine "${config.machineName}" created (stopped), domain ${domain}`,
        percent: 100,
      });
    } catch (err) {
      if (!made) await this.undo(c, domain);
      throw mapError(err);
    } finally {
      this.creating = false;
    }
  }

  /** Removes whatever a failed or cancelled Create made. */
  private async undo(c: LibvirtConnection | undefined, domain: string): Promise<void> {
    if (c && !c.isClosed) {
      const dom = await this.lookup(c, domain).catch(() => undefined);
      if (dom) await c.call(proc.domainUndefineFlags, { dom, flags: 0 }).catch(() => undefined);
      await deletePool(c, domain).catch((err: unknown) =>
        this.log.warn("could not delete the storage pool of a failed create", { pool: domain, error: err }),
      );
    }
    await this.files!.removeAll();
  }

  async *start(_request: unknown, { signal }: CallContext) {
    yield* this.startMachine(signal);
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

  async kill(_request: unknown, { signal }: CallContext) {
    const config = this.requireConfig();
    if (!(await this.files!.exists())) {
      if (this.creating) return {};
      throw notFound(`machine "${config.machineName}" does not exist`);
    }
    const record = await this.files!.readRecord();
    await this.guard(async () => {
      const c = await this.connection(signal);
      const dom = await this.lookup(c, record.domain);
      if (dom) await destroy(c, dom);
    });
    this.log.info("machine killed", { machine: config.machineName });
    this.publish();
    return {};
  }

  async remove(_request: unknown, { signal }: CallContext) {
    const config = this.requireConfig();
    const files = this.files!;
    if (!(await files.exists())) {
      await files.removeAll();
      return {};
    }
    const record = await files.readRecord();
    try {
      await this.guard(async () => {
        const c = await this.connection(signal);
        const dom = await this.lookup(c, record.domain);
        if (dom) {
          const state = await this.domainState(c, dom);
          if (state !== State.STATE_STOPPED)
            throw failedPrecondition(
              `machine "${config.machineName}" is ${stateWord(state)}; stop or kill it before removing it`,
            );
          this.removing = true;
          await c.call(proc.domainUndefineFlags, { dom, flags: 0 });
        }
        this.removing = true;
        await deletePool(c, record.domain);
      });
      await files.removeAll();
    } finally {
      this.removing = false;
      this.known = undefined;
    }
    this.publish(State.STATE_NONE_UNSPECIFIED);
    return {};
  }

  async getState(_request: unknown, { signal }: CallContext) {
    this.requireConfig();
    return { state: await this.guard(() => this.currentState(signal)) };
  }

  async *watchState(_request: unknown, { signal }: CallContext) {
    const config = this.requireConfig();
    let last = await this.guard(() => this.currentState(signal));
    yield { state: last };
    const pokes: Array<State | undefined> = [];
    const onChange = (s?: State) => pokes.push(s);
    this.changes.on("change", onChange);
    // Since when libvirt has been out of reach (undefined: it answers).
    let lostSince: number | undefined;
    /** The state now, or undefined when the connection is gone (then we reconnect). */
    const look = async (): Promise<State | undefined> => {
      try {
        const state = await this.currentState(signal);
        lostSince = undefined;
        return state;
      } catch (err) {
        const mapped = mapError(err);
        // Only a lost libvirt (connection closed, daemon not answering) is waited out.
        if (!(mapped instanceof DriverError) || mapped.code !== Code.UNAVAILABLE || signal.aborted) throw mapped;
        lostSince ??= Date.now();
        if (Date.now() - lostSince > RECONNECT_MS)
          throw unavailable(
            `WatchState lost libvirt at ${config.uri} and could not reach it again within ${RECONNECT_MS / 1000} s: ${mapped.message}`,
          );
        return undefined;
      }
    };
    try {
      while (!signal.aborted) {
        // (Re)subscribe, then look: nothing that happened meanwhile is missed.
        const events = await this.subscribe(signal, config);
        let next = events.next();
        next.catch(() => undefined);
        let broken = false;
        const first = await look();
        if (first === undefined) broken = true;
        else if (first !== last) yield { state: (last = first) };
        while (!signal.aborted && !broken) {
          const woke = await Promise.race([
            next.then(
              (r) => (r.done ? "broken" : r.value.domain === this.domainNameNow() ? "event" : "other"),
              () => "broken" as const,
            ),
            once(this.changes, "change", {
              signal: AbortSignal.any([signal, AbortSignal.timeout(WATCH_POLL_MS)]),
            }).then(
              () => "poke" as const,
              () => "poll" as const,
            ),
          ]);
          if (signal.aborted) break;
          if (woke === "broken") {
            broken = true;
            break;
          }
          if (woke === "event" || woke === "other") {
            next = events.next();
            next.catch(() => undefined);
          }
          if (woke === "other") continue;
          const now = await look();
          if (now === undefined) {
            broken = true;
            break;
          }
          for (const s of [...pokes.splice(0), now]) {
            if (s === undefined || s === last) continue;
            yield { state: (last = s) };
          }
        }
        void events.return?.();
        if (broken && !signal.aborted) {
          this.log.info("the libvirt connection ended under WatchState; reconnecting", { machine: config.machineName });
          await sleep(250, undefined, { signal }).catch(() => undefined);
        }
      }
    } finally {
      this.changes.off("change", onChange);
    }
  }

  /** Lifecycle events on a live connection, reconnecting for up to RECONNECT_MS. */
  private async subscribe(
    signal: AbortSignal,
    config: LibvirtConfig,
  ): Promise<AsyncIterableIterator<{ domain: string }>> {
    const deadline = Date.now() + RECONNECT_MS;
    for (;;) {
      try {
        const c = await this.connection(signal);
        return await c.lifecycleEvents({ signal });
      } catch (err) {
        signal.throwIfAborted();
        if (Date.now() > deadline)
          throw unavailable(
            `WatchState lost libvirt at ${config.uri} and could not reach it again within ${RECONNECT_MS / 1000} s: ${(err as Error).message}`,
          );
        await sleep(500, undefined, { signal });
      }
    }
  }

  private domainNameNow(): string | undefined {
    const config = this.config;
    return config ? domainName(config.machineName, config.storePath) : undefined;
  }

  async getMachineName() {
    return { name: this.requireConfig().machineName };
  }

  async getIp(_request: unknown, { signal }: CallContext) {
    const { c, dom } = await this.requireRunning("IP address", signal);
    const config = this.config!;
    if (config.network === "user") return { ip: "127.0.0.1" };
    return { ip: await this.guard(() => leaseIp(c, dom, config.network)) };
  }

  async getSshInfo(_request: unknown, { signal }: CallContext) {
    const { c, dom, record } = await this.requireRunning("SSH access", signal);
    const config = this.config!;
    return this.guard(async () => {
      const uri = parseLibvirtUri(config.uri);
      const target =
        config.network === "user"
          ? { hostname: "127.0.0.1", port: await forwardedPort(c, dom) }
          : { hostname: await leaseIp(c, dom, config.network), port: 22 };
      if (target.port === undefined)
        throw failedPrecondition(`machine "${config.machineName}" runs but has no SSH forward; restart it`);
      return {
        hostname: target.hostname,
        port: target.port,
        username: record.sshUser,
        keyPath: this.files!.key,
        ...(uri.kind === "ssh" ? { jump: jumpOf(uri, this.files!.knownHosts) } : {}),
      };
    });
  }

  async getBundleName() {
    const config = this.requireConfig();
    if (config.bundleName !== "") return { bundleName: config.bundleName };
    return { bundleName: bundleLabel((await this.loadConfiguredBundle()).manifest) };
  }

  async getSharedDirs() {
    return { sharedDirs: [] };
  }

  private async *startMachine(signal: AbortSignal): AsyncGenerator<{ progress: Progress }> {
    const config = this.requireConfig();
    const record = await this.requireMachine("start");
    const c = await this.guard(() => this.connection(signal));
    const dom = await this.guard(() => this.requireDomain(c, record));
    const now = await this.guard(() => this.domainState(c, dom));
    if (now === State.STATE_RUNNING) return;
    if (now === State.STATE_PAUSED) {
      await this.guard(() => c.call(proc.domainResume, { dom }));
      this.publish();
      return;
    }
    if (now !== State.STATE_STOPPED)
      throw failedPrecondition(`machine "${config.machineName}" is ${stateWord(now)}; it cannot start from there`);
    const uri = parseLibvirtUri(config.uri);
    this.setTransient(State.STATE_STARTING);
    const opened: Array<{ close(): void }> = [];
    try {
      await c.call(proc.domainCreateWithFlags, { dom, flags: START_PAUSED }, { signal });
      // Paused: the console and readiness streams are open before the guest says anything.
      const consoleStream = await c.openDownload(proc.domainOpenConsole, {
        dom,
        devName: undefined,
        flags: STREAM_FORCE,
      });
      opened.push(consoleStream);
      const console = new StreamConsole(consoleStream, () => consoleStream.close());
      let ready: StreamReadyPort | undefined;
      if (record.readiness === "virtio-serial") {
        const channel = await c.openDownload(proc.domainOpenChannel, { dom, name: "dp.ready", flags: STREAM_FORCE });
        opened.push(channel);
        ready = new StreamReadyPort(channel, () => channel.close());
      }
      let probe: () => Promise<boolean>;
      let where: string;
      if (config.network === "user") {
        const port = await addForward(c, dom, uri.kind === "local");
        where = uri.kind === "local" ? `127.0.0.1:${port}` : `127.0.0.1:${port} on ${uri.host}`;
        probe = uri.kind === "local" ? () => sshAnswers(port) : () => sshAnswersVia(uri, this.files!.knownHosts, port);
      } else {
        where = `the guest's lease on network ${config.network}`;
        probe = async () => {
          const ip = await leaseIp(c, dom, config.network).catch(() => undefined);
          if (!ip) return false;
          return uri.kind === "local"
            ? sshAnswers(22, 2_000, ip)
            : sshAnswersVia(uri, this.files!.knownHosts, 22, 5_000, ip);
        };
      }
      await c.call(proc.domainResume, { dom }, { signal });
      this.publish();
      // The first progress comes once libvirt's start job is over: a Kill from here on destroys at once
      // instead of waiting for that job.
      yield progress({ step: "launch", message: `Domain ${record.domain} started on ${uri.text}`, percent: 10 });
      yield progress({ step: "launch", message: `SSH forwarded from ${where}`, percent: 20 });
      const boot = watchBoot({
        console,
        ready,
        readiness: record.readiness,
        firstPhase: record.kernelCmdline ? "kernel" : "firmware",
        sshWhere: where,
        sshAnswers: probe,
        timeoutMs: config.bootTimeoutMs,
        signal,
        alive: async () => {
          const s = await this.domainState(c, dom).catch(() => State.STATE_ERROR);
          return s === State.STATE_RUNNING || s === State.STATE_PAUSED;
        },
      });
      for await (const step of boot) yield progress(step);
    } catch (err) {
      // A failed or cancelled Start (Kill included) leaves the domain off, not half-booted.
      await destroy(c, dom).catch(() => undefined);
      throw mapError(err);
    } finally {
      for (const s of opened) s.close();
      this.setTransient(undefined);
    }
    yield progress({ step: "ready", message: `Machine "${config.machineName}" is running`, percent: 100 });
  }

  private async stopMachine(signal: AbortSignal): Promise<void> {
    const config = this.requireConfig();
    const record = await this.requireMachine("stop");
    await this.guard(async () => {
      const c = await this.connection(signal);
      const dom = await this.requireDomain(c, record);
      if ((await this.domainState(c, dom)) === State.STATE_STOPPED) return;
      this.setTransient(State.STATE_STOPPING);
      try {
        let how = "powered off";
        await c.call(proc.domainShutdownFlags, { dom, flags: SHUTDOWN_ACPI }).catch((err: unknown) => {
          // Already off (raced with the guest), or paused: destroy below settles it.
          if (!isLibvirtError(err, VirErrorNumber.OPERATION_INVALID)) throw err;
        });
        const deadline = Date.now() + config.stopTimeoutMs;
        while ((await this.domainState(c, dom)) !== State.STATE_STOPPED) {
          if (Date.now() > deadline) {
            how = "destroyed";
            await destroy(c, dom);
            break;
          }
          await sleep(250, undefined, { signal });
        }
        this.log.info("machine stopped", { machine: config.machineName, how });
      } finally {
        this.setTransient(undefined);
      }
    });
  }

  private async currentState(signal?: AbortSignal): Promise<State> {
    const files = this.files;
    if (!files) return State.STATE_NONE_UNSPECIFIED;
    // The usual case costs one libvirt call and no file system access: libvirt resolves a
    // domain reference by its UUID, and a domain still defined means its machine is not
    // removed (Remove undefines the domain before it deletes the files). A domain undefined
    // (and maybe defined again) since is NO_DOMAIN: then the files are asked, and libvirt afresh.
    if (this.known?.dom) {
      if (this.transient !== undefined) return this.transient;
      try {
        return await this.domainState(await this.connection(signal), this.known.dom);
      } catch (err) {
        if (!isLibvirtError(err, VirErrorNumber.NO_DOMAIN)) throw err;
        this.known = undefined;
      }
    }
    if (!(await files.exists())) {
      this.known = undefined;
      return State.STATE_NONE_UNSPECIFIED;
    }
    if (this.transient !== undefined) return this.transient;
    const record = this.known?.record ?? (await files.readRecord());
    const c = await this.connection(signal);
    const dom = await this.lookup(c, record.domain);
    this.known = { record, dom };
    // The machine's files say it exists but libvirt has no domain: Remove is under way, or someone undefined it.
    // (Remove may have finished while we asked: then the record is gone too.)
    if (!dom) return this.removing || !(await files.exists()) ? State.STATE_NONE_UNSPECIFIED : State.STATE_ERROR;
    return this.domainState(c, dom);
  }

  private async domainState(c: LibvirtConnection, dom: DomainRef): Promise<State> {
    const { state } = await c.call(proc.domainGetState, { dom, flags: 0 });
    return stateOf(state);
  }

  private async lookup(c: LibvirtConnection, name: string): Promise<DomainRef | undefined> {
    try {
      return (await c.call(proc.domainLookupByName, { name })).dom;
    } catch (err) {
      if (isLibvirtError(err, VirErrorNumber.NO_DOMAIN)) return undefined;
      throw err;
    }
  }

  private async requireDomain(c: LibvirtConnection, record: MachineRecord): Promise<DomainRef> {
    const dom = await this.lookup(c, record.domain);
    if (!dom)
      throw failedPrecondition(
        `libvirt has no domain ${record.domain} for machine "${record.name}" any more (undefined outside driverplug?); remove the machine and create it again`,
      );
    return dom;
  }

  private async domainXmlFor(
    c: LibvirtConnection,
    config: LibvirtConfig,
    record: MachineRecord,
    uuid?: string,
    kvm?: boolean,
  ): Promise<string> {
    let kernel;
    if (record.kernelCmdline) {
      const kernelPath = await volumePath(c, await lookupVolume(c, record.domain, "vmlinuz"));
      const initrdPath = record.hasInitrd
        ? await volumePath(c, await lookupVolume(c, record.domain, "initrd.img"))
        : undefined;
      kernel = { kernelPath, initrdPath, cmdline: record.kernelCmdline };
    }
    return domainXml({
      name: record.domain,
      uuid,
      machineName: config.machineName,
      storePath: config.storePath,
      kvm: kvm ?? (await this.kvm(config)),
      cpus: config.cpus,
      memoryMiB: config.memoryMiB,
      kernel,
      pool: record.domain,
      diskVolume: "disk.qcow2",
      seedVolume: record.hasSeed ? "seed.iso" : undefined,
      network: config.network,
    });
  }

  /** KVM or TCG: KVM only where the driver's KVM check passes here and the daemon can use it. */
  private async kvm(config: LibvirtConfig): Promise<boolean> {
    const uri = parseLibvirtUri(config.uri);
    if (uri.kind === "ssh") return config.accelerator === "kvm";
    const { accel } = await acceleratorFor(config.accelerator);
    if (accel === "kvm" && kvmNeedsMasking() && config.accelerator === "auto") return false;
    return accel === "kvm";
  }

  private async connection(signal?: AbortSignal): Promise<LibvirtConnection> {
    const config = this.requireConfig();
    return this.pool.get(config.uri, this.files!.knownHosts, signal);
  }

  /** Runs `work`, turning libvirt's and the connection's errors into statuses. */
  private async guard<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      throw mapError(err);
    }
  }

  private publish(state?: State): void {
    this.changes.emit("change", state);
  }

  private setTransient(state: State | undefined): void {
    this.transient = state;
    this.publish(state);
  }

  private loadConfiguredBundle(): Promise<Bundle> {
    return configuredBundle(this.requireConfig().bundlePath);
  }

  private requireConfig(): LibvirtConfig {
    return requireConfig(this.config);
  }

  private requireMachine(action: string): Promise<MachineRecord> {
    const files = this.files!;
    return requireMachine(this.requireConfig().machineName, action, files, () => files.readRecord());
  }

  private async requireRunning(
    what: string,
    signal: AbortSignal,
  ): Promise<{ c: LibvirtConnection; dom: DomainRef; record: MachineRecord }> {
    const config = this.requireConfig();
    const record = await this.requireMachine(`get ${what} of`);
    return this.guard(async () => {
      const c = await this.connection(signal);
      const dom = await this.requireDomain(c, record);
      const state = this.transient ?? (await this.domainState(c, dom));
      refuseUnlessRunning(config.machineName, state, what, [State.STATE_RUNNING, State.STATE_STARTING]);
      return { c, dom, record };
    });
  }
}

async function destroy(c: LibvirtConnection, dom: DomainRef): Promise<void> {
  try {
    await c.call(proc.domainDestroyFlags, { dom, flags: 0 });
  } catch (err) {
    // Not running: nothing to destroy.
    if (!isLibvirtError(err, VirErrorNumber.OPERATION_INVALID)) throw err;
  }
}

/** Forwards a port on the hypervisor's 127.0.0.1 to the guest's SSH through QEMU's monitor (slirp hostfwd). */
async function addForward(c: LibvirtConnection, dom: DomainRef, local: boolean): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    // Locally a port known to be free; on a remote host a random high one, moved on if taken.
    const port = local ? await pickFreePort() : 20_000 + Math.floor(Math.random() * 40_000);
    const { result } = await c.call(proc.qemuDomainMonitorCommand, {
      dom,
      cmd: `hostfwd_add hostnet0 tcp:127.0.0.1:${port}-:22`,
      flags: MONITOR_HMP,
    });
    if (result.trim() === "") return port;
    if (attempt >= FORWARD_ATTEMPTS)
      throw internal(`QEMU refused the SSH forward (hostfwd_add): ${result.trim().slice(0, 300)}`);
  }
}

/** The forwarded SSH port QEMU really has, from its monitor (`info usernet`). */
async function forwardedPort(c: LibvirtConnection, dom: DomainRef): Promise<number | undefined> {
  const { result } = await c.call(proc.qemuDomainMonitorCommand, { dom, cmd: "info usernet", flags: MONITOR_HMP });
  const m = /TCP\[HOST_FORWARD\]\s+\d+\s+127\.0\.0\.1\s+(\d+)\s+\S+\s+22\b/.exec(result);
  return m ? Number(m[1]) : undefined;
}

/** The guest's address from its libvirt network's DHCP leases. */
async function leaseIp(c: LibvirtConnection, dom: DomainRef, network: string): Promise<string> {
  const mac = macOf((await c.call(proc.domainGetXmlDesc, { dom, flags: 0 })).xml);
  const { ifaces } = await c.call(proc.domainInterfaceAddresses, { dom, source: INTERFACE_SOURCE_LEASE, flags: 0 });
  for (const iface of ifaces) {
    if (mac && iface.hwaddr?.toLowerCase() !== mac.toLowerCase()) continue;
    const v4 = iface.addrs.find((a) => a.type === 0);
    if (v4) return v4.addr;
  }
  throw failedPrecondition(`the guest has no DHCP lease on libvirt network ${network} yet; wait for it to boot`);
}

function jumpOf(uri: SshUri, knownHosts: string) {
  return {
    hostname: uri.host,
    port: uri.port ?? 22,
    username: uri.user ?? "",
    keyPath: uri.keyfile ?? "",
    knownHostsPath: knownHosts,
  };
}

/** Known failures become statuses with their message; the rest stays INTERNAL. */
export function mapError(err: unknown): unknown {
  if (err instanceof DriverError) return err;
  if (err instanceof LibvirtError || err instanceof ConnectionClosedError)
    return new DriverError(err.status, err.message, { cause: err });
  if (err instanceof UriError) return invalidArgument(err.message);
  if (err instanceof BundleError || err instanceof SocketDirError) return failedPrecondition(err.message);
  if (
    err instanceof Error &&
    /cannot connect to the libvirt|libvirtd was not found|requires .* authentication|ssh/.test(err.message)
  )
    return unavailable(err.message, { cause: err });
  return err;
}

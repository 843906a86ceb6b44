"""The pyfake driver: a machine with driverplug's fake lifecycle.

NONE -> Create -> STOPPED -> Start -> RUNNING -> Stop -> STOPPED -> Remove -> NONE,
with the status codes driver.proto promises, so a host can run the same
lifecycle against it as against the bundled TypeScript fake driver. The state
is kept in <storePath>/pyfake-state.json, so a machine outlives the plugin
process (the driverplug command starts one plugin per command).

One process serves many machines (CAPABILITY_MACHINE_INSTANCES,
docs/protocol.md): each call names its machine in the `driverplug-machine`
metadata and goes to that machine's own Machine (config, mutation lock, Kill);
a call without the key goes to the default one, as a go-plugin host's do.
GetMachineStates (CAPABILITY_MACHINE_STATES) answers many machines at once,
each entry as that machine's own SetConfig, GetState and GetIP would.
"""

import hashlib
import inspect
import json
import os
import re
import threading
import time

import grpc

DRIVER_NAME = "pyfake"
DRIVER_VERSION = "0.1.0"
INT_FIELDS = ("cpus", "memoryMiB", "diskGiB", "stepDelayMs")
MACHINE_KEY = "driverplug-machine"
MACHINE_NAME = re.compile(r"[\x21-\x7e]{1,255}")
MAX_STATES_PER_CALL = 1000  # GetMachineStates' bounds, as driver.proto states them
MAX_STATE_CONFIG_BYTES = 1024 * 1024
MAX_ERROR_BYTES = 8 * 1024
# An entry not started with less time than this left is answered DEADLINE_EXCEEDED.
ENTRY_MARGIN_S = 0.1


class EntryFailed(Exception):
    """A Machine handler aborted while answering one GetMachineStates entry."""

    def __init__(self, code, details):
        super().__init__(details)
        self.code = code
        self.details = details


class EntryContext:
    """What a Machine's handler sees for one entry: an abort fails that entry, not the call."""

    def __init__(self, parent):
        self._parent = parent

    def abort(self, code, details):
        raise EntryFailed(code, details)

    def is_active(self):
        return self._parent.is_active()

    def time_remaining(self):
        return self._parent.time_remaining()

    def invocation_metadata(self):
        return self._parent.invocation_metadata()

    def add_callback(self, callback):
        return self._parent.add_callback(callback)


def make_servicer(pb2, pb2_grpc, api_versions, log):
    State = pb2.State

    class Machine(pb2_grpc.DriverServiceServicer):
        def __init__(self):
            self._changed = threading.Condition()
            self._mutating = threading.Lock()  # serializes mutating calls, as the framework does
            self._config = None
            self._state = State.Value("STATE_NONE_UNSPECIFIED")
            self._kills = 0  # bumped by Kill, so a Start in flight sees it was killed

        # --- helpers -------------------------------------------------------
        def _state_file(self):
            return os.path.join(self._config["storePath"], "pyfake-state.json")

        def _load_state(self):
            try:
                with open(self._state_file(), encoding="utf-8") as f:
                    return State.Value(json.load(f)["state"])
            except FileNotFoundError:
                return State.Value("STATE_NONE_UNSPECIFIED")

        def _save_state(self, state):
            path = self._state_file()
            if state == State.Value("STATE_NONE_UNSPECIFIED"):
                if os.path.exists(path):
                    os.unlink(path)
                return
            tmp = f"{path}.tmp"
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump({"state": State.Name(state)}, f)
            os.replace(tmp, path)

        def _set_state(self, state):
            with self._changed:
                self._state = state
                if self._config is not None and os.path.isdir(self._config["storePath"]):
                    self._save_state(state)
                self._changed.notify_all()

        def _require_config(self, context):
            if self._config is None:
                context.abort(grpc.StatusCode.FAILED_PRECONDITION, "no config set: call SetConfig first")

        def _require_machine(self, context):
            self._require_config(context)
            if self._state == State.Value("STATE_NONE_UNSPECIFIED"):
                context.abort(grpc.StatusCode.NOT_FOUND, f"machine {self._config['machineName']!r} does not exist: create it first")

        def _parse_config(self, raw, context):
            try:
                config = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as err:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"config is not JSON: {err}")
            if not isinstance(config, dict):
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, "config must be a JSON object")
            for field in ("machineName", "storePath"):
                if not isinstance(config.get(field), str) or not config[field]:
                    context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"config field {field!r} is required and must be a non-empty string")
            if not config["storePath"].startswith("/"):
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, "config field 'storePath' must be an absolute path")
            for field in INT_FIELDS:
                if field in config and (not isinstance(config[field], int) or config[field] < 0):
                    context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"config field {field!r} must be a non-negative integer")
            return config

        def _ip(self):
            octet = 10 + hashlib.sha256(self._config["machineName"].encode()).digest()[0] % 200
            return f"192.0.2.{octet}"

        def _progress(self, response_type, steps, context, kills=None):
            """Yields one event per step, waiting stepDelayMs before each; stops
            (returning False) when the host cancels or, for Start, Kill runs."""
            delay = self._config.get("stepDelayMs", 0) / 1000
            for i, (step, message) in enumerate(steps, start=1):
                until = time.monotonic() + delay
                while True:
                    if not context.is_active() or (kills is not None and self._kills != kills):
                        return False
                    left = until - time.monotonic()
                    if left <= 0:
                        break
                    time.sleep(min(left, 0.05))
                yield response_type(progress=pb2.Progress(step=step, message=message, percent=i * 100 // len(steps)))
            return True

        # --- queries --------------------------------------------------------
        def GetInfo(self, request, context):
            return pb2.GetInfoResponse(
                driver_name=DRIVER_NAME,
                driver_version=DRIVER_VERSION,
                api_versions=api_versions,
                capabilities=[
                    pb2.Capability.Value("CAPABILITY_WATCH_STATE"),
                    pb2.Capability.Value("CAPABILITY_MACHINE_INSTANCES"),
                    pb2.Capability.Value("CAPABILITY_MACHINE_STATES"),
                ],
            )

        def Probe(self, request, context):
            return pb2.ProbeResponse(ready=True)

        def GetCreateFlags(self, request, context):
            int_type = pb2.FlagType.Value("FLAG_TYPE_INT")
            return pb2.GetCreateFlagsResponse(flags=[
                pb2.CreateFlag(name="cpus", usage="virtual CPUs", type=int_type, default_value=pb2.FlagValue(int_value=2), env_var="PYFAKE_CPUS"),
                pb2.CreateFlag(name="memory", usage="memory in MiB", type=int_type, default_value=pb2.FlagValue(int_value=2048), env_var="PYFAKE_MEMORY"),
            ])

        def GetConfig(self, request, context):
            self._require_config(context)
            return pb2.GetConfigResponse(config_json=json.dumps(self._config).encode())

        def GetState(self, request, context):
            # The host's deadline arrives as grpc-timeout; logged so the
            # interop tests see it reach a Python handler. grpcio reports "no
            # deadline" as centuries remaining.
            remaining = context.time_remaining()
            none = remaining is None or remaining > 1e9
            log("debug", "GetState", deadline_ms="none" if none else str(int(remaining * 1000)))
            self._require_config(context)
            return pb2.GetStateResponse(state=self._state)

        def WatchState(self, request, context):
            # Wake at once when the host cancels: a message yielded to an
            # already-cancelled stream keeps grpcio's graceful stop waiting
            # for its whole grace period.
            def wake():
                with self._changed:
                    self._changed.notify_all()

            self._require_config(context)
            context.add_callback(wake)
            with self._changed:
                last = self._state
            yield pb2.WatchStateResponse(state=last)
            while True:
                with self._changed:
                    self._changed.wait_for(lambda: self._state != last or not context.is_active())
                    current = self._state
                if not context.is_active():
                    return
                last = current
                yield pb2.WatchStateResponse(state=current)

        def PreCreateCheck(self, request, context):
            self._require_config(context)
            if self._state != State.Value("STATE_NONE_UNSPECIFIED"):
                context.abort(grpc.StatusCode.FAILED_PRECONDITION, f"machine {self._config['machineName']!r} already exists")
            if not os.path.isdir(self._config["storePath"]):
                context.abort(grpc.StatusCode.FAILED_PRECONDITION, f"store {self._config['storePath']!r} is not a directory: create it first")
            return pb2.PreCreateCheckResponse()

        def GetMachineName(self, request, context):
            self._require_config(context)
            return pb2.GetMachineNameResponse(name=self._config["machineName"])

        def GetIP(self, request, context):
            self._require_machine(context)
            if self._state != State.Value("STATE_RUNNING"):
                context.abort(grpc.StatusCode.FAILED_PRECONDITION, f"machine {self._config['machineName']!r} is not running: start it first")
            return pb2.GetIPResponse(ip=self._ip())

        # --- mutations ------------------------------------------------------
        def SetConfig(self, request, context):
            with self._mutating:
                self._config = self._parse_config(request.config_json, context)
                with self._changed:
                    self._state = self._load_state()
                    self._changed.notify_all()
            return pb2.SetConfigResponse()

        def SetConfigFromFlags(self, request, context):
            names = {"cpus": "cpus", "memory": "memoryMiB"}
            with self._mutating:
                self._require_config(context)
                for name, value in request.values.items():
                    if name not in names:
                        context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"unknown flag {name!r}; known flags: {', '.join(names)}")
                    if value.WhichOneof("kind") != "int_value":
                        context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"flag {name!r} takes an integer")
                    self._config[names[name]] = value.int_value
            return pb2.SetConfigFromFlagsResponse()

        def Create(self, request, context):
            with self._mutating:
                self._require_config(context)
                if self._state != State.Value("STATE_NONE_UNSPECIFIED"):
                    context.abort(grpc.StatusCode.ALREADY_EXISTS, f"machine {self._config['machineName']!r} already exists")
                steps = [("config", "checking the config"), ("disk", "making the disk"), ("network", "attaching networks")]
                if not (yield from self._progress(pb2.CreateResponse, steps, context)):
                    # Cancelled: nothing was persisted yet, so no half-made machine is left.
                    return
                self._set_state(State.Value("STATE_STOPPED"))
                log("info", "machine created", machine=self._config["machineName"])

        def Start(self, request, context):
            with self._mutating:
                self._require_machine(context)
                if self._state == State.Value("STATE_RUNNING"):
                    return
                kills = self._kills
                self._set_state(State.Value("STATE_STARTING"))
                steps = [("boot", "booting"), ("ip", "waiting for an address")]
                started = False
                try:
                    if not (yield from self._progress(pb2.StartResponse, steps, context, kills)):
                        context.abort(grpc.StatusCode.CANCELLED, "start stopped: killed or cancelled by the host")
                    self._set_state(State.Value("STATE_RUNNING"))
                    started = True
                finally:
                    # Cancelled by the host or its deadline, also while grpc had the generator
                    # paused at a yield and closed it (GeneratorExit): back to rest. A Kill did that itself.
                    if not started and self._kills == kills:
                        self._set_state(State.Value("STATE_STOPPED"))

        def Stop(self, request, context):
            with self._mutating:
                self._require_machine(context)
                self._set_state(State.Value("STATE_STOPPED"))
            return pb2.StopResponse()

        def Kill(self, request, context):
            # Never queued behind the mutation lock: it must work while a call hangs.
            self._require_machine(context)
            self._kills += 1
            self._set_state(State.Value("STATE_STOPPED"))
            return pb2.KillResponse()

        def Remove(self, request, context):
            with self._mutating:
                self._require_config(context)
                if self._state == State.Value("STATE_RUNNING"):
                    context.abort(grpc.StatusCode.FAILED_PRECONDITION, f"machine {self._config['machineName']!r} is running: stop or kill it first")
                self._set_state(State.Value("STATE_NONE_UNSPECIFIED"))
            return pb2.RemoveResponse()

    class Machines(pb2_grpc.DriverServiceServicer):
        """Routes each call to its machine's Machine, made on the machine's first call."""

        def __init__(self):
            self._lock = threading.Lock()
            self._machines = {"": Machine()}

        def machine_of(self, context):
            values = [v for k, v in context.invocation_metadata() if k == MACHINE_KEY]
            if not values:
                return self._machines[""]
            if len(values) > 1 or not MACHINE_NAME.fullmatch(values[0]):
                context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                              f"the {MACHINE_KEY!r} metadata {', '.join(values)!r} names no machine: 1 to 255 printable ASCII bytes without spaces")
            with self._lock:
                return self._machines.setdefault(values[0], Machine())

        def GetMachineStates(self, request, context):
            if len(request.machines) > MAX_STATES_PER_CALL:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                              f"GetMachineStates names {len(request.machines)} machines; at most {MAX_STATES_PER_CALL} per call: split the list into several calls")
            seen = set()
            answers = []
            for entry in request.machines:
                answers.append(self._state_of(entry, seen, context))
                seen.add(entry.machine)
            return pb2.GetMachineStatesResponse(machines=answers)

        def _state_of(self, entry, seen, context):
            def failed(code, message):
                cut = message.encode()[:MAX_ERROR_BYTES].decode(errors="ignore")
                return pb2.MachineStateEntry(machine=entry.machine, error=pb2.MachineStateError(code=code.value[0], message=cut))

            invalid = grpc.StatusCode.INVALID_ARGUMENT
            if not MACHINE_NAME.fullmatch(entry.machine):
                return failed(invalid, f"{entry.machine!r} names no machine: 1 to 255 printable ASCII bytes without spaces")
            if entry.machine in seen:
                return failed(invalid, f"machine {entry.machine!r} is named more than once in this call")
            if len(entry.config_json) > MAX_STATE_CONFIG_BYTES:
                return failed(invalid, f"the config of machine {entry.machine!r} is {len(entry.config_json)} bytes, over the {MAX_STATE_CONFIG_BYTES}-byte limit of one entry")
            remaining = context.time_remaining()
            if not context.is_active() or (remaining is not None and remaining < ENTRY_MARGIN_S):
                return failed(grpc.StatusCode.DEADLINE_EXCEEDED, "no answer before the GetMachineStates call's deadline")
            with self._lock:
                machine = self._machines.setdefault(entry.machine, Machine())
            sub = EntryContext(context)
            try:
                machine.SetConfig(pb2.SetConfigRequest(config_json=entry.config_json), sub)
                state = machine.GetState(pb2.GetStateRequest(), sub).state
                ip = ""
                if state == State.Value("STATE_RUNNING"):
                    try:
                        ip = machine.GetIP(pb2.GetIPRequest(), sub).ip
                    except EntryFailed:
                        pass  # no IP is not a failure of the listing
                return pb2.MachineStateEntry(machine=entry.machine, state=state, ip=ip)
            except EntryFailed as err:
                return failed(err.code, err.details)

    def route(name):
        def call(self, request, context):
            result = getattr(self.machine_of(context), name)(request, context)
            if inspect.isgenerator(result):
                # grpc stops iterating a stream whose call ended (cancel, deadline) and may
                # leave the generator paused at a yield: close it then, so its finally
                # blocks and `with` locks run at once.
                context.add_callback(lambda: close_paused(result))
            return result
        return call

    def close_paused(generator):
        try:
            generator.close()
        except ValueError:
            # Running in grpc's thread right now (between yields): try again once it
            # has paused or finished (closing a finished generator does nothing).
            retry = threading.Timer(0.05, close_paused, [generator])
            retry.daemon = True
            retry.start()

    for rpc in [n for n in vars(Machine) if n[:1].isupper()]:
        setattr(Machines, rpc, route(rpc))
    return Machines()

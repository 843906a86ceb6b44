"""Where the plugin's socket goes and the checks it passes first.

The same rules as driverplug's TypeScript plugin (docs/protocol.md): the
directory comes from PLUGIN_UNIX_SOCKET_DIR, MACHINE_PLUGIN_SOCKET_DIR,
$XDG_RUNTIME_DIR/driverplug or <tmp>/driverplug-<uid>; it must be a real
directory owned by the effective uid with no group/other bits, under
ancestors nobody else can swap; the socket name is unique to this process and
the whole path fits the 103-byte limit.
"""

import grp
import os
import secrets
import stat
import tempfile

MAX_SOCKET_PATH_BYTES = 103


class SocketDirError(Exception):
    """The socket directory or path is unsafe or unusable; the message says how to fix it."""


def resolve(env):
    """(directory, the setting that chose it, whether to create it if missing)."""
    for name, create in (("PLUGIN_UNIX_SOCKET_DIR", False), ("MACHINE_PLUGIN_SOCKET_DIR", True)):
        value = env.get(name)
        if value:
            if not os.path.isabs(value):
                raise SocketDirError(f"{name}={value!r} is not an absolute path; set it to an absolute directory or unset it")
            return value, name, create
    if env.get("XDG_RUNTIME_DIR"):
        return os.path.join(env["XDG_RUNTIME_DIR"], "driverplug"), "XDG_RUNTIME_DIR", True
    return os.path.join(tempfile.gettempdir(), f"driverplug-{os.geteuid()}"), "the system temp directory", True


def socket_group(env):
    """The gid named by PLUGIN_UNIX_SOCKET_GROUP (a name or a number), or None."""
    value = env.get("PLUGIN_UNIX_SOCKET_GROUP")
    if not value:
        return None
    if value.isdigit():
        return int(value)
    try:
        return grp.getgrnam(value).gr_gid
    except KeyError:
        raise SocketDirError(f"PLUGIN_UNIX_SOCKET_GROUP={value!r} names no group on this system") from None


def ensure(path, create, gid=None):
    """Creates a missing base directory 0700, then checks it; returns its real path."""
    if create:
        try:
            os.mkdir(path, 0o700)
            if gid is not None:
                os.chown(path, -1, gid)
                os.chmod(path, 0o710)
        except FileExistsError:
            pass
        except OSError as err:
            raise SocketDirError(f"cannot create socket directory {path}: {err.strerror}") from err
    return check(path, gid)


def check(path, gid=None):
    uid = os.geteuid()
    try:
        st = os.lstat(path)
    except OSError as err:
        raise SocketDirError(f"socket directory {path} cannot be read: {err.strerror}") from err
    if stat.S_ISLNK(st.st_mode):
        raise SocketDirError(f"socket directory {path} is a symlink to {os.readlink(path)}; use a real directory you own (remove the link)")
    if not stat.S_ISDIR(st.st_mode):
        raise SocketDirError(f"socket directory {path} is not a directory; remove it or choose another directory")
    if st.st_uid != uid:
        raise SocketDirError(f"socket directory {path} is owned by uid {st.st_uid}, not by this user (uid {uid}); remove it or choose a directory you own")
    mode = stat.S_IMODE(st.st_mode)
    if gid is None and mode & 0o077:
        raise SocketDirError(f"socket directory {path} has mode {mode:04o}, which gives group or other users access; chmod 0700 {path}")
    if gid is not None and (st.st_gid != gid or mode & 0o027):
        raise SocketDirError(f"socket directory {path} has group {st.st_gid} and mode {mode:04o}; expected group {gid} and at most 0750: chgrp {gid} {path} && chmod 0710 {path}")
    real = os.path.realpath(path)
    _check_ancestors(real, uid)
    return real


def _check_ancestors(real, uid):
    parent = os.path.dirname(real)
    while True:
        st = os.stat(parent)
        if st.st_uid not in (0, uid):
            raise SocketDirError(f"ancestor {parent} of socket directory {real} is owned by uid {st.st_uid}, neither root nor this user; choose a socket directory under a path you or root own")
        if st.st_mode & 0o022 and not st.st_mode & stat.S_ISVTX:
            raise SocketDirError(f"ancestor {parent} of socket directory {real} is writable by group or others without the sticky bit; chmod go-w {parent}, or choose another directory")
        if parent == os.path.dirname(parent):
            return
        parent = os.path.dirname(parent)


def unique_socket_path(directory, driver):
    """<dir>/<driver>-<pid>-<8 hex>.sock, refused when it would pass the length limit."""
    path = os.path.join(directory, f"{driver}-{os.getpid()}-{secrets.token_hex(4)}.sock")
    size = len(os.fsencode(path))
    if size > MAX_SOCKET_PATH_BYTES:
        raise SocketDirError(
            f"socket path {path} is {size} bytes, over the {MAX_SOCKET_PATH_BYTES}-byte limit of Unix socket addresses; "
            "use a shorter socket directory (set PLUGIN_UNIX_SOCKET_DIR or MACHINE_PLUGIN_SOCKET_DIR, e.g. to /tmp/dp)")
    if os.path.lexists(path):
        raise SocketDirError(f"socket path {path} already exists; another process chose the same random name, start again")
    return path


def confirm_socket(path, gid=None):
    """After bind: the file is a socket owned by us with no more than the allowed mode."""
    st = os.lstat(path)
    allowed = 0o660 if gid is not None else 0o600
    if not stat.S_ISSOCK(st.st_mode) or st.st_uid != os.geteuid() or stat.S_IMODE(st.st_mode) & ~allowed:
        raise SocketDirError(f"socket {path} came out with mode {stat.S_IMODE(st.st_mode):04o} and uid {st.st_uid}; expected a socket owned by uid {os.geteuid()} with mode {allowed:04o}")

"""Remote stores: the URL, credentials, a disposable local cache clone, fetch and push.

A remote store is read through a bare clone under ``$XDG_CACHE_HOME/refold/<hash of
URL>``, shared by every refold process on the machine and guarded by a file lock while
it fetches. The cache is never the source of truth: a fetch makes the refs it covers
mirror the remote exactly (forced, and deleting what the remote no longer has), and a
ref moves only when the server accepted the push.

A push is the remote compare-and-swap. It is never forced; before sending anything it
checks that the server's advertised value is the one the caller computed from (a lease,
like ``git push --force-with-lease`` but without the force), and git's receive-pack then
updates the ref only if it still holds that value. libgit2's own ``file://`` push writes
the ref without that check, so for ``file://`` the objects are copied and the ref moved
with refold's local compare-and-swap instead.

Tokens (``REFOLD_TOKEN``, else ``GITHUB_TOKEN``) come from the environment only (a URL
carrying a password is refused, since a command line ends up in logs and error
messages) and reach libgit2 only through the credentials callback: never part of a URL
libgit2 sees (so never in the cache's FETCH_HEAD, config or reflogs), and scrubbed from
every error text.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Collection, Iterable, Iterator, Mapping
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import filelock
import msgspec
import pygit2

from refold.manifests.errors import ContentionError, RefoldError, UsageError
from refold.store.faults import fault_point
from refold.store.refs import LostRace, compare_and_swap

SCHEMES = ("file", "git", "ssh", "http", "https")
TOKEN_USER = "x-access-token"
"""The user name GitHub expects with an installation or Actions token."""
LOCK_TIMEOUT = 600.0
"""A first clone of a big store can take minutes; a lock held longer is a stuck process."""
_ZERO = pygit2.Oid(raw=b"\0" * 20)
_LOOPBACK = ("127.", "localhost", "::1", "[::1]")


class RemoteError(RefoldError):
    """Talking to a remote store failed: unreachable, credentials refused, no repository."""

    kind = "remote"


class PushRefused(RemoteError):
    """The server refused an update for a reason of its own (a hook), not a lost race."""

    kind = "refused"


class Remote:
    """Where a remote store lives, how to log in, and where its cache is.

    Mutable on purpose: it remembers the last advertisement and whether the cache was
    just refreshed, so the first operation after opening need not fetch again.
    """

    __slots__ = ("_secret", "_user", "advertised", "cache", "fresh", "host", "scheme", "url")

    def __init__(
        self, url: str, scheme: str, host: str, cache: Path, user: str | None, secret: str | None
    ) -> None:
        self.url = url
        """The URL without any password or token: what libgit2 and every message see."""
        self.scheme = scheme
        self.host = host
        self.cache = cache
        self.advertised: dict[str, pygit2.Oid] = {}
        self.fresh: tuple[frozenset[str], tuple[str, ...]] | None = None
        self._user = user
        self._secret = secret

    def __repr__(self) -> str:
        return f"Remote({self.url!r})"

    @property
    def local_path(self) -> str | None:
        """The repository's directory for ``file://`` URLs."""
        if self.scheme != "file":
            return None
        return unquote(urlsplit(self.url).path)

    def secrets(self) -> list[str]:
        found = [self._secret or ""]
        return [s for s in found if s]

    def userpass(self) -> tuple[str, str] | None:
        """The user name and token for http(s), or None when there is none."""
        if not self._secret:
            return None
        if self.scheme == "http" and not self.host.startswith(_LOOPBACK):
            raise _AuthRefused("refold sends a token only over https (or plain http to loopback)")
        return self._user or TOKEN_USER, self._secret


class Advertisement(msgspec.Struct, frozen=True):
    """The refs a server listed when refold connected, and where its HEAD points."""

    refs: dict[str, str]
    head: str | None = None


class _AuthRefused(Exception):
    """Raised inside the credentials callback; libgit2 hands it back to the caller."""


class _Moved(Exception):
    """The server's ref no longer holds the value the push was computed from."""


def is_url(location: str) -> bool:
    """Whether ``location`` names a remote (a URL or scp-like ``user@host:path``)."""
    if "://" in location:
        return True
    if os.path.exists(location):
        return False
    head, colon, rest = location.partition(":")
    return bool(colon) and len(head) > 1 and "/" not in head and not rest.startswith("//")


def parse_remote(location: str, env: Mapping[str, str] | None = None) -> Remote:
    """The Remote for a URL, with the token from the environment kept in memory only."""
    env = os.environ if env is None else env
    if "://" not in location:
        login, _, rest = location.rpartition("@")
        host, _, path = rest.partition(":")
        if not host or not path:
            raise UsageError(
                f"{location!r} is not a valid scp-like address", hint="use ssh://HOST/PATH"
            )
        return Remote(location, "ssh", host, cache_dir(location, env), login or None, None)
    try:
        parts = urlsplit(location)
        port = parts.port
    except ValueError as exc:
        raise UsageError(f"store URL is malformed: {exc}", location="--store") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise UsageError(
            f"store URL scheme {scheme!r} is not supported",
            location="--store",
            hint="use file://, git://, ssh://, https:// or user@host:path",
        )
    if parts.password is not None:
        # Said without echoing the URL: it holds the secret.
        raise UsageError(
            "the store URL carries a password; refold takes credentials only from the environment",
            location="--store",
            hint="give the URL without user:password@ and set REFOLD_TOKEN (or GITHUB_TOKEN)",
        )
    host = parts.hostname or ""
    if scheme != "file" and not host:
        raise UsageError(f"store URL {location!r} has no host", location="--store")
    if scheme == "file" and not parts.path:
        raise UsageError(f"store URL {location!r} has no path", location="--store")
    user = parts.username
    secret = None
    if scheme in ("http", "https"):
        if env.get("REFOLD_TOKEN"):
            secret = env["REFOLD_TOKEN"]
        elif env.get("GITHUB_TOKEN"):
            user, secret = TOKEN_USER, env["GITHUB_TOKEN"]
        # The user name goes to libgit2 through the callback, so URL and cache stay plain.
        netloc = f"[{host}]" if ":" in host else host
        netloc += "" if port is None else f":{port}"
        url = urlunsplit((scheme, netloc, parts.path, parts.query, ""))
    else:
        url = urlunsplit(parts._replace(fragment=""))
    return Remote(url, scheme, host, cache_dir(url, env), user, secret)


def cache_dir(url: str, env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    base = env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    digest = hashlib.sha256(url.encode()).hexdigest()[:32]
    return Path(base) / "refold" / digest


def scrub(text: str, remote: Remote, env: Mapping[str, str] | None = None) -> str:
    """``text`` with every credential refold knows of replaced by ``***``."""
    env = os.environ if env is None else env
    secrets = remote.secrets() + [env.get("REFOLD_TOKEN", ""), env.get("GITHUB_TOKEN", "")]
    for secret in sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


# --- the cache -------------------------------------------------------------------------


@contextlib.contextmanager
def cache_lock(remote: Remote) -> Iterator[None]:
    remote.cache.parent.mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(str(remote.cache) + ".lock", timeout=LOCK_TIMEOUT)
    try:
        with lock:
            fault_point("cache.locked")
            yield
    except filelock.Timeout:
        raise ContentionError(
            f"the cache of {remote.url} stayed locked for {LOCK_TIMEOUT:.0f} s",
            location=str(remote.cache),
            hint="another refold process is stuck fetching; stop it, or delete the cache",
        ) from None


def open_cache(remote: Remote) -> pygit2.Repository:
    """The cache clone, created on first use; one that is damaged is thrown away."""
    try:
        return pygit2.Repository(str(remote.cache), pygit2.enums.RepositoryOpenFlag.NO_SEARCH)
    except pygit2.GitError:
        pass
    with cache_lock(remote):
        try:
            return pygit2.Repository(str(remote.cache), pygit2.enums.RepositoryOpenFlag.NO_SEARCH)
        except pygit2.GitError:
            shutil.rmtree(remote.cache, ignore_errors=True)
        fresh = Path(tempfile.mkdtemp(prefix=".new-", dir=remote.cache.parent))
        repo = pygit2.init_repository(str(fresh), bare=True)
        repo.config["refold.url"] = remote.url
        os.rename(fresh, remote.cache)
    return pygit2.Repository(str(remote.cache), pygit2.enums.RepositoryOpenFlag.NO_SEARCH)


# --- talking to the server -----------------------------------------------------------


class _Callbacks(pygit2.RemoteCallbacks):
    def __init__(self, remote: Remote, leases: Mapping[str, pygit2.Oid | None] | None = None):
        super().__init__()
        self.store_remote = remote
        self.leases = dict(leases or {})
        self.asked = 0
        self.said: list[str] = []
        self.statuses: dict[str, str] = {}

    def credentials(
        self, url: str, username_from_url: str | None, allowed_types: pygit2.enums.CredentialType
    ) -> pygit2.UserPass | pygit2.Keypair | pygit2.Username:
        self.asked += 1
        if self.asked > 1:
            raise _AuthRefused("the server refused the credentials")
        kinds = pygit2.enums.CredentialType
        if allowed_types & kinds.USERPASS_PLAINTEXT:
            found = self.store_remote.userpass()
            if found is None:
                raise _AuthRefused("the server asks for credentials and no token is set")
            return pygit2.UserPass(*found)
        if allowed_types & kinds.SSH_KEY:
            return pygit2.KeypairFromAgent(username_from_url or "git")
        if allowed_types & kinds.USERNAME:
            return pygit2.Username(username_from_url or "git")
        raise _AuthRefused("the server asks for a kind of credentials refold does not have")

    def sideband_progress(self, string: str) -> None:
        self.said.append(string)

    def push_negotiation(self, updates: list[pygit2.remotes.PushUpdate]) -> None:
        for update in updates:
            if update.dst_refname in self.leases:
                current = None if update.src == _ZERO else update.src
                if current != self.leases[update.dst_refname]:
                    raise _Moved(update.dst_refname)

    def push_update_reference(self, refname: str, message: str | None) -> None:
        if message:
            self.statuses[refname] = message

    def server_lines(self) -> list[str]:
        return [line.strip() for line in "".join(self.said).splitlines() if line.strip()]


_UNREACHABLE = (
    "failed to connect",
    "connection refused",
    "failed to resolve address",
    "timed out",
    "unreachable",
    "no route to host",
    "could not resolve",
    "connection reset",
    "early eof",
)
_NOT_FOUND = (
    "not exported",
    "404",
    "not found",
    "does not appear to be a git repository",
    "failed to resolve path",
    "could not find repository",
    "not a git repository",
    "repository not found",
)
_AUTH = ("401", "403", "authentication", "permission denied", "credentials")


def network_error(remote: Remote, exc: BaseException, doing: str) -> RemoteError:
    """A clear error for a failed network call, with no credential in it."""
    text = scrub(str(exc), remote)
    lower = text.lower()
    where = remote.url
    if isinstance(exc, (_AuthRefused, pygit2.AuthError)) or any(word in lower for word in _AUTH):
        hint = (
            "load a key for this host into ssh-agent"
            if remote.scheme == "ssh"
            else "set REFOLD_TOKEN (or GITHUB_TOKEN) to a token with access to the repository"
        )
        return RemoteError(
            f"{remote.host or where} refused the credentials: {text}", location=where, hint=hint
        )
    if any(word in lower for word in _UNREACHABLE):
        return RemoteError(
            f"cannot reach {remote.host or where}: {text}",
            location=where,
            hint="check the host and port in the store URL, and that the server is up",
        )
    if any(word in lower for word in _NOT_FOUND):
        return RemoteError(
            f"no repository at {where}: {text}",
            location=where,
            hint="check the URL (and that the token may read it); create a store with refold init URL",
        )
    return RemoteError(f"could not {doing} {where}: {text}", location=where)


def _connect(
    remote: Remote, repo: pygit2.Repository
) -> tuple[pygit2.remotes.Remote, _Callbacks, Advertisement]:
    handle = repo.remotes.create_anonymous(remote.url)
    callbacks = _Callbacks(remote)
    try:
        handle.connect(callbacks=callbacks)
        heads = handle.list_heads(connect=False)
    except (pygit2.GitError, _AuthRefused) as exc:
        raise network_error(remote, exc, "connect to") from None
    refs: dict[str, str] = {}
    head = None
    for item in heads:
        if item.name == "HEAD":
            head = item.symref_target
        elif item.name and item.name.startswith("refs/") and not item.name.endswith("^{}"):
            refs[item.name] = str(item.oid)
    return handle, callbacks, Advertisement(refs=refs, head=head)


def public_branch(advertised: Advertisement, configured: str | None) -> str | None:
    """Which branch of the remote is public: the one refold recorded, else HEAD's, else
    ``main``, else the only branch; None when that does not decide it."""
    branches = [name for name in advertised.refs if name.startswith("refs/heads/")]
    for candidate in (
        f"refs/heads/{configured}" if configured else None,
        advertised.head,
        "refs/heads/main",
    ):
        if candidate and candidate in advertised.refs:
            return candidate.removeprefix("refs/heads/")
    if len(branches) == 1:
        return branches[0].removeprefix("refs/heads/")
    return None


def mirror(
    remote: Remote,
    repo: pygit2.Repository,
    names: Iterable[str],
    prefixes: Collection[str] = (),
    *,
    public: str | None = None,
) -> Advertisement:
    """Make the cache's refs named in ``names`` or under ``prefixes`` equal the remote's.

    Only refs whose value changed are fetched, and only objects the cache lacks. With
    ``public`` (a configured branch name or ""), the public branch is also chosen from
    the advertisement, mirrored, and recorded in the cache's config.
    """
    wanted = set(names)
    with cache_lock(remote):
        handle, callbacks, advertised = _connect(remote, repo)
        if public is not None:
            branch = public_branch(advertised, public or None)
            if branch is not None:
                wanted.add(f"refs/heads/{branch}")
                repo.config["refold.branch"] = branch
        in_scope = tuple(prefixes)

        def covered(name: str) -> bool:
            return name in wanted or (bool(in_scope) and name.startswith(in_scope))

        for ref in list(repo.references.iterator()):
            if covered(ref.name) and ref.name not in advertised.refs:
                ref.delete()
        stale: dict[str, pygit2.Oid] = {}
        for name, target in advertised.refs.items():
            if not covered(name):
                continue
            oid = pygit2.Oid(hex=target)
            current = repo.references.get(name)
            if current is None or current.target != oid:
                stale[name] = oid
        missing = [name for name, oid in stale.items() if oid not in repo]
        if missing:
            try:
                handle.fetch(missing, callbacks=callbacks, message="refold: fetch")
            except (pygit2.GitError, _AuthRefused) as exc:
                raise network_error(remote, exc, "fetch from") from None
            fault_point("mirror.fetched")
        for name, oid in stale.items():
            repo.references.create(name, oid, force=True)
    remote.advertised = {name: pygit2.Oid(hex=target) for name, target in advertised.refs.items()}
    return advertised


def push(
    remote: Remote,
    repo: pygit2.Repository,
    name: str,
    expected: pygit2.Oid | None,
    new: pygit2.Oid,
    message: str,
) -> None:
    """Move the remote's ``name`` from ``expected`` (None: absent) to ``new``, never forced.

    Raises LostRace when the remote ref held something else, PushRefused when the server
    turned the update down for another reason (its message says why), RemoteError when
    the network failed. A failed push leaves the remote ref as it was.
    """
    if remote.scheme == "file":
        # compare_and_swap passes the "cas.before" fault point itself.
        _push_local(remote, repo, name, expected, new, message)
    else:
        fault_point("cas.before")
        _push_network(remote, repo, name, expected, new)
    fault_point("push.accepted")
    with cache_lock(remote):
        ref = repo.references.get(name)
        if ref is None or ref.target == expected:
            repo.references.create(name, new, force=True)


_RACE_STATUSES = (
    "failed to update ref",
    "failed to lock",
    "fetch first",
    "stale info",
    "non-fast-forward",
)
_CLIENT_RACES = ("non-fastforwardable", "not present locally")


def _push_network(
    remote: Remote, repo: pygit2.Repository, name: str, expected: pygit2.Oid | None, new: pygit2.Oid
) -> None:
    handle = repo.remotes.create_anonymous(remote.url)
    callbacks = _Callbacks(remote, leases={name: expected})
    try:
        handle.push([f"{new}:{name}"], callbacks=callbacks)
    except _Moved:
        raise LostRace(name) from None
    except (pygit2.GitError, _AuthRefused) as exc:
        if any(text in str(exc) for text in _CLIENT_RACES):
            raise LostRace(name) from None
        raise network_error(remote, exc, "push to") from None
    status = callbacks.statuses.get(name)
    if status is None:
        return
    if any(text in status for text in _RACE_STATUSES) and "hook" not in status:
        raise LostRace(name)
    said = [line for line in callbacks.server_lines() if "rejected" in line or "error" in line]
    reason = "; ".join(said) or status
    raise PushRefused(
        scrub(f"{remote.url} refused to update {name}: {reason}", remote),
        location=name,
        hint="the server's refold hook checks every push; the reason says what to fix",
    )


def _push_local(
    remote: Remote,
    repo: pygit2.Repository,
    name: str,
    expected: pygit2.Oid | None,
    new: pygit2.Oid,
    message: str,
) -> None:
    path = remote.local_path or ""
    try:
        target = pygit2.Repository(path, pygit2.enums.RepositoryOpenFlag.NO_SEARCH)
    except (pygit2.GitError, KeyError) as exc:
        raise network_error(remote, exc, "push to") from None
    copy_objects(repo, target, new)
    compare_and_swap(target, name, expected, new, message)


def copy_objects(source: pygit2.Repository, target: pygit2.Repository, start: pygit2.Oid) -> int:
    """Write every object reachable from ``start`` that ``target`` lacks; children first,
    so a reader of ``target`` never finds a commit whose tree or parents are missing."""
    order: list[pygit2.Oid] = []
    seen: set[pygit2.Oid] = set()
    stack: list[tuple[pygit2.Oid, bool]] = [(start, False)]
    while stack:
        oid, expanded = stack.pop()
        if expanded:
            order.append(oid)
            continue
        if oid in seen or oid in target:
            continue
        seen.add(oid)
        stack.append((oid, True))
        obj = source[oid]
        if isinstance(obj, pygit2.Commit):
            stack.append((obj.tree_id, False))
            stack.extend((parent, False) for parent in obj.parent_ids)
        elif isinstance(obj, pygit2.Tree):
            stack.extend((entry.id, False) for entry in obj)
    for oid in order:
        kind, data = source.odb.read(oid)
        target.odb.write(kind, data)
    return len(order)


# --- a loopback server, for tests and benchmarks -------------------------------------


class LoopbackServer(msgspec.Struct, frozen=True):
    """A ``git daemon`` serving every repository under ``base`` on 127.0.0.1."""

    base: str
    port: int
    pid: int

    def url(self, name: str) -> str:
        return f"git://127.0.0.1:{self.port}/{name}"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _accepting(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def git_daemon(
    base: str | os.PathLike[str], *, log: str | os.PathLike[str] | None = None
) -> Iterator[LoopbackServer]:
    """Serve ``base`` over git:// on a free loopback port (receive-pack enabled) until the
    block ends. Needs the ``git`` command; for tests and benchmarks, not for stores."""
    root = os.fspath(base)
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(open(log, "ab")) if log is not None else subprocess.DEVNULL
        for _ in range(5):
            # Another process may take the port between probing and binding: try a new one.
            port = _free_port()
            daemon = subprocess.Popen(
                [
                    "git",
                    "daemon",
                    "--enable=receive-pack",
                    f"--base-path={root}",
                    "--export-all",
                    "--reuseaddr",
                    "--listen=127.0.0.1",
                    f"--port={port}",
                    root,
                ],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
            )
            deadline = time.monotonic() + 10
            while daemon.poll() is None and time.monotonic() < deadline:
                if _accepting(port):
                    break
                time.sleep(0.02)
            if daemon.poll() is None and _accepting(port):
                break
            _stop(daemon)
        else:
            raise RuntimeError("git daemon did not start on a loopback port")
        try:
            yield LoopbackServer(base=root, port=port, pid=daemon.pid)
        finally:
            _stop(daemon)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


__all__ = [
    "Advertisement",
    "LoopbackServer",
    "PushRefused",
    "Remote",
    "RemoteError",
    "cache_dir",
    "copy_objects",
    "git_daemon",
    "is_url",
    "mirror",
    "open_cache",
    "parse_remote",
    "public_branch",
    "push",
    "scrub",
]

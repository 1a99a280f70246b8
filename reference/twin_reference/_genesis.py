"""The genesis file of a multi-validator ledger: the committee and each validator's URL.

``genesis.json`` (schema: ``spec/schemas/genesis.schema.json``) is public: it names the
committee (the keys every receipt verifies against) and where each validator's node listens::

    {"committee": {"epoch": 0, "validators": [{"index": 0, "publicKey": "z6Mk...", "stake": 1}]},
     "peers": [{"index": 0, "url": "http://127.0.0.1:9100"}]}

``twin-node genesis`` writes it together with one data directory per validator, whose vault
already holds that validator's signing key; the rest of a node (its DID, admin user, token
key) is created when ``twin-node serve --genesis`` first starts on the directory.
"""

from __future__ import annotations

import json
import re
import socket
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from twin_reference._files import PUBLIC_FILE, private_directory, write_file
from twin_reference._store import Store
from twin_reference._vault import Vault
from twin_spec import Committee, JSONValue, LedgerError, Validator, parse_json

GENESIS_FILE = "genesis.json"
VALIDATOR_KEY = "validator"
_URL = re.compile(r"https?://[^\s/?#@]+/?\Z")


@dataclass(frozen=True)
class Genesis:
    """A committee and the URL of each validator's node, by index."""

    committee: Committee
    peers: dict[int, str]

    def to_json(self) -> dict[str, JSONValue]:
        """The genesis file's JSON."""
        return {
            "committee": self.committee.to_json(),
            "peers": [{"index": index, "url": url} for index, url in sorted(self.peers.items())],
        }


class GenesisError(ValueError):
    """A genesis file that cannot be used, with the member that is wrong."""


def read_genesis(path: Path) -> Genesis:
    """Read and check a genesis file; raise :class:`GenesisError` naming what is wrong."""
    # TWIN-CONSENSUS-111 "A genesis file MUST be {committee, peers} with a valid committee and
    # exactly one http or https URL for each of its validators, and nothing else."
    try:
        document = parse_json(path.read_bytes())
    except OSError as exc:
        raise GenesisError(f"cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise GenesisError(f"{path} is not JSON: {exc}") from None
    if not isinstance(document, dict) or set(document) != {"committee", "peers"}:
        raise GenesisError(f"{path} must be an object with exactly committee and peers")
    try:
        committee = Committee.from_json(document["committee"])
    except LedgerError as exc:
        raise GenesisError(f"{path}: committee.{exc.field or ''}: {exc.message}") from None
    peers = _peer_entries(path, document["peers"], committee.size)
    missing = sorted(set(range(committee.size)) - set(peers))
    if missing:
        raise GenesisError(f"{path}: peers has no URL for validators {missing}")
    return Genesis(committee, peers)


def _peer_entries(path: Path, entries: object, size: int) -> dict[int, str]:
    """The ``peers`` array of a genesis or peer URL file: index to URL, each index once."""
    if not isinstance(entries, list):
        raise GenesisError(f"{path}: peers must be an array")
    peers: dict[int, str] = {}
    for position, entry in enumerate(entries):
        where = f"{path}: peers[{position}]"
        if not isinstance(entry, dict) or set(entry) != {"index", "url"}:
            raise GenesisError(f"{where} must be an object with exactly index and url")
        index, url = entry["index"], entry["url"]
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < size:
            raise GenesisError(f"{where}.index must be a validator index of the committee")
        if index in peers:
            raise GenesisError(f"{where}.index {index} is listed twice")
        if not isinstance(url, str) or not _URL.match(url):
            raise GenesisError(f"{where}.url must be an http or https URL with no path")
        peers[index] = url.rstrip("/")
    return peers


def read_peer_urls(path: Path, genesis: Genesis, own_index: int) -> dict[int, str]:
    """Read a peer URL override file: ``{"peers": [{"index", "url"}, ...]}``, as a genesis's.

    The launch contract's ``peers.json`` (spec/prose/launch.md): where this validator reaches
    each peer listed (through a relay or a proxy) instead of its genesis URL; peers not listed
    keep their genesis URL, and this validator's own entry, if any, is not a peer and is left
    out. Raise :class:`GenesisError` naming what is wrong.
    """
    try:
        document = parse_json(path.read_bytes())
    except OSError as exc:
        raise GenesisError(f"cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise GenesisError(f"{path} is not JSON: {exc}") from None
    if not isinstance(document, dict) or set(document) != {"peers"}:
        raise GenesisError(
            f'{path} must be an object with exactly peers, such as {{"peers": [{{"index": 1,'
            ' "url": "http://127.0.0.1:9101"}]}'
        )
    urls = _peer_entries(path, document["peers"], genesis.committee.size)
    urls.pop(own_index, None)
    return urls


def free_ports(host: str, count: int) -> list[int]:
    """Ports the system reports free on ``host`` (all held open until all are chosen)."""
    with ExitStack() as stack:
        ports = []
        for _ in range(count):
            probe = stack.enter_context(
                socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
            )
            probe.bind((host, 0))
            ports.append(int(probe.getsockname()[1]))
        return ports


def validator_dir(out_dir: Path, index: int) -> Path:
    """The data directory of validator ``index`` beside the genesis file."""
    return out_dir / f"validator-{index}"


def create_genesis(out_dir: Path, validators: int, host: str, base_port: int | None) -> Genesis:
    """Create validator keys in ``out_dir/validator-I`` and write ``out_dir/genesis.json``.

    Each validator's signing key is generated in its own data directory's vault and never
    leaves it; the genesis file holds only public keys and URLs.
    """
    if not 1 <= validators <= 64:
        raise GenesisError("a local cluster has 1 to 64 validators")
    genesis_path = out_dir / GENESIS_FILE
    if genesis_path.exists():
        raise GenesisError(f"{genesis_path} already exists")
    for index in range(validators):
        if validator_dir(out_dir, index).exists():
            raise GenesisError(f"{validator_dir(out_dir, index)} already exists")
    ports = (
        [base_port + index for index in range(validators)]
        if base_port is not None
        else free_ports(host, validators)
    )
    if max(ports) > 65535:
        raise GenesisError(f"ports {ports[0]}..{ports[-1]} go beyond 65535")
    private_directory(out_dir)
    members = []
    for index in range(validators):
        data_dir = validator_dir(out_dir, index)
        private_directory(data_dir)
        store = Store(data_dir / "node.sqlite")
        try:
            with store.write() as connection:
                key = Vault(store).create(connection, VALIDATOR_KEY)
        finally:
            store.close()
        members.append(Validator(index, key.public_key, 1, None))
    literal = f"[{host}]" if ":" in host else host
    genesis = Genesis(
        Committee(0, tuple(members)),
        {index: f"http://{literal}:{port}" for index, port in enumerate(ports)},
    )
    write_file(genesis_path, json.dumps(genesis.to_json(), indent=2) + "\n", PUBLIC_FILE)
    return genesis

"""A local EVM for the DEX adapter's tests and demos: eth-tester on py-evm, the Vyper test
contracts of `contracts/`, and a JSON-RPC HTTP server on 127.0.0.1.

The server speaks the standard Ethereum JSON-RPC wire format (hex quantities, camelCase block
fields, geth-style revert errors) for the methods the adapter uses: `eth_chainId`,
`net_version`, `web3_clientVersion`, `eth_blockNumber`, `eth_getBlockByNumber`, `eth_call`;
anything else answers -32601 as geth does. So the adapter under test is the production code
path, HTTP included, pointed at a real EVM executing real contracts.

Needs the dev dependencies `eth-tester[py-evm]` and `vyper` (imported lazily, so the adapter
itself never imports them). Never binds anything but loopback.
"""
from __future__ import annotations

import decimal
import json
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

CONTRACTS_DIR = Path(__file__).parent / "contracts"
TOKEN_CONTRACT = "TestToken.vy"
PAIR_CONTRACT = "ConstantProductPair.vy"


@dataclass(frozen=True)
class Artifact:
    """ABI and deployment bytecode of one compiled contract."""

    abi: list[dict[str, Any]]
    bytecode: str


@lru_cache(maxsize=1)
def compile_contracts() -> dict[str, Artifact]:
    """Compile the Vyper sources of `contracts/` once per process (about 0.7 s).

    Importing vyper sets the process-wide decimal precision to 78 digits; the caller's
    decimal context is restored, so Decimal maths elsewhere keeps its usual 28 digits.
    """
    saved = decimal.getcontext().copy()
    try:
        import vyper

        out: dict[str, Artifact] = {}
        for name in (TOKEN_CONTRACT, PAIR_CONTRACT):
            compiled = vyper.compile_code((CONTRACTS_DIR / name).read_text(),
                                          output_formats=["abi", "bytecode"])
            out[name] = Artifact(abi=compiled["abi"], bytecode=compiled["bytecode"])
        return out
    finally:
        decimal.setcontext(saved)


class DevChain:
    """An in-process EVM whose `chain_id` is the chain it stands in for.

    Every access to the EVM goes through `lock`, since the RPC server answers from its own
    threads while a test drives the chain (deploys, swaps) from the event loop's thread.
    """

    def __init__(self, chain_id: int, artifacts: dict[str, Artifact] | None = None) -> None:
        from eth_tester import EthereumTester, PyEVMBackend
        from web3 import EthereumTesterProvider, Web3

        backend = PyEVMBackend()
        # eth-tester hard-codes its chain id on the chain class; this chain stands in for one
        # of ours, so it reports (and signs with) that id.
        backend.chain.chain_id = chain_id
        self.chain_id = chain_id
        self.tester = EthereumTester(backend)
        self.w3 = Web3(EthereumTesterProvider(self.tester))
        self.account = self.w3.eth.accounts[0]
        self.artifacts = artifacts or compile_contracts()
        self.lock = threading.RLock()

    # -- driving the chain -------------------------------------------------------------------

    def _deploy(self, name: str, *args: Any) -> Any:
        artifact = self.artifacts[name]
        factory = self.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        with self.lock:
            tx = factory.constructor(*args).transact({"from": self.account})
            receipt = self.w3.eth.get_transaction_receipt(tx)
        return self.w3.eth.contract(address=receipt["contractAddress"], abi=artifact.abi)

    def transact(self, fn: Any) -> Any:
        """Send a contract call as a transaction from the funded account; its receipt."""
        with self.lock:
            tx = fn.transact({"from": self.account})
            receipt = self.w3.eth.get_transaction_receipt(tx)
        if receipt["status"] != 1:
            raise RuntimeError(f"transaction {tx.hex()} failed")
        return receipt

    def deploy_token(self, symbol: str, decimals: int) -> Any:
        """A TestToken (web3 Contract) with that symbol and decimals."""
        return self._deploy(TOKEN_CONTRACT, symbol, decimals)

    def deploy_pair(self, token_a: Any, token_b: Any, fee_bps: int = 30) -> Any:
        """A ConstantProductPair of two tokens, ordered by address as the V2 factory does."""
        t0, t1 = sorted((token_a.address, token_b.address), key=lambda a: int(a, 16))
        return self._deploy(PAIR_CONTRACT, t0, t1, fee_bps)

    def token(self, address: str) -> Any:
        return self.w3.eth.contract(address=address, abi=self.artifacts[TOKEN_CONTRACT].abi)

    def add_liquidity(self, pair: Any, amount0: int, amount1: int) -> None:
        """Mint `amount0`/`amount1` of token0/token1 straight into the pair, then sync()."""
        with self.lock:
            for address, amount in ((pair.functions.token0().call(), amount0),
                                    (pair.functions.token1().call(), amount1)):
                if amount:
                    self.transact(self.token(address).functions.mint(pair.address, amount))
            self.transact(pair.functions.sync())

    def swap_exact_in(self, pair: Any, token_in: str, amount_in: int) -> int:
        """Pay `amount_in` of `token_in` into the pair and take the on-chain quote out.

        Returns the amount received (the pair's own `quoteOut` at the pre-swap state).
        """
        with self.lock:
            amount_out: int = pair.functions.quoteOut(token_in, amount_in).call()
            is_token0 = token_in.lower() == pair.functions.token0().call().lower()
            token = self.token(token_in)
            self.transact(token.functions.mint(self.account, amount_in))
            self.transact(token.functions.transfer(pair.address, amount_in))
            outs = (0, amount_out) if is_token0 else (amount_out, 0)
            self.transact(pair.functions.swap(outs[0], outs[1], self.account))
        return amount_out

    def mine(self, blocks: int = 1) -> None:
        with self.lock:
            self.tester.mine_blocks(blocks)

    def block_number(self) -> int:
        with self.lock:
            return int(self.tester.get_block_by_number("latest")["number"])

    def snapshot(self) -> Any:
        with self.lock:
            return self.tester.take_snapshot()

    def revert(self, snapshot: Any) -> None:
        with self.lock:
            self.tester.revert_to_snapshot(snapshot)

    # -- JSON-RPC ----------------------------------------------------------------------------

    @contextmanager
    def serve(self, path: str = "/") -> Iterator[RpcServer]:
        """Serve JSON-RPC on 127.0.0.1 (free port) at `path` until the block exits."""
        server = RpcServer(self, path)
        server.start()
        try:
            yield server
        finally:
            server.stop()

    def rpc(self, method: str, params: list[Any]) -> Any:
        """Answer one JSON-RPC call in wire format; raises RpcFault for an error response."""
        from eth_tester.exceptions import BlockNotFound, TransactionFailed

        with self.lock:
            if method == "eth_chainId":
                return hex(self.chain_id)
            if method == "net_version":
                return str(self.chain_id)
            if method == "web3_clientVersion":
                return "trifecta-devchain/eth-tester-py-evm"
            if method == "eth_blockNumber":
                return hex(self.tester.get_block_by_number("latest")["number"])
            if method == "eth_getBlockByNumber":
                try:
                    block = self.tester.get_block_by_number(_block_id(params[0]))
                except BlockNotFound:
                    return None
                wired: dict[str, Any] = _wire(dict(block))
                return wired
            if method == "eth_call":
                call = params[0]
                # A node runs eth_call without charging gas; eth-tester checks the sender's
                # balance, so an unspecified sender is the funded test account.
                tx = {"from": call.get("from") or self.account, "to": call["to"],
                      "data": call.get("data") or call.get("input") or "0x"}
                try:
                    return self.tester.call(tx, _block_id(params[1] if len(params) > 1
                                                          else "latest"))
                except TransactionFailed as e:
                    raise _revert_fault(e) from e
        raise RpcFault(-32601, f"the method {method} does not exist/is not available")


class RpcFault(Exception):
    """A JSON-RPC error object to send back."""

    def __init__(self, code: int, message: str, data: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.data = code, message, data


def _revert_fault(e: Exception) -> RpcFault:
    from eth_abi import decode

    raw = e.args[0] if e.args else b""
    if isinstance(raw, Exception):
        raw = raw.args[0] if raw.args else b""
    if isinstance(raw, bytes | bytearray):
        data = "0x" + bytes(raw).hex()
        reason = ""
        if raw[:4] == bytes.fromhex("08c379a0"):
            try:
                (reason,) = decode(["string"], bytes(raw[4:]))
            except Exception:  # noqa: BLE001 - keep the raw data when the reason is odd
                reason = ""
        return RpcFault(3, f"execution reverted: {reason}".rstrip(": "), data)
    return RpcFault(3, f"execution reverted: {raw}", None)


def _block_id(value: Any) -> int | str:
    if isinstance(value, str) and value.startswith("0x"):
        return int(value, 16)
    if value in ("latest", "earliest", "pending", "safe", "finalized"):
        return str(value)
    raise RpcFault(-32602, f"invalid block id {value!r}")


_KEYS = {"coinbase": "miner"}


def _camel(key: str) -> str:
    if key in _KEYS:
        return _KEYS[key]
    head, *rest = key.split("_")
    return head + "".join(p.capitalize() for p in rest)


def _wire(value: Any, key: str = "") -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        if key == "logsBloom":
            return "0x" + value.to_bytes(256, "big").hex()
        return hex(value)
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, dict):
        return {_camel(k): _wire(v, _camel(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_wire(v) for v in value]
    return value


@dataclass
class CannedResponse:
    """A response the server sends instead of answering (fault injection for tests)."""

    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()


class RpcServer:
    """A threaded HTTP JSON-RPC server for a DevChain, bound to 127.0.0.1 on a free port."""

    def __init__(self, chain: DevChain, path: str = "/") -> None:
        self.chain = chain
        self.path = path
        self.calls: deque[tuple[str, list[Any]]] = deque(maxlen=10_000)
        self._canned: deque[CannedResponse] = deque()
        self._guard = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}{self.path}"

    def fail_next(self, status: int, body: bytes = b"", count: int = 1,
                  headers: tuple[tuple[str, str], ...] = ()) -> None:
        """Answer the next `count` requests with this status and body instead of the chain."""
        with self._guard:
            self._canned.extend(CannedResponse(status, body, headers) for _ in range(count))

    def methods(self) -> list[str]:
        return [m for m, _ in list(self.calls)]

    def _take_canned(self) -> CannedResponse | None:
        with self._guard:
            return self._canned.popleft() if self._canned else None

    def start(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out as two writes

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass  # keep test output clean; the server is not under test

            def _send(self, status: int, body: bytes,
                      headers: tuple[tuple[str, str], ...] = ()) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for k, v in headers:
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if self.path != server.path:
                    self._send(401, b'{"error":"invalid api key"}')
                    return
                canned = server._take_canned()
                if canned is not None:
                    self._send(canned.status, canned.body, canned.headers)
                    return
                try:
                    request = json.loads(raw)
                except ValueError:
                    self._send(200, json.dumps({"jsonrpc": "2.0", "id": None, "error": {
                        "code": -32700, "message": "parse error"}}).encode())
                    return
                if isinstance(request, list):
                    body = [server._answer(r) for r in request]
                    self._send(200, json.dumps(body).encode())
                else:
                    self._send(200, json.dumps(server._answer(request)).encode())

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True,
                                        name="devchain-rpc")
        self._thread.start()

    def _answer(self, request: Any) -> dict[str, Any]:
        rid = request.get("id") if isinstance(request, dict) else None
        if not isinstance(request, dict) or not isinstance(request.get("method"), str):
            return {"jsonrpc": "2.0", "id": rid,
                    "error": {"code": -32600, "message": "invalid request"}}
        method, params = request["method"], request.get("params") or []
        self.calls.append((method, list(params)))
        try:
            return {"jsonrpc": "2.0", "id": rid, "result": self.chain.rpc(method, params)}
        except RpcFault as f:
            error: dict[str, Any] = {"code": f.code, "message": f.message}
            if f.data is not None:
                error["data"] = f.data
            return {"jsonrpc": "2.0", "id": rid, "error": error}
        except (KeyError, IndexError, TypeError) as e:
            return {"jsonrpc": "2.0", "id": rid,
                    "error": {"code": -32602, "message": f"invalid params: {e!r}"}}
        except Exception as e:  # noqa: BLE001 - a node answers -32603, it does not hang up
            return {"jsonrpc": "2.0", "id": rid,
                    "error": {"code": -32603, "message": f"internal error: {e}"}}

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


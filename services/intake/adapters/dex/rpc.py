"""JSON-RPC over HTTP to one EVM node, through web3.py's `AsyncWeb3`, with errors sorted.

web3's own `AsyncHTTPProvider` writes its endpoint URI into log lines (one at INFO on every
disconnect) and aiohttp's errors carry the full URL; an RPC URL usually embeds an API key. So
the transport here is a small `AsyncJSONBaseProvider` that holds the URL as a `SecretStr`, never
logs, and raises `libs.common.errors` whose messages name the endpoint as `scheme://host` only.
Transport exceptions are raised `from None`: their chained cause would print the URL.

How a failure is sorted:
- connection refused/reset, timeout, HTTP 5xx, JSON-RPC -32000/-32603 and unknown codes:
  `TemporaryError` (retry with backoff);
- HTTP 429, JSON-RPC -32005 or a "rate limit" message: `RateLimited`;
- HTTP 401/403/404: `ConfigurationError` (wrong key or path);
- other HTTP 4xx, JSON-RPC -32601 (method missing) / -32602 (invalid params): `OperationalError`;
- a revert (code 3 / "execution reverted"), a non-JSON body or a result that cannot be decoded:
  `ValidationFailed`, so the caller can skip that one answer.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from eth_utils import to_checksum_address
from pydantic import SecretStr
from web3 import AsyncWeb3
from web3.exceptions import Web3Exception
from web3.providers.async_base import AsyncJSONBaseProvider
from web3.types import RPCEndpoint, RPCResponse

from libs.common.errors import (
    ConfigurationError,
    OperationalError,
    RateLimited,
    TemporaryError,
    TrifectaError,
    ValidationFailed,
)

from .config import redact_url

_MAX_DETAIL = 200


class RpcRateLimited(RateLimited):
    """The node asked us to slow down; `retry_after_s` is its Retry-After, if it sent one."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Scrubber:
    """Removes an RPC URL (and its path and query, where keys hide) from a text."""

    def __init__(self, url: str) -> None:
        split = urlsplit(url)
        secrets = [url]
        tail = split.path + (f"?{split.query}" if split.query else "")
        if len(tail) > 1:
            secrets.append(tail)
        if split.query:
            secrets.append(split.query)
        if split.password:
            secrets.append(split.password)
        if split.username:
            secrets.append(split.username)
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text if len(text) <= _MAX_DETAIL else text[:_MAX_DETAIL] + "..."


class SecretHTTPProvider(AsyncJSONBaseProvider):
    """An HTTP JSON-RPC provider for AsyncWeb3 that never shows its URL."""

    def __init__(self, url: SecretStr | str, *, timeout_s: float = 10.0,
                 label: str = "") -> None:
        super().__init__()
        self._url = url if isinstance(url, SecretStr) else SecretStr(url)
        self.endpoint = redact_url(self._url.get_secret_value())
        self._label = label or self.endpoint
        self._scrub = Scrubber(self._url.get_secret_value())
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:
        return f"SecretHTTPProvider({self.endpoint})"

    __str__ = __repr__

    async def _post(self, method: str, body: bytes) -> bytes:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=self._timeout, headers={"Content-Type": "application/json"})
        where = f"{method} to {self._label}"
        try:
            async with self._session.post(self._url.get_secret_value(), data=body) as resp:
                status = resp.status
                if status == 429:
                    raise RpcRateLimited(f"{where}: HTTP 429 Too Many Requests",
                                         _retry_after(resp.headers.get("Retry-After")))
                if status in (401, 403, 404):
                    raise ConfigurationError(
                        f"{where}: HTTP {status}; check the URL and key configured for it")
                if status >= 500:
                    raise TemporaryError(f"{where}: HTTP {status}")
                if status >= 400:
                    raise OperationalError(f"{where}: HTTP {status}")
                return await resp.read()
        except TrifectaError:
            raise
        except TimeoutError:
            raise TemporaryError(f"{where}: timed out after {self._timeout.total}s") from None
        except (aiohttp.ClientError, OSError) as e:
            # from None: aiohttp's exceptions (and so the traceback) carry the full URL.
            raise TemporaryError(
                f"{where}: {type(e).__name__}: {self._scrub(str(e))}") from None

    async def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        raw = await self._post(method, self.encode_rpc_request(method, params))
        try:
            response = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise ValidationFailed(f"{method} to {self._label}: the body is not JSON "
                                   f"({len(raw)} bytes)") from None
        if not isinstance(response, dict) or ("result" not in response
                                               and "error" not in response):
            raise ValidationFailed(f"{method} to {self._label}: not a JSON-RPC response")
        if "error" in response and response["error"] is not None:
            raise self._rpc_error(method, response["error"])
        return response  # type: ignore[return-value]

    def _rpc_error(self, method: str, error: Any) -> TrifectaError:
        where = f"{method} to {self._label}"
        if not isinstance(error, Mapping):
            return ValidationFailed(f"{where}: malformed error {self._scrub(str(error))}")
        code = error.get("code")
        message = self._scrub(str(error.get("message", "")))
        text = f"{where}: JSON-RPC error {code}: {message}"
        lowered = message.lower()
        if code == 3 or "revert" in lowered:
            return ValidationFailed(text)
        if code in (-32005, 429) or "rate limit" in lowered or "too many requests" in lowered:
            return RpcRateLimited(text)
        if code in (-32601, -32602):
            return OperationalError(text)
        return TemporaryError(text)

    async def is_connected(self, show_traceback: bool = False) -> bool:
        try:
            await self.make_request(RPCEndpoint("web3_clientVersion"), [])
        except TrifectaError:
            if show_traceback:
                raise
            return False
        return True

    async def disconnect(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


class RpcClient:
    """The node calls the DEX adapter makes, each named after its JSON-RPC method."""

    def __init__(self, url: SecretStr | str, *, timeout_s: float = 10.0, label: str = "") -> None:
        self.provider = SecretHTTPProvider(url, timeout_s=timeout_s, label=label)
        # No middleware: the default validation middleware asks eth_chainId before every
        # eth_call, doubling the requests a metered RPC endpoint bills for.
        self.w3 = AsyncWeb3(self.provider, middleware=[])

    @property
    def endpoint(self) -> str:
        """`scheme://host[:port]` of the node: safe to log."""
        return self.provider.endpoint

    async def eth_chain_id(self) -> int:
        return int(await self._guard("eth_chainId", self.w3.eth.chain_id))

    async def eth_get_block_by_number(self, block: int | str = "latest") -> Mapping[str, Any]:
        return await self._guard("eth_getBlockByNumber",  # type: ignore[no-any-return]
                                 self.w3.eth.get_block(block))  # type: ignore[arg-type]

    async def eth_call(self, to: str, data: bytes, block: int | str = "latest") -> bytes:
        tx = {"to": to_checksum_address(to), "data": "0x" + data.hex()}
        result = await self._guard("eth_call",
                                   self.w3.eth.call(tx, block_identifier=block))  # type: ignore
        return bytes(result)

    async def _guard(self, method: str, awaitable: Any) -> Any:
        try:
            return await awaitable
        except TrifectaError:
            raise
        except (Web3Exception, ValueError, TypeError, KeyError) as e:
            # web3 could not format the node's answer (shape, types): one bad answer.
            raise ValidationFailed(f"{method} to {self.endpoint}: {type(e).__name__}: "
                                   f"{self.provider._scrub(str(e))}") from None

    async def close(self) -> None:
        await self.provider.disconnect()

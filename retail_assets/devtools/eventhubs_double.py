"""An in-memory Azure Event Hubs *test double* speaking AMQP 1.0, built on the codec bundled in azure-eventhub.

Event Hubs' own emulator needs Docker, which is not available here, and no broker from PyPI, npm or
Debian offers Event Hubs' ``$cbs`` and ``$management`` nodes. So the
tests run the real ``azure-eventhub`` clients against this double, which encodes and decodes frames
with the client's own pure-Python AMQP stack (``azure.eventhub._pyamqp``): whatever the client
sends, the double reads with the client's decoder, and whatever it answers, the client reads back
with the same codec.

What it implements (plain TCP on 127.0.0.1, connection string with ``UseDevelopmentEmulator=true``):

- SASL: any mechanism and any credentials are accepted; no TLS.
- ``$cbs``: every put-token is answered with status 200 (tokens are not checked).
- ``$management`` READ of ``com.microsoft:eventhub`` (name, created_at, partition ids) and
  ``com.microsoft:partition`` (begin/last enqueued sequence number, last offset and time, is_empty);
  an unknown hub or partition is answered with 404.
- Sends to ``<hub>`` or ``<hub>/Partitions/<n>``, single messages or batches (message format
  0x80013700). All events of one send land in one partition: the one in the address, else the one
  of the partition key, else round robin. **Partition-key hash:** the first 8 bytes of the SHA-256 of
  the UTF-8 key (big-endian) modulo the partition count. It is stable (same key, same partition, in
  every run) but it is *not* Event Hubs' own hash, so which partition a key lands on differs from
  Azure. Each stored event gets the
  service annotations ``x-opt-sequence-number`` (from 0 per partition), ``x-opt-offset`` (the byte
  position in the partition, as a string), ``x-opt-enqueued-time`` (ms, never decreasing per
  partition); ``x-opt-partition-key`` is kept. A send larger than ``max_message_size`` is rejected
  with ``amqp:link:message-size-exceeded``, as Event Hubs does.
- Receive links on ``<hub>/ConsumerGroups/<cg>/Partitions/<n>`` (any consumer group name) honour the
  selector filter on offset (also ``-1`` and ``@latest``), sequence number or enqueued time, ``>=`` and
  ``>``, deliver pre-settled and never more than the link credit the client granted.
- Large transfers are split and reassembled across frames (``more``) within each side's frame size.
- For tests: ``events()`` shows what a partition holds; ``reject_next_sends()`` injects transient
  ``amqp:internal-error`` rejections; ``detach_receivers_after()`` drops a receive link mid-stream
  (``amqp:link:detach-forced``). ``python -m retail_assets.devtools.eventhubs_double`` serves one
  hub in its own process (``benchmarks/stream.py eventhubs``).

What it does not do: retention (events stay in memory until the double stops), epochs and
ownership (``owner_level`` is ignored), throttling and quotas, session flow-control windows
(link credit is honoured, session windows are not enforced), TLS, AAD, the Kafka endpoint. It
depends on a *private* module of azure-eventhub: the import guard below fails with a message naming
the installed version if that module changed (tested with azure-eventhub 5.15.1, pinned by uv.lock).
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import hashlib
import itertools
import re
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass, field

import azure.eventhub

TESTED_WITH = "5.15.1"


def _private_api_moved(detail: str) -> RuntimeError:
    return RuntimeError(
        f"The Event Hubs AMQP test double uses azure-eventhub's private codec (azure.eventhub._pyamqp), which changed "
        f"in the installed azure-eventhub {azure.eventhub.__version__}: {detail}. It was written against {TESTED_WITH} "
        f"(pinned by uv.lock): update retail_assets/devtools/eventhubs_double.py or pin azure-eventhub=={TESTED_WITH}."
    )


try:
    from azure.eventhub._pyamqp import _decode, _encode
    from azure.eventhub._pyamqp import performatives as pf
    from azure.eventhub._pyamqp.constants import HEADER_FRAME, SASL_HEADER_FRAME
    from azure.eventhub._pyamqp.endpoints import Source, Target
    from azure.eventhub._pyamqp.error import AMQPError
    from azure.eventhub._pyamqp.message import Message, Properties
    from azure.eventhub._pyamqp.outcomes import Accepted, Rejected
    from azure.eventhub._pyamqp.types import TYPE, VALUE, AMQPTypes
except ImportError as exc:  # pragma: no cover - only when the private API moved
    raise _private_api_moved(repr(exc)) from exc

_DECODE = getattr(_decode, "_DECODE_BY_CONSTRUCTOR", None)
_EXPECTED = {
    "performative codes": [getattr(f, "_code", None) for f in (pf.OpenFrame, pf.BeginFrame, pf.AttachFrame, pf.FlowFrame,
                           pf.TransferFrame, pf.DispositionFrame, pf.DetachFrame, pf.EndFrame, pf.CloseFrame)]
    == list(range(0x10, 0x19)),
    "attach and transfer fields": len(pf.AttachFrame._fields) == 14 and pf.TransferFrame._fields[-1] == "payload",
    "codec functions": all(callable(getattr(m, n, None)) for m, n in ((_decode, "decode_frame"), (_decode, "decode_payload"),
                           (_encode, "encode_frame"), (_encode, "encode_payload"), (_encode, "encode_value"))),
    "decoder table": isinstance(_DECODE, list) and len(_DECODE) == 256,
}
if not all(_EXPECTED.values()):  # pragma: no cover - only when the private API moved
    raise _private_api_moved("unexpected " + ", ".join(k for k, ok in _EXPECTED.items() if not ok))

BATCH_FORMAT = 0x80013700
LINK_CREDIT = 1000
WINDOW = 2**31 - 1
SECTION_HEADER, SECTION_DELIVERY_ANNOTATIONS, SECTION_ANNOTATIONS = 0x70, 0x71, 0x72
SERVICE_KEYS = {b"x-opt-sequence-number", b"x-opt-offset", b"x-opt-enqueued-time"}
_SELECTOR = re.compile(r"amqp\.annotation\.x-opt-(offset|sequence-number|enqueued-time)\s*(>=|>)\s*'([^']*)'")
_SEND_ADDRESS = re.compile(r"(?:^|/)(?P<hub>[^/]+)(?:/Partitions/(?P<partition>[^/]+))?$")
_RECEIVE_ADDRESS = re.compile(r"(?:^|/)(?P<hub>[^/]+)/ConsumerGroups/(?P<group>[^/]+)/Partitions/(?P<partition>[^/]+)$")


class RejectedSend(Exception):
    def __init__(self, condition: bytes, description: str):
        super().__init__(description)
        self.condition = condition


def partition_for_key(key: str, partitions: int) -> int:
    """The double's partition-key hash (not Azure's): SHA-256 of the UTF-8 key, first 8 bytes, modulo the partitions."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") % partitions


@dataclass(frozen=True)
class StoredEvent:
    sequence_number: int
    offset: int
    enqueued_ms: int
    partition_key: str | None
    message: bytes  # the AMQP message as delivered: the sender's sections plus the service annotations


@dataclass
class Partition:
    events: list[StoredEvent] = field(default_factory=list)
    offsets: list[int] = field(default_factory=list)
    times: list[int] = field(default_factory=list)
    next_offset: int = 0
    listeners: set = field(default_factory=set)

    def append(self, message: memoryview, envelope_key: str | None) -> StoredEvent:
        sections = _sections(message)
        annotations = [section for code, section in sections if code == SECTION_ANNOTATIONS]
        pairs = [(k, raw) for section in annotations for k, raw in _map_items(section[3:]) if k not in SERVICE_KEYS]
        own = [_value(raw) for k, raw in pairs if k == b"x-opt-partition-key"]
        key = own[0].decode() if own and isinstance(own[0], bytes) else envelope_key
        if key is not None and not own:
            pairs.append((b"x-opt-partition-key", _pair(b"x-opt-partition-key", {TYPE: AMQPTypes.string, VALUE: key})))
        enqueued = max(int(time.time() * 1000), self.times[-1] if self.times else 0)
        sequence, offset = len(self.events), self.next_offset
        service = {
            b"x-opt-sequence-number": {TYPE: AMQPTypes.long, VALUE: sequence},
            b"x-opt-offset": {TYPE: AMQPTypes.string, VALUE: str(offset)},
            b"x-opt-enqueued-time": {TYPE: AMQPTypes.timestamp, VALUE: enqueued},
        }
        pairs += [(k, _pair(k, v)) for k, v in service.items()]
        body = b"".join(raw for _, raw in pairs)
        annotated = b"\x00\x53\x72\xd1" + struct.pack(">II", len(body) + 4, 2 * len(pairs)) + body
        # Sections in the order AMQP requires: header, (delivery annotations dropped), annotations, the rest.
        head = b"".join(bytes(s) for code, s in sections if code == SECTION_HEADER)
        dropped = (SECTION_HEADER, SECTION_DELIVERY_ANNOTATIONS, SECTION_ANNOTATIONS)
        rest = b"".join(bytes(s) for code, s in sections if code not in dropped)
        event = StoredEvent(sequence, offset, enqueued, key, head + annotated + rest)
        self.events.append(event)
        self.offsets.append(offset)
        self.times.append(enqueued)
        self.next_offset += len(event.message)
        for link in self.listeners:
            link.wake.set()
        return event

    def start_index(self, selector: bytes | None) -> int:
        """Index of the first event a receive link with this selector filter delivers."""
        if not selector:
            return 0
        match = _SELECTOR.fullmatch(selector.decode().strip())
        if match is None:
            raise ValueError(f"unsupported selector filter {selector!r}")
        kind, operator, text = match.groups()
        if kind == "offset" and text == "@latest":
            return len(self.events)
        keys = {"offset": self.offsets, "sequence-number": range(len(self.events)), "enqueued-time": self.times}[kind]
        return (bisect.bisect_left if operator == ">=" else bisect.bisect_right)(keys, int(text))


@dataclass
class Hub:
    name: str
    partitions: list[Partition]
    created_ms: int = field(default_factory=lambda: int(time.time() * 1000))
    round_robin: itertools.cycle | None = None

    def partition(self, partition_id: str) -> Partition:
        if not partition_id.isdigit() or int(partition_id) >= len(self.partitions):
            raise KeyError(f"event hub {self.name} has no partition {partition_id!r}")
        return self.partitions[int(partition_id)]


class EventHubsDouble:
    """The test double: start it, create hubs, point clients at ``connection_string``."""

    def __init__(self, *, max_message_size: int = 1024 * 1024, max_frame_size: int = 65536):
        self.max_message_size = max_message_size
        self.max_frame_size = max_frame_size
        self.hubs: dict[str, Hub] = {}
        self.largest_send = 0
        self.forced_detaches = 0
        self._forced_detach_after: int | None = None
        self._rejections = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="eventhubs-double", daemon=True)
        self._server: asyncio.base_events.Server | None = None
        self.port = 0

    # ---- lifecycle and inspection (called from the test thread) --------------------------

    def start(self) -> EventHubsDouble:
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._accept, "127.0.0.1", 0), self._loop
        ).result(timeout=10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        async def shutdown():
            self._server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    @property
    def connection_string(self) -> str:
        # SAS_KEY_VALUE is the Event Hubs emulator's documented placeholder: the double checks no credential.
        return (
            f"Endpoint=sb://127.0.0.1:{self.port};SharedAccessKeyName=RootManageSharedAccessKey;"
            "SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true"
        )

    def create_hub(self, name: str, partitions: int = 4) -> Hub:
        hub = Hub(name, [Partition() for _ in range(partitions)], round_robin=itertools.cycle(range(partitions)))
        self._call(self.hubs.__setitem__, name, hub)
        return hub

    def events(self, hub: str, partition: int) -> list[StoredEvent]:
        """What one partition holds, in sequence order."""
        return self._call(lambda: list(self.hubs[hub].partitions[partition].events))

    def detach_receivers_after(self, deliveries: int) -> None:
        """Force-detach (``amqp:link:detach-forced``) the receive link making the ``deliveries``-th delivery from now."""
        self._call(setattr, self, "_forced_detach_after", deliveries)

    def reject_next_sends(self, count: int) -> None:
        """Reject the next ``count`` sends with ``amqp:internal-error`` (a transient service error)."""
        self._call(setattr, self, "_rejections", count)

    def _call(self, function, *args):
        """Run ``function`` on the double's event loop (its state is only touched there) and return its result."""

        async def call():
            return function(*args)

        return asyncio.run_coroutine_threadsafe(call(), self._loop).result(timeout=10)

    # ---- the service side (event loop thread) -------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.CancelledError):  # cancelled: the double is stopping
            await _Connection(self, reader, writer).run()

    def store(self, address: str, partition_id: str | None, payload: memoryview, message_format: int) -> None:
        hub = self.hubs.get(address)
        if hub is None:
            raise RejectedSend(b"amqp:not-found", f"no event hub {address!r}")
        if self._rejections:
            self._rejections -= 1
            raise RejectedSend(b"amqp:internal-error", "test double: injected transient failure")
        if len(payload) > self.max_message_size:
            raise RejectedSend(
                b"amqp:link:message-size-exceeded",
                f"the message of {len(payload)} bytes exceeds the maximum message size of {self.max_message_size} bytes",
            )
        self.largest_send = max(self.largest_send, len(payload))
        envelope = _decode.decode_payload(payload)
        key = (envelope.message_annotations or {}).get(b"x-opt-partition-key")
        key = key.decode() if isinstance(key, bytes) else key
        if partition_id is not None:
            target = hub.partition(partition_id)
        elif key is not None:
            target = hub.partitions[partition_for_key(key, len(hub.partitions))]
        else:
            target = hub.partitions[next(hub.round_robin)]
        inner = (envelope.data or []) if message_format == BATCH_FORMAT else [payload]
        for message in inner:
            target.append(memoryview(message), key)

    def management(self, request: Message) -> tuple[int, str, object]:
        props = request.application_properties or {}
        text = {k.decode() if isinstance(k, bytes) else k: v.decode() if isinstance(v, bytes) else v for k, v in props.items()}
        if text.get("operation") != "READ":
            return 400, f"operation {text.get('operation')!r} is not supported by the test double", None
        hub = self.hubs.get(text.get("name", ""))
        if hub is None:
            return 404, f"no event hub {text.get('name')!r}", None
        if text.get("type") == "com.microsoft:eventhub":
            ids = [str(i) for i in range(len(hub.partitions))]
            return 200, "OK", {
                "name": hub.name,
                "type": "com.microsoft:eventhub",
                "created_at": {TYPE: AMQPTypes.timestamp, VALUE: hub.created_ms},
                "partition_count": len(ids),
                "partition_ids": {TYPE: AMQPTypes.array, VALUE: [{TYPE: AMQPTypes.string, VALUE: i} for i in ids]},
            }
        if text.get("type") == "com.microsoft:partition":
            try:
                partition = hub.partition(str(text.get("partition")))
            except KeyError as exc:
                return 404, str(exc), None
            last = partition.events[-1] if partition.events else None
            return 200, "OK", {
                "name": hub.name,
                "type": "com.microsoft:partition",
                "partition": str(text["partition"]),
                "begin_sequence_number": {TYPE: AMQPTypes.long, VALUE: 0},
                "last_enqueued_sequence_number": {TYPE: AMQPTypes.long, VALUE: last.sequence_number if last else -1},
                "last_enqueued_offset": str(last.offset) if last else "-1",
                "last_enqueued_time_utc": {TYPE: AMQPTypes.timestamp, VALUE: last.enqueued_ms if last else 0},
                "is_partition_empty": last is None,
            }
        return 400, f"type {text.get('type')!r} is not supported by the test double", None

    def take_forced_detach(self) -> bool:
        if self._forced_detach_after is None:
            return False
        self._forced_detach_after -= 1
        if self._forced_detach_after > 0:
            return False
        self._forced_detach_after = None
        self.forced_detaches += 1
        return True


# ---- AMQP encoding helpers ----------------------------------------------------------------------


def _value(raw: bytes) -> object:
    """Decode the value that follows the key in one raw map pair."""
    rest, _ = _DECODE[raw[0]](memoryview(raw)[1:])
    return _DECODE[rest[0]](rest[1:])[1]


def _pair(key: bytes, value: dict) -> bytes:
    out = bytearray()
    _encode.encode_value(out, {TYPE: AMQPTypes.symbol, VALUE: key})
    _encode.encode_value(out, value)
    return bytes(out)


def _map_items(encoded: memoryview) -> list[tuple[object, bytes]]:
    """(decoded key, raw key + value bytes) of an encoded AMQP map, so values keep their exact encoding."""
    if encoded[0] == 0xC1:
        count, rest = encoded[2], encoded[3:]
    elif encoded[0] == 0xD1:
        count, rest = struct.unpack(">I", encoded[5:9])[0], encoded[9:]
    else:
        return []
    items = []
    for _ in range(count // 2):
        after_key, key = _DECODE[rest[0]](rest[1:])
        after_value, _ = _DECODE[after_key[0]](after_key[1:])
        items.append((key, bytes(rest[: len(rest) - len(after_value)])))
        rest = after_value
    return items


def _sections(message: memoryview) -> list[tuple[int, memoryview]]:
    """The sections (header, annotations, properties, body, ...) of an encoded message, as raw bytes."""
    found = []
    while message:
        if message[0] != 0 or message[1] != 0x53:
            raise RejectedSend(b"amqp:decode-error", "message sections must use small-ulong descriptors")
        rest, _ = _DECODE[message[3]](message[4:])
        found.append((message[2], message[: len(message) - len(rest)]))
        message = rest
    return found


def _frame(channel: int, performative, frame_type: bytes = b"\x00") -> bytes:
    header, body = _encode.encode_frame(performative, frame_type)
    return header + struct.pack(">H", channel) + body


# ---- one client connection ------------------------------------------------------------------------


@dataclass
class _InLink:
    """A link the client sends on: a hub (events) or ``$cbs`` / ``$management`` (requests)."""

    handle: int
    address: str
    partition: str | None = None
    delivery_count: int = 0
    credit: int = 0
    buffer: bytearray = field(default_factory=bytearray)
    first: tuple | None = None  # (delivery id, message format, settled) of the delivery being reassembled


@dataclass(eq=False)
class _OutLink:
    """A link the service sends on: a partition's events, or responses of ``$cbs`` / ``$management``."""

    handle: int
    address: str
    partition: Partition | None = None
    position: int = 0
    replies: deque = field(default_factory=deque)
    delivery_count: int = 0
    credit: int = 0
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task | None = None

    def next_message(self) -> bytes | None:
        if self.partition is None:
            return self.replies.popleft() if self.replies else None
        if self.position < len(self.partition.events):
            self.position += 1
            return self.partition.events[self.position - 1].message
        return None


@dataclass
class _Session:
    channel: int
    next_incoming: int
    next_outgoing: int = 0
    next_delivery: int = 0
    inbound: dict[int, _InLink] = field(default_factory=dict)
    outbound: dict[int, _OutLink] = field(default_factory=dict)


class _Connection:
    def __init__(self, server: EventHubsDouble, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.server, self.reader, self.writer = server, reader, writer
        self.sessions: dict[int, _Session] = {}
        self.peer_max_frame = 512
        self.heartbeat: asyncio.Task | None = None

    async def run(self) -> None:
        try:
            await self._handshake()
            while await self._next_frame():
                pass
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            for session in self.sessions.values():
                self._drop_links(session)
            if self.heartbeat is not None:
                self.heartbeat.cancel()
            self.writer.close()

    async def _read(self) -> tuple[int, int, memoryview]:
        size, doff, frame_type, channel = struct.unpack(">IBBH", await self.reader.readexactly(8))
        body = memoryview(await self.reader.readexactly(size - 8)) if size > 8 else memoryview(b"")
        return frame_type, channel, body[doff * 4 - 8 :]

    async def _handshake(self) -> None:
        header = await self.reader.readexactly(8)
        if header == SASL_HEADER_FRAME:
            self.writer.write(SASL_HEADER_FRAME)
            self.writer.write(_frame(0, pf.SASLMechanism([b"MSSBCBS", b"PLAIN", b"ANONYMOUS", b"EXTERNAL"]), b"\x01"))
            await self._read()  # sasl-init: any mechanism, any credentials
            self.writer.write(_frame(0, pf.SASLOutcome(code=0, additional_data=None), b"\x01"))
            header = await self.reader.readexactly(8)
        if header != HEADER_FRAME:
            raise ConnectionError(f"unsupported protocol header {header!r}")
        self.writer.write(HEADER_FRAME)

    async def _next_frame(self) -> bool:
        _, channel, body = await self._read()
        if not body:
            return True  # an empty frame: the client's heartbeat
        code, fields = _decode.decode_frame(body)
        if code not in (0x10, 0x11, 0x18) and channel not in self.sessions:
            return True  # a frame for a session the client has already ended
        if code == 0x10:
            self._open(fields)
        elif code == 0x11:
            self.sessions[channel] = _Session(channel, next_incoming=fields[1])
            self._send(channel, pf.BeginFrame(channel, 0, WINDOW, WINDOW, 2**32 - 1, None, None, None))
        elif code == 0x12:
            self._attach(self.sessions[channel], fields)
        elif code == 0x13:
            self._flow(self.sessions[channel], fields)
        elif code == 0x14:
            self._transfer(self.sessions[channel], fields)
        elif code == 0x16:
            self._detach(self.sessions[channel], fields)
        elif code == 0x17:
            self._drop_links(self.sessions.pop(channel))
            self._send(channel, pf.EndFrame(None))
        elif code == 0x18:
            self._send(0, pf.CloseFrame(None))
            await self.writer.drain()
            return False
        await self.writer.drain()
        return True  # dispositions need no answer: the double delivers pre-settled

    def _send(self, channel: int, performative) -> None:
        self.writer.write(_frame(channel, performative))

    def _open(self, fields: list) -> None:
        self.peer_max_frame = fields[2] or 2**32 - 1
        max_frame = self.server.max_frame_size
        self._send(0, pf.OpenFrame("eventhubs-test-double", None, max_frame, 65535, None, None, None, None, None, None))
        if fields[4]:
            self.heartbeat = asyncio.create_task(self._beat(fields[4] / 2000))

    async def _beat(self, seconds: float) -> None:
        while True:
            await asyncio.sleep(seconds)
            self.writer.write(b"\x00\x00\x00\x08\x02\x00\x00\x00")

    def _attach(self, session: _Session, fields: list) -> None:
        name, handle, client_receives = fields[0], fields[1], fields[2]
        source, target = fields[5] or [None], fields[6] or [None]
        address = (source if client_receives else target)[0]
        address = address.decode() if isinstance(address, bytes) else str(address)
        error = None
        if client_receives:
            link = _OutLink(handle, address)
            if address not in ("$cbs", "$management"):
                try:
                    link.partition, link.position = self._partition_source(address, (source[7] or {}) if len(source) > 7 else {})
                except (KeyError, ValueError) as exc:
                    condition = b"amqp:not-found" if isinstance(exc, KeyError) else b"amqp:invalid-field"
                    error = AMQPError(condition=condition, description=str(exc))
            session.outbound[handle] = link
        else:
            link = _InLink(handle, address)
            if address not in ("$cbs", "$management"):
                match = _SEND_ADDRESS.search(address)
                link.address, link.partition = match["hub"], match["partition"]
                if link.address not in self.server.hubs:
                    error = AMQPError(condition=b"amqp:not-found", description=f"no event hub {link.address!r}")
            session.inbound[handle] = link
        self._send(session.channel, pf.AttachFrame(
            name, handle, not client_receives, fields[3], fields[4], Source(address=source[0]), Target(address=target[0]),
            None, False, 0 if client_receives else None, self.server.max_message_size, None, None, None,
        ))
        if error is not None:
            self._send(session.channel, pf.DetachFrame(handle, True, error))
            session.outbound.pop(handle, None)
            session.inbound.pop(handle, None)
        elif client_receives:
            if link.partition is not None:
                link.partition.listeners.add(link)
            link.task = asyncio.create_task(self._pump(session, link))
        else:
            self._grant(session, link)

    def _partition_source(self, address: str, filters: dict) -> tuple[Partition, int]:
        match = _RECEIVE_ADDRESS.search(address)
        if match is None:
            raise KeyError(f"{address!r} is not <hub>/ConsumerGroups/<group>/Partitions/<id>")
        hub = self.server.hubs.get(match["hub"])
        if hub is None:
            raise KeyError(f"no event hub {match['hub']!r}")
        partition = hub.partition(match["partition"])
        selector = next((v for k, v in filters.items() if k == b"apache.org:selector-filter:string"), None)
        return partition, partition.start_index(selector)

    def _grant(self, session: _Session, link: _InLink) -> None:
        link.credit = LINK_CREDIT
        self._send(session.channel, pf.FlowFrame(
            session.next_incoming, WINDOW, session.next_outgoing, WINDOW,
            link.handle, link.delivery_count, LINK_CREDIT, None, None, None, None,
        ))

    def _flow(self, session: _Session, fields: list) -> None:
        link = session.outbound.get(fields[4]) if fields[4] is not None else None
        if link is None:
            return
        link.credit = (fields[5] or 0) + (fields[6] or 0) - link.delivery_count
        link.wake.set()

    def _transfer(self, session: _Session, fields: list) -> None:
        link = session.inbound[fields[0]]
        if link.first is None:
            link.first = (fields[1], fields[3] or 0, fields[4])
        link.buffer += fields[11]
        if fields[5]:
            return  # more frames of this delivery follow
        (delivery_id, message_format, settled), payload = link.first, memoryview(bytes(link.buffer))
        link.first, link.buffer = None, bytearray()
        session.next_incoming += 1
        link.delivery_count += 1
        link.credit -= 1
        try:
            if link.address in ("$cbs", "$management"):
                self._request(session, link.address, _decode.decode_payload(payload))
            else:
                self.server.store(link.address, link.partition, payload, message_format)
            outcome = Accepted()
        except (RejectedSend, KeyError, ValueError) as exc:
            condition = getattr(exc, "condition", b"amqp:invalid-field")
            outcome = Rejected(error=AMQPError(condition=condition, description=str(exc)))
        if not settled:
            self._send(session.channel, pf.DispositionFrame(True, delivery_id, delivery_id, True, outcome, None))
        if link.credit < LINK_CREDIT // 2:
            self._grant(session, link)

    def _request(self, session: _Session, node: str, request: Message) -> None:
        if node == "$cbs":
            status, description, value = 200, "OK", None
        else:
            status, description, value = self.server.management(request)
        response = Message(
            properties=Properties(correlation_id=request.properties.message_id),
            application_properties={"status-code": status, "status-description": description},
            value=value,
        )
        encoded = bytearray()
        _encode.encode_payload(encoded, response)
        for link in session.outbound.values():
            if link.address == node:
                link.replies.append(bytes(encoded))
                link.wake.set()
                return

    async def _pump(self, session: _Session, link: _OutLink) -> None:
        """Deliver to the client whatever is available, never more than its link credit."""
        while True:
            await link.wake.wait()
            link.wake.clear()
            sent = 0
            while link.credit > 0:
                message = link.next_message()
                if message is None:
                    break
                self._deliver(session, link, message)
                sent += 1
                if link.partition is not None and self.server.take_forced_detach():
                    error = AMQPError(condition=b"amqp:link:detach-forced", description="test double: forced detach")
                    self._send(session.channel, pf.DetachFrame(link.handle, True, error))
                    link.partition.listeners.discard(link)
                    session.outbound.pop(link.handle, None)
                    await self.writer.drain()
                    return
                if sent % 200 == 0:
                    await self.writer.drain()
            await self.writer.drain()

    def _deliver(self, session: _Session, link: _OutLink, message: bytes) -> None:
        delivery = session.next_delivery
        session.next_delivery += 1
        link.credit -= 1
        link.delivery_count += 1
        tag = struct.pack(">I", delivery)
        frame = _frame(session.channel, pf.TransferFrame(link.handle, delivery, tag, 0, True, False, payload=message))
        if len(frame) <= self.peer_max_frame:
            self.writer.write(frame)
            session.next_outgoing += 1
            return
        room = self.peer_max_frame - (len(frame) - len(message)) - 8
        for start in range(0, len(message), room):
            more = start + room < len(message)
            chunk = message[start : start + room]
            self.writer.write(_frame(session.channel, pf.TransferFrame(link.handle, delivery, tag, 0, True, more, payload=chunk)))
            session.next_outgoing += 1

    def _detach(self, session: _Session, fields: list) -> None:
        link = session.outbound.pop(fields[0], None) or session.inbound.pop(fields[0], None)
        if isinstance(link, _OutLink):
            self._stop(link)
        if link is not None:
            self._send(session.channel, pf.DetachFrame(fields[0], fields[1], None))

    def _drop_links(self, session: _Session) -> None:
        for link in session.outbound.values():
            self._stop(link)
        session.outbound.clear()
        session.inbound.clear()

    @staticmethod
    def _stop(link: _OutLink) -> None:
        if link.partition is not None:
            link.partition.listeners.discard(link)
        if link.task is not None:
            link.task.cancel()


@contextlib.contextmanager
def running_double(**kwargs):
    double = EventHubsDouble(**kwargs).start()
    try:
        yield double
    finally:
        double.stop()


def main() -> None:
    """Serve the double in its own process (benchmarks): prints the connection string, stops at end of stdin."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--hub", default="bench")
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--max-message-size", type=int, default=1024 * 1024)
    args = parser.parse_args()
    with running_double(max_message_size=args.max_message_size) as double:
        double.create_hub(args.hub, args.partitions)
        print(double.connection_string, flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()

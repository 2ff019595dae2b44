"""AWS event-stream framing, the binary envelope of every ConverseStream event.

A message is: the prelude (total length u32, headers length u32, CRC32 of those 8 bytes), the
headers (name length u8, name, value type 7 = string, value length u16, value), the payload, and a
CRC32 of everything before it. botocore's `EventStreamBuffer` checks both CRCs, so a wrong byte here
fails the real client, not a lenient one of ours.
"""

from __future__ import annotations

import json
import struct
from binascii import crc32

_STRING = 7


def encode_headers(headers: dict[str, str]) -> bytes:
    """Headers as event-stream string headers, in the order given."""
    out = bytearray()
    for name, value in headers.items():
        name_bytes, value_bytes = name.encode(), value.encode()
        out += struct.pack("!B", len(name_bytes)) + name_bytes
        out += struct.pack("!BH", _STRING, len(value_bytes)) + value_bytes
    return bytes(out)


def encode_message(headers: dict[str, str], payload: bytes) -> bytes:
    """One complete event-stream message."""
    header_bytes = encode_headers(headers)
    total = 12 + len(header_bytes) + len(payload) + 4
    prelude = struct.pack("!II", total, len(header_bytes))
    prelude += struct.pack("!I", crc32(prelude) & 0xFFFFFFFF)
    body = prelude + header_bytes + payload
    return body + struct.pack("!I", crc32(body) & 0xFFFFFFFF)


def event(event_type: str, payload: dict) -> bytes:
    """A ConverseStream event (`messageStart`, `contentBlockDelta`, `metadata`, ...)."""
    headers = {":event-type": event_type, ":content-type": "application/json", ":message-type": "event"}
    return encode_message(headers, json.dumps(payload).encode())


def exception(exception_type: str, message: str) -> bytes:
    """An error inside the stream (`throttlingException`, `modelStreamErrorException`, ...)."""
    headers = {":exception-type": exception_type, ":content-type": "application/json", ":message-type": "exception"}
    return encode_message(headers, json.dumps({"message": message}).encode())

"""Transport encodings (spec §4.2) and the decompressed caps (§4.5). §8 rows 13, 14 (decoding
part), 18, 19, 20."""

from __future__ import annotations

import gzip
import json
import tracemalloc
import zlib

import pytest

from mappings.ingest.decode import decode_body, decompress
from mappings.ingest.errors import IngestError

BATCH_CAP = 524_288


BODY = b'{"batch": [{"type": "track", "event": "A", "userId": "u1"}]}'


@pytest.mark.parametrize(
    ("raw", "coding"),
    [
        pytest.param(BODY, None, id="no-header"),
        pytest.param(BODY, "identity", id="identity"),
        pytest.param(gzip.compress(BODY), "gzip", id="gzip"),
        pytest.param(gzip.compress(BODY), "x-gzip", id="x-gzip"),
        pytest.param(gzip.compress(BODY), " GZip ", id="gzip-any-case"),
        pytest.param(gzip.compress(BODY[:20]) + gzip.compress(BODY[20:]), "gzip", id="members"),
        pytest.param(gzip.compress(BODY), None, id="gzip-magic-without-header"),
        pytest.param(zlib.compress(BODY), "deflate", id="deflate-zlib"),
        pytest.param(zlib.compress(BODY)[2:-4], "deflate", id="deflate-raw"),
    ],
)
def test_it_decodes_every_supported_coding(raw, coding):
    assert decode_body(raw, coding, max_decompressed=BATCH_CAP).value == json.loads(BODY)


@pytest.mark.parametrize(
    ("raw", "coding"),
    [
        pytest.param(BODY, "gzip", id="row19-gzip-header-on-plain-body"),
        pytest.param(gzip.compress(BODY)[:10] + b"\x00" * 20, "gzip", id="row19-corrupt-gzip"),
        pytest.param(gzip.compress(BODY)[:-6], "gzip", id="truncated-gzip"),
        pytest.param(gzip.compress(BODY) + b"junk", "gzip", id="trailing-bytes"),
        pytest.param(gzip.compress(BODY) + b"\x1f", "gzip", id="trailing-partial-member"),
        pytest.param(BODY, "deflate", id="deflate-header-on-plain-body"),
        pytest.param(zlib.compress(BODY) + b"x", "deflate", id="deflate-trailing-bytes"),
        pytest.param(b"\x1f\x8b" + BODY, None, id="magic-then-garbage"),
    ],
)
def test_row19_corrupt_or_mislabelled_bodies_are_invalid_encoding(raw, coding):
    with pytest.raises(IngestError) as error:
        decompress(raw, coding, max_decompressed=BATCH_CAP)
    assert (error.value.status, error.value.code) == (400, "invalid_encoding")


@pytest.mark.parametrize("coding", ["br", "gzip, br", "gzip,gzip", "compress", "zstd", "*"])
def test_row20_other_codings_are_unsupported(coding):
    with pytest.raises(IngestError) as error:
        decompress(gzip.compress(BODY), coding, max_decompressed=BATCH_CAP)
    assert (error.value.status, error.value.code) == (400, "unsupported_encoding")


def test_an_empty_gzip_body_is_reported_as_invalid_json():
    with pytest.raises(IngestError) as error:
        decode_body(b"", "gzip", max_decompressed=BATCH_CAP)
    assert error.value.code == "invalid_json"


def _pad_to(size: int) -> bytes:
    head, tail = b'{"batch": [], "pad": "', b'"}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


@pytest.mark.parametrize("coding", [None, "gzip", "deflate"])
def test_the_decompressed_cap_is_exact(coding):
    def encode(data):
        return {None: data, "gzip": gzip.compress(data), "deflate": zlib.compress(data)}[coding]

    assert decode_body(encode(_pad_to(BATCH_CAP)), coding, max_decompressed=BATCH_CAP)
    with pytest.raises(IngestError) as error:
        decode_body(encode(_pad_to(BATCH_CAP + 1)), coding, max_decompressed=BATCH_CAP)
    assert (error.value.status, error.value.code) == (400, "payload_too_large")


@pytest.mark.parametrize("coding", [None, "gzip"])
def test_row13_a_batch_decompressing_to_600_kb_is_payload_too_large(coding):
    data = _pad_to(600_000)
    raw = gzip.compress(data) if coding else data
    with pytest.raises(IngestError) as error:
        decode_body(raw, coding, max_decompressed=BATCH_CAP)
    assert error.value.code == "payload_too_large"


def test_row14_a_508_kb_analytics_python_batch_fits():
    message = {"type": "track", "event": "E", "userId": "u", "properties": {"p": "x" * 900}}
    batch = json.dumps({"batch": [message] * 520, "sentAt": "2026-03-10T11:58:05Z"}).encode()
    assert 500_000 < len(batch) < 520_000
    assert len(decode_body(gzip.compress(batch), "gzip", max_decompressed=BATCH_CAP).value["batch"])


def test_row18_a_gzip_bomb_stops_at_the_cap_in_little_memory():
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(1 << 20)
    bomb = b"".join(compressor.compress(zeros) for _ in range(100)) + compressor.flush()
    assert len(bomb) < 150_000  # ~100 KB expanding to 100 MiB

    tracemalloc.start()
    try:
        with pytest.raises(IngestError) as error:
            decode_body(bomb, "gzip", max_decompressed=BATCH_CAP)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (error.value.status, error.value.code) == (400, "payload_too_large")
    assert peak < 8 * 1024 * 1024

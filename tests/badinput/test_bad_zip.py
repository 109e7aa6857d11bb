"""The `zip` field (base64 of a zip archive, instead of `code`) on create and
update. Bad archives are refused with exact messages and leave nothing
behind (no blob under code/, no unpacked or half-unpacked dir under tasks/);
good ones unpack and invoke. The zips are built here with zipfile; the bombs
are built by repeating one deflate block, so they cost a few MB of memory
and a fraction of a second."""
import base64
import hashlib
import os
import io
import json
import random
import stat
import struct
import time
import zipfile
import zlib

import pytest

from badinput_helpers import (FN, IPV, KEEP, NODE_HELLO, assert_error, box_fixture, error_json,
                              health_latency_during, http_bytes, utf8_cut)

box = box_fixture()

REG = stat.S_IFREG | 0o644
LNK = stat.S_IFLNK | 0o777
DIR = stat.S_IFDIR | 0o755
MIB = 1024 * 1024
FAST = 0.5


def make_zip(entries):
    """entries: (name, data, mode); mode None means a regular file. Symlinks
    hold their target as their (stored) content, as Info-ZIP writes them."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data, mode in entries:
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.create_system = 3  # Unix: external_attr holds the mode
            mode = REG if mode is None else mode
            info.external_attr = mode << 16
            info.compress_type = zipfile.ZIP_STORED if stat.S_ISLNK(mode) else zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return buf.getvalue()


def zeros_entry(total):
    """(raw deflate stream, crc32) of `total` zero bytes, total a multiple of 1 MiB:
    one full-flush block of 1 MiB of zeros, repeated."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = c.compress(bytes(MIB)) + c.flush(zlib.Z_FULL_FLUSH)
    tail = c.flush()
    crc = 0
    zero = bytes(MIB)
    for _ in range(total // MIB):
        crc = zlib.crc32(zero, crc)
    return block * (total // MIB) + tail, crc


def raw_zip(files):
    """A zip of deflated entries given as (name, deflate data, crc, declared size)."""
    local, central = b"", b""
    for name, comp, crc, size in files:
        n = name.encode()
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, (3 << 8) | 20, 20, 0, 8, 0, 0x21, crc,
                               len(comp), size, len(n), 0, 0, 0, 0, REG << 16, len(local)) + n
        local += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, len(comp), size,
                             len(n), 0) + n + comp
    eocd = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(files), len(files), len(central), len(local), 0)
    return local + central + eocd


def b64(data):
    return base64.b64encode(data).decode()


def zip_spec(data, name="z", runtime="nodejs20", **more):
    spec = {"name": name, "runtime": runtime, "zip": b64(data) if isinstance(data, bytes) else data}
    spec.update(more)
    return spec


HELLO_ZIP = make_zip([("index.js", NODE_HELLO, None)])


def reject_zip(box, data, msg, **more):
    return box.reject("POST", FN, zip_spec(data, **more), 400, IPV, msg)


# --- the field itself ------------------------------------------------------

@pytest.mark.parametrize("method,path,body", [
    ("POST", FN, zip_spec(HELLO_ZIP, code=NODE_HELLO)),
    ("POST", FN, zip_spec("", code="")),
    ("PUT", f"{FN}/{KEEP}", {"zip": b64(HELLO_ZIP), "code": NODE_HELLO}),
], ids=["create", "create_both_empty", "update"])
def test_code_and_zip_together(box, method, path, body):
    box.reject(method, path, body, 400, IPV, "give either code or zip, not both")


@pytest.mark.parametrize("value", [1, None, True, [], {}, [b64(HELLO_ZIP)], {"data": b64(HELLO_ZIP)}],
                         ids=["int", "null", "bool", "empty_list", "empty_object", "list_of_base64",
                              "object_of_base64"])
def test_zip_that_is_not_a_string(box, value):
    reject_zip(box, value, "zip must be a base64 string")


@pytest.mark.parametrize("value", ["!!!!", "abc", "ab=c", "=AAA", "A===", "QUJD====", "QUJD\n", "QU JD",
                                   "QUJD\u00e9AAA", "UEsDBA", b64(HELLO_ZIP)[:-1], b64(HELLO_ZIP) + "=",
                                   "UEsD-_-_"],
                         ids=["bangs", "length_3", "pad_inside", "pad_first", "three_pads", "four_pads",
                              "newline", "space", "non_ascii", "unpadded", "cut_by_one", "extra_pad", "urlsafe"])
def test_zip_that_is_not_valid_base64(box, value):
    reject_zip(box, value, "zip is not valid base64")


def test_update_with_a_zip_that_is_not_valid_base64(box):
    box.reject("PUT", f"{FN}/{KEEP}", {"zip": "!!!!"}, 400, IPV, "zip is not valid base64")


def not_a_zip_cases():
    rnd = random.Random(1234)
    full = make_zip([("index.js", NODE_HELLO, None), ("lib/util.js", "module.exports = 1;\n" * 50, None)])
    gz = io.BytesIO()
    import gzip
    with gzip.GzipFile(fileobj=gz, mode="wb") as f:
        f.write(NODE_HELLO.encode())
    import tarfile
    tar = io.BytesIO()
    with tarfile.open(fileobj=tar, mode="w") as t:
        info = tarfile.TarInfo("index.js")
        info.size = len(NODE_HELLO)
        t.addfile(info, io.BytesIO(NODE_HELLO.encode()))
    return [
        ("random_bytes", bytes(rnd.getrandbits(8) for _ in range(4096))),
        ("text_file", NODE_HELLO.encode()),
        ("one_byte", b"A"),
        ("zip_magic_only", b"PK\x03\x04"),
        ("truncated_half", full[:len(full) // 2]),
        ("truncated_local_header", full[:20]),
        ("without_end_of_central_directory", full[:-22]),
        ("end_record_cut", full[:-10]),
        ("gzip_file", gz.getvalue()),
        ("tar_file", tar.getvalue()),
    ]


NOT_ZIPS = not_a_zip_cases()


@pytest.mark.parametrize("data", [c[1] for c in NOT_ZIPS], ids=[c[0] for c in NOT_ZIPS])
def test_zip_that_is_not_a_zip_archive(box, data):
    snap = box.snapshot()
    r = box.request("POST", FN, zip_spec(data))
    try:
        got = error_json(r)
        assert r.status == 400 and set(got) == {"errorType", "errorMessage"}, (r.status, got)
        assert got["errorType"] == IPV, got
        assert got["errorMessage"].startswith("zip is not a valid zip archive"), got
        box.unchanged(snap)
    finally:
        box.undo_creates(snap)


@pytest.mark.parametrize("data", ["", b64(make_zip([]))], ids=["empty_string", "zip_without_entries"])
def test_empty_zip(box, data):
    reject_zip(box, data, "zip is empty")


# --- entries that escape ------------------------------------------------------

ESCAPES = ["../../x", "/etc/x", "../x", "..", "a/../../x", "./../x", "a/b/../../../x", "/x/../y",
           "../d/", "a/../../../../../../etc/cron.d/x"]


@pytest.mark.parametrize("name", ESCAPES)
def test_entry_that_escapes_the_code_directory(box, name):
    data = make_zip([("index.js", NODE_HELLO, None), (name, "" if name.endswith("/") else "pwned",
                                                      DIR if name.endswith("/") else None)])
    reject_zip(box, data, f"zip entry '{name}' escapes the code directory")


@pytest.mark.parametrize("target", ["/etc/passwd", "../../x", "..", "../x", "a/../../x", "/", "./../x",
                                    "/proc/self/root"])
def test_symlink_that_points_outside(box, target):
    data = make_zip([("index.js", NODE_HELLO, None), ("link", target, LNK)])
    reject_zip(box, data, "zip entry 'link' is a symlink that points outside the code directory")


def test_symlink_in_a_subdirectory_that_points_outside(box):
    data = make_zip([("index.js", NODE_HELLO, None), ("sub/x.js", "1", None), ("sub/link", "../../x", LNK)])
    reject_zip(box, data, "zip entry 'sub/link' is a symlink that points outside the code directory")


def test_symlink_that_points_outside_through_another_symlink(box):
    # "s" -> "." is inside, and "s/../x" looks inside when read as text; but
    # the kernel resolves s first, so link -> <code dir>/.. /x: outside.
    data = make_zip([("index.js", NODE_HELLO, None), ("s", ".", LNK), ("link", "s/../x", LNK)])
    reject_zip(box, data, "zip entry 'link' is a symlink that points outside the code directory")


@pytest.mark.parametrize("mode,kind", [(stat.S_IFCHR | 0o644, "char_device"),
                                       (stat.S_IFBLK | 0o644, "block_device"), (stat.S_IFSOCK | 0o644, "socket")],
                         ids=lambda v: v if isinstance(v, str) else oct(v))
def test_entry_that_is_not_a_file_directory_or_symlink(box, mode, kind):
    data = make_zip([("index.js", NODE_HELLO, None), ("p", "", mode)])
    reject_zip(box, data, "zip entry 'p' is not a regular file, directory or symlink")


# --- bombs and bounds ------------------------------------------------------------

def test_more_than_10000_entries(box):
    data = make_zip([("index.js", NODE_HELLO, None)] + [(f"f/{i}", "", None) for i in range(10000)])
    reject_zip(box, data, "zip has more than 10000 entries")


def test_zip_bomb_of_one_300mb_entry(box):
    comp, crc = zeros_entry(300 * MIB)
    data = raw_zip([("zeros", comp, crc, 300 * MIB)])
    assert len(data) < 400 * 1024
    reject_zip(box, data, "zip unpacks to more than 262144000 bytes")


def test_zip_bomb_spread_over_30_entries(box):
    comp, crc = zeros_entry(10 * MIB)
    data = raw_zip([(f"z{i}", comp, crc, 10 * MIB) for i in range(30)])
    reject_zip(box, data, "zip unpacks to more than 262144000 bytes")


def test_zip_compression_ratio_above_200(box):
    comp, crc = zeros_entry(20 * MIB)
    data = raw_zip([("index.js", zlib.compress(NODE_HELLO.encode())[2:-4], zlib.crc32(NODE_HELLO.encode()),
                     len(NODE_HELLO)), ("zeros", comp, crc, 20 * MIB)])
    reject_zip(box, data, "zip compression ratio is above 200:1")


def test_zip_bomb_whose_headers_lie_about_the_size(box):
    # The headers say 1000 bytes; the data inflates to 300 MB. Whatever stops
    # it, it must be refused as a bad zip, quickly, with nothing left behind.
    comp, crc = zeros_entry(300 * MIB)
    data = raw_zip([("zeros", comp, crc, 1000)])
    snap = box.snapshot()
    t = time.monotonic()
    r = box.request("POST", FN, zip_spec(data))
    took = time.monotonic() - t
    try:
        got = error_json(r)
        assert r.status == 400 and got["errorType"] == IPV and set(got) == {"errorType", "errorMessage"}, got
        assert got["errorMessage"] in ("zip compression ratio is above 200:1",
                                       "zip unpacks to more than 262144000 bytes") \
            or got["errorMessage"].startswith("zip is not a valid zip archive"), got
        assert took < 5, took
        box.unchanged(snap)
    finally:
        box.undo_creates(snap)


# --- names -------------------------------------------------------------------------

def test_a_long_escaping_entry_name_is_cut_to_valid_utf8(box):
    # The message holds at most 200 bytes of the name; cut inside an 'é',
    # the error body must still be valid JSON, and start with the name.
    name = "a" + "\u00e9" * 150 + "/../../x"
    data = make_zip([("index.js", NODE_HELLO, None), (name, "x", None)])
    cut = utf8_cut(name, 200)
    reject_zip(box, data, {f"zip entry '{cut}' escapes the code directory",
                           f"zip entry '{cut}\ufffd' escapes the code directory"})


# --- bad zips on update leave the function as it was ------------------------------

@pytest.mark.parametrize("data,msg", [
    (make_zip([]), "zip is empty"),
    (make_zip([("index.js", NODE_HELLO, None), ("../x", "x", None)]), "zip entry '../x' escapes the code directory"),
    (make_zip([("index.js", NODE_HELLO, None), ("link", "/etc", LNK)]),
     "zip entry 'link' is a symlink that points outside the code directory"),
    (make_zip([("index.js", NODE_HELLO, None), ("p", "", stat.S_IFCHR | 0o600)]),
     "zip entry 'p' is not a regular file, directory or symlink"),
], ids=["empty", "escape", "symlink_out", "device"])
def test_update_of_an_inline_function_with_a_bad_zip(box, data, msg):
    box.reject("PUT", f"{FN}/{KEEP}", {"zip": b64(data), "memory_mb": 256}, 400, IPV, msg)


def test_update_of_a_zip_function_with_a_bad_zip_changes_nothing(box):
    created = create_zip_fn(box, "zipped", HELLO_ZIP)
    try:
        before = box.request("GET", f"{FN}/zipped").body
        files = box.stored_files()
        for body, msg in [({"zip": b64(make_zip([("../x", "x", None)]))}, "zip entry '../x' escapes the code directory"),
                          ({"zip": "!!!!"}, "zip is not valid base64"),
                          ({"zip": b64(HELLO_ZIP), "code": "x"}, "give either code or zip, not both")]:
            r = box.request("PUT", f"{FN}/zipped", body)
            assert_error(r, 400, IPV, msg)
            assert box.request("GET", f"{FN}/zipped").body == before
            assert box.stored_files() == files
        r = box.d.invoke("zipped")
        assert (r.status, r.body) == (200, b"Hello from Impuls!")
    finally:
        delete_and_check(box, "zipped", created)


# --- good zips (controls: the refusals above are not refusing everything) ----------

def create_zip_fn(box, name, data, **more):
    files = box.stored_files()
    r = box.request("POST", FN, zip_spec(data, name=name, **more))
    assert r.status == 201, r
    f = r.json()
    assert f["code_kind"] == "zip" and "code" not in f, f
    assert f["code_size"] == len(data) and f["code_sha256"] == hashlib.sha256(data).hexdigest(), f
    return files


def delete_and_check(box, name, files_before):
    box.delete_and_wait(name, files_before)


def test_valid_node_zip_invokes(box):
    files = create_zip_fn(box, "nodezip", HELLO_ZIP)
    try:
        r = box.d.invoke("nodezip")
        assert (r.status, r.body) == (200, b"Hello from Impuls!")
    finally:
        delete_and_check(box, "nodezip", files)


def test_valid_python_zip_with_a_module_in_a_subdirectory_invokes(box):
    data = make_zip([("src/", "", DIR), ("src/app.py", "def handler(event, ctx):\n"
                                         "    return {'got': event, 'h': 42}\n", None),
                     ("README.md", "# app\n", None)])
    files = create_zip_fn(box, "pyzip", data, runtime="python311", handler="src/app.handler")
    try:
        r = box.d.invoke("pyzip", {"x": 1})
        assert r.status == 200 and r.json() == {"got": {"x": 1}, "h": 42}, r
    finally:
        delete_and_check(box, "pyzip", files)


def test_get_code_of_a_zip_function_has_no_code_field(box):
    files = create_zip_fn(box, "nocode", HELLO_ZIP)
    try:
        plain = box.request("GET", f"{FN}/nocode").json()
        with_code = box.request("GET", f"{FN}/nocode?code=true")
        assert with_code.status == 200
        got = with_code.json()
        assert "code" not in got and got["code_kind"] == "zip", got
        assert got == plain
    finally:
        delete_and_check(box, "nocode", files)


def test_symlink_inside_the_code_directory_is_accepted(box):
    data = make_zip([("a.js", NODE_HELLO, None), ("index.js", "a.js", LNK), ("lib/", "", DIR),
                     ("lib/up.js", "../a.js", LNK)])
    files = create_zip_fn(box, "linked", data)
    try:
        r = box.d.invoke("linked")
        assert (r.status, r.body) == (200, b"Hello from Impuls!")
    finally:
        delete_and_check(box, "linked", files)


def test_fifo_entry_is_unpacked_as_an_empty_regular_file(box):
    # libarchive reads FIFO entries as regular files (an Info-ZIP quirk): the
    # entry becomes an empty file, which is harmless; devices are refused.
    data = make_zip([("index.js", NODE_HELLO, None), ("p", "", stat.S_IFIFO | 0o644)])
    files = create_zip_fn(box, "fifozip", data)
    try:
        task = box.request("GET", f"{FN}/fifozip").json()["code_sha256"]
        p = os.path.join(box.d.data_dir, "tasks", task, "p")
        assert stat.S_ISREG(os.lstat(p).st_mode) and os.path.getsize(p) == 0
    finally:
        delete_and_check(box, "fifozip", files)


def test_zip_with_a_utf8_file_name_is_accepted(box):
    data = make_zip([("index.js", NODE_HELLO, None), ("donn\u00e9es.json", "{}", None)])
    files = create_zip_fn(box, "utf8zip", data)
    try:
        r = box.d.invoke("utf8zip")
        assert (r.status, r.body) == (200, b"Hello from Impuls!")
    finally:
        delete_and_check(box, "utf8zip", files)


def test_unpacking_a_10000_entry_zip_does_not_block_other_clients(box):
    # 10000 entries is allowed, and unpacking them takes a while; the event
    # loop must keep serving other clients meanwhile.
    data = make_zip([("index.js", NODE_HELLO, None)] + [(f"d{i % 50}/f{i}", "x", None) for i in range(9999)])
    body = json.dumps(zip_spec(data, name="wide")).encode()
    files = box.stored_files()
    try:
        health_took, (status, _, created), create_took = health_latency_during(
            box.port, http_bytes("POST", FN, body))
        assert status == 201, created
        assert health_took < FAST, (f"GET /healthz took {health_took:.2f}s while a zip was being unpacked "
                                    f"(the create took {create_took:.2f}s): the event loop is blocked")
    finally:
        if box.request("GET", f"{FN}/wide").status == 200:
            delete_and_check(box, "wide", files)

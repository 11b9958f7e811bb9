#!/usr/bin/env python3
"""test_rcgc.py — the rcgc command line on captures with known figures.

    test_rcgc.py --rcgc PATH --gen PATH --work DIR [--prog PATH] [-k NAME]

gen_captures writes the synthetic captures (see its event lists); the
figures below are worked out by hand from them.  --prog, the end-to-end
program (e2e_prog.c), adds the `rcgc run` tests when the preload shim is
built.  Damaged captures are made here from basic.cap, or forged chunk by
chunk per docs/CAPTURE.md.
"""
import argparse
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import unittest
import zlib

ARGS = None
SITES = {}


def rcgc(*args, check=None):
    """Run rcgc; returns (exit status, stdout, stderr)."""
    p = subprocess.run([ARGS.rcgc, *map(str, args)], capture_output=True, text=True,
                       timeout=120)
    if check is not None and p.returncode != check:
        raise AssertionError(f"rcgc {' '.join(map(str, args))}: exit {p.returncode}, "
                             f"expected {check}\nstdout: {p.stdout}\nstderr: {p.stderr}")
    return p.returncode, p.stdout, p.stderr


def rjson(*args):
    return json.loads(rcgc(*args, check=0)[1])


def cap(name):
    return os.path.join(ARGS.work, name)


def write(name, data):
    path = cap(name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def read(name):
    with open(cap(name), "rb") as f:
        return f.read()


# ---- the capture format, for forging (docs/CAPTURE.md) ---------------------

def chunks(data):
    """(offset, raw, stored) of each chunk."""
    out, at = [], 64
    while at + 24 <= len(data) and data[at:at + 4] == b"CHNK":
        raw, stored = struct.unpack_from("<II", data, at + 8)
        out.append((at, raw, stored))
        at += 24 + stored
    return out


def chunk(records, raw=None, stored=None):
    """A stored (codec 0) chunk with a valid header check and CRC."""
    raw = len(records) if raw is None else raw
    stored = len(records) if stored is None else stored
    h = bytearray(b"CHNK" + bytes(4) + struct.pack("<IIII", raw, stored,
                                                   zlib.crc32(records), 1))
    v = zlib.crc32(bytes(h))
    struct.pack_into("<H", h, 6, (v ^ (v >> 16)) & 0xFFFF)
    return bytes(h) + records


def varint(n):
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


class Summary(unittest.TestCase):
    def test_basic_json(self):
        s = rjson("summary", "--json", cap("basic.cap"))
        expect = {
            "peak_bytes": 105000, "peak_time_s": 0.02, "peak_exact": True,
            "total_allocated_bytes": 113294, "allocations": 37, "frees": 28,
            # 20 of gamma and beta's 100000 (only a sample between its
            # allocation and free); not alpha's last block (a free between)
            "temporary_allocations": 21, "temporary_bytes": 20 * 64 + 100000,
            "leaked_bytes": 950, "leaked_blocks": 4, "leak_scan": True,
            "definitely_lost_bytes": 900, "definitely_lost_blocks": 3,
            "indirectly_lost_bytes": 50, "indirectly_lost_blocks": 1,
            "still_reachable_bytes": 5000, "still_reachable_blocks": 5,
            "unknown_bytes": 0, "peak_rss_bytes": 105000 + (1 << 20),
            # the sample nearest the peak (t=20ms) is t=16ms: 5000 live
            "rss_at_peak_bytes": 5000 + (1 << 20),
            "duration_s": 0.05, "exit_status": 3, "distinct_stacks": 5, "samples": 5,
            "pid": 4242, "truncated": False,
        }
        for k, v in expect.items():
            self.assertEqual(s[k], v, k)

    def test_contract_fields(self):
        s = rjson("summary", "--json", cap("basic.cap"))
        for k in ("peak_bytes", "total_allocated_bytes", "allocations", "leaked_bytes",
                  "leaked_blocks", "duration_s"):
            self.assertIsInstance(s[k], (int, float), k)

    def test_no_scan_no_end(self):
        s = rjson("summary", "--json", cap("noscan.cap"))
        self.assertEqual((s["peak_bytes"], s["peak_time_s"], s["peak_exact"]), (105000, 0.02, False))
        self.assertEqual((s["leaked_bytes"], s["leaked_blocks"]), (5950, 9))
        self.assertEqual((s["unknown_bytes"], s["leak_scan"]), (5950, False))
        self.assertEqual((s["duration_s"], s["exit_status"]), (0.045, None))

    def test_threads(self):
        # b's free of X comes before a's allocation of it (alpha's live
        # figures dip below zero, then land at 0); a allocates Z' at 700
        # before b's free of Z at 600 is read.
        s = rjson("summary", "--json", cap("threads.cap"))
        self.assertEqual((s["allocations"], s["frees"], s["total_allocated_bytes"]),
                         (4, 2, 4096 + 10 + 32 + 32))
        self.assertEqual((s["leaked_bytes"], s["leaked_blocks"], s["live_bytes_at_exit"]),
                         (42, 2, 42))
        # No E record: the replay's peak, in file order, counts Z' before
        # Z's free (the true peak is 42).
        self.assertEqual((s["peak_bytes"], s["peak_time_s"], s["peak_exact"]),
                         (74, 0.0007, False))
        leaks = rjson("leaks", "--json", cap("threads.cap"))
        self.assertEqual([(l["stack"][0]["function"], l["bytes"], l["blocks"]) for l in leaks],
                         [("site_gamma", 32, 1), ("site_beta", 10, 1)])
        top = rjson("top", "--json", "--by", "peak", "-n", "0", cap("threads.cap"))["rows"]
        self.assertEqual([(r["function"], r["bytes"], r["blocks"]) for r in top],
                         [("site_gamma", 64, 2), ("site_beta", 10, 1)])
        st = rjson("stats", "--json", cap("threads.cap"))
        # stacks; an I chunk before each thread chunk that uses a new info;
        # b, a, a, b
        self.assertEqual((st["threads"], st["infos"], st["chunks"]), (3, 3, 8))
        self.assertEqual((st["records"]["frees"], st["records"]["temporary_frees"]), (2, 0))

    def test_several_files_give_an_array(self):
        s = rjson("summary", "--json", cap("basic.cap"), cap("noscan.cap"))
        self.assertEqual([x["file"] for x in s], [cap("basic.cap"), cap("noscan.cap")])

    def test_text(self):
        out = rcgc("summary", cap("basic.cap"), check=0)[1]
        self.assertIn("peak heap        102.5 KiB (105000 bytes) at 0.020 s", out)
        self.assertIn("900 B definitely lost (3)", out)


class Top(unittest.TestCase):
    def rows(self, by):
        t = rjson("top", "--json", "--by", by, "-n", "0", cap("basic.cap"))
        self.assertEqual(t["by"], by)
        for r in t["rows"]:
            self.assertEqual(r["line"], SITES[r["function"]], r)
            self.assertTrue(r["file"].endswith("gen_captures.c"), r)
        return t["rows"]

    def test_by_peak(self):
        rows = self.rows("peak")
        self.assertEqual([(r["function"], r["bytes"], r["blocks"]) for r in rows],
                         [("site_beta", 100000, 1), ("site_alpha", 5000, 5)])

    def test_by_total(self):
        rows = self.rows("total")
        self.assertEqual([(r["function"], r["bytes"], r["allocations"]) for r in rows],
                         [("site_beta", 100000, 1), ("site_alpha", 11000, 11),
                          ("site_gamma", 21 * 64, 21), ("site_delta", 900, 3),
                          ("site_epsilon", 50, 1)])

    def test_by_count(self):
        rows = self.rows("count")
        self.assertEqual([(r["function"], r["allocations"]) for r in rows][:3],
                         [("site_gamma", 21), ("site_alpha", 11), ("site_delta", 3)])

    def test_by_temporary(self):
        rows = self.rows("temporary")
        self.assertEqual([(r["function"], r["temporary_allocations"], r["bytes"]) for r in rows],
                         [("site_gamma", 20, 1280),
                          ("site_beta", 1, 100000)])

    def test_limit_and_text(self):
        out = rcgc("top", "-n", "1", cap("basic.cap"), check=0)[1]
        self.assertIn("site_beta  gen_captures.c:%d" % SITES["site_beta"], out)
        self.assertNotIn("site_alpha", out)


class Leaks(unittest.TestCase):
    def test_json(self):
        leaks = rjson("leaks", "--json", cap("basic.cap"))
        self.assertEqual([(l["bytes"], l["blocks"], l["category"]) for l in leaks],
                         [(900, 3, "definitely_lost"), (50, 1, "indirectly_lost")])
        top = leaks[0]["stack"]
        self.assertEqual((top[0]["function"], top[0]["line"]), ("site_delta", SITES["site_delta"]))
        self.assertTrue(top[0]["file"].endswith("gen_captures.c"))
        self.assertEqual(top[1]["function"], "driver")
        self.assertEqual(sum(l["bytes"] for l in leaks),
                         rjson("summary", "--json", cap("basic.cap"))["leaked_bytes"])

    def test_all_adds_reachable(self):
        leaks = rjson("leaks", "--all", "--json", cap("basic.cap"))
        self.assertEqual((leaks[0]["bytes"], leaks[0]["category"]), (5000, "still_reachable"))

    def test_types(self):
        leaks = rjson("leaks", "--all", "--json", cap("types.cap"))
        self.assertEqual([(l["bytes"], l["blocks"], l["category"], l["type"]) for l in leaks],
                         [(200, 1, "definitely_lost", "dict"), (96, 2, "definitely_lost", "str"),
                          (24, 1, "possibly_lost", None), (16, 1, "still_reachable", None)])

    def test_possibly_lost(self):
        """memcheck's "possibly lost" counts as leaked, in JSON and text."""
        s = rjson("summary", "--json", cap("types.cap"))
        self.assertEqual((s["possibly_lost_bytes"], s["possibly_lost_blocks"],
                          s["leaked_bytes"], s["leaked_blocks"]), (24, 1, 320, 4))
        text = rcgc("summary", cap("types.cap"), check=0)[1]
        self.assertIn("24 B possibly lost (1)", text)
        text = rcgc("leaks", cap("types.cap"), check=0)[1]
        self.assertIn("24 B in 1 block possibly lost", text)

    def test_unscanned(self):
        leaks = rjson("leaks", "--json", cap("noscan.cap"))
        self.assertEqual([(l["bytes"], l["category"]) for l in leaks],
                         [(5000, "unknown"), (900, "unknown"), (50, "unknown")])

    def test_text(self):
        out = rcgc("leaks", cap("basic.cap"), check=0)[1]
        self.assertIn("900 B in 3 blocks definitely lost", out)
        self.assertIn("at site_delta  gen_captures.c:%d" % SITES["site_delta"], out)


class Diff(unittest.TestCase):
    def test_two_captures(self):
        d = rjson("diff", "--json", cap("old.cap"), cap("new.cap"))
        self.assertEqual([(r["function"], r["bytes_diff"], r["blocks_diff"], r["bytes"])
                          for r in d["rows"]],
                         [("site_alpha", 2000, 2, 5000), ("site_gamma", 64, 1, 64),
                          ("site_beta", 0, 0, 500)])

    def test_text(self):
        out = rcgc("diff", cap("old.cap"), cap("new.cap"), check=0)[1]
        self.assertRegex(out, r"\+2 blocks +now 4\.9 KiB +site_alpha")
        self.assertRegex(out, r"\+1 block +now 64 B +site_gamma")

    def test_two_times(self):
        # at 15 ms: alpha's five survivors (the fifth free is at 15 ms);
        # at 25 ms: the same and beta's block
        d = rjson("diff", "--json", "--at", "15ms", "--at", "0.025", cap("basic.cap"))
        self.assertEqual(d["at"], [0.015, 0.025])
        self.assertEqual([(r["function"], r["bytes_diff"], r["bytes"]) for r in d["rows"]],
                         [("site_beta", 100000, 100000), ("site_alpha", 0, 5000)])

    def test_usage(self):
        self.assertEqual(rcgc("diff", "--at", "1", cap("basic.cap"))[0], 1)
        self.assertEqual(rcgc("diff", cap("basic.cap"))[0], 1)


class Check(unittest.TestCase):
    def test_peak_exceeded(self):
        code, out, err = rcgc("check", "--max-peak", "100K", cap("basic.cap"))
        self.assertEqual(code, 1)
        self.assertEqual(len(err.splitlines()), 1, err)
        self.assertIn("peak heap 102.5 KiB (105000 bytes) exceeds --max-peak 100K", err)

    def test_leaked_exceeded(self):
        code, out, err = rcgc("check", "--max-peak", "1M", "--max-leaked", "0", cap("basic.cap"))
        self.assertEqual(code, 1)
        self.assertRegex(err, r"^rcgc: check failed: .*basic\.cap: leaked 950 B \(950 bytes\) "
                              r"exceeds --max-leaked 0\n$")

    def test_both_in_one_line(self):
        code, _, err = rcgc("check", "--max-peak", "1k", "--max-leaked", "100", cap("basic.cap"))
        self.assertEqual((code, len(err.splitlines())), (1, 1))
        self.assertIn("; leaked", err)

    def test_within_limits(self):
        code, out, _ = rcgc("check", "--max-peak", "0.1M", "--max-leaked", "1KiB", cap("basic.cap"))
        self.assertEqual(code, 1)  # 0.1M = 104857 bytes < 105000
        code, out, _ = rcgc("check", "--max-peak", "105000", "--max-leaked", "950", cap("basic.cap"))
        self.assertEqual(code, 0)
        self.assertIn("check ok", out)

    def test_bad_size(self):
        code, _, err = rcgc("check", "--max-peak", "12Q", cap("basic.cap"))
        self.assertEqual(code, 1)
        self.assertIn("--max-peak takes a size", err)


class Flamegraph(unittest.TestCase):
    def test_html(self):
        out = cap("basic.html")
        code, stdout, _ = rcgc("flamegraph", "-o", out, cap("basic.cap"), check=0)
        self.assertEqual(stdout.strip(), out)
        page = open(out, encoding="utf-8").read()
        self.assertNotRegex(page, r"<script[^>]+src=|<link|@import|url\(http")
        self.assertIn("Content-Security-Policy", page)
        m = re.search(r'<script type="application/json" id="rcgc-data">(.*?)</script>', page, re.S)
        data = json.loads(m.group(1))
        tree, labels = data["tree"], data["labels"]
        self.assertEqual((tree[1], tree[3], tree[5]), (105000, 950, 113294))
        driver = tree[7][0]
        self.assertEqual(labels[driver[0]][0], "driver")
        names = {labels[k[0]][0]: k for k in driver[7]}
        self.assertEqual(names["site_beta"][1], 100000)
        self.assertEqual(names["site_delta"][3], 900)
        self.assertEqual(len(data["samples"]), 5)
        self.assertEqual(data["tables"]["peak"][0]["function"], "site_beta")
        # the timeline: per node, [bucket, bytes, blocks, ...] allocated
        # less what of it was freed in the bucket; beta's block comes at 20
        # ms (and goes at 30 ms: a pair, below); all of gamma's go (its
        # temporaries come and go within a bucket).  The
        # grid's cells are a power of two of microseconds wide, at least
        # 4096, as few as cover the run in at most 512 of them (read once:
        # flame_time.c); this run is 50 ms long.
        grid = data["time"]
        width = int(round(grid["bucket_s"] * 1e6))
        self.assertEqual(width, 4096)
        duration_us = int(round(rjson("summary", "--json", cap("basic.cap"))["duration_s"] * 1e6))
        self.assertEqual(grid["buckets"], duration_us // width + 1)
        bucket = lambda t: int(round(t * 1e6)) // int(round(grid["bucket_s"] * 1e6))
        self.assertEqual(names["site_beta"][8], [bucket(0.020), 100000, 1])
        self.assertLessEqual(len(names["site_gamma"][8]), 2 * 3)
        self.assertEqual(sum(names["site_gamma"][8][1::3]), 0)
        steps, pairs = [], []
        def walk(n):
            steps.extend(zip(*[iter(n[8])] * 3))
            pairs.extend(zip(*[iter(n[9])] * 4))
            for k in n[7]:
                walk(k)
        walk(tree)
        # this capture dates its frees: beta's block, freed in a later
        # bucket, is a pair (allocated in one bucket, freed in the other)
        self.assertTrue(grid["exact"])
        self.assertEqual(names["site_beta"][9], [bucket(0.020), bucket(0.030), 100000, 1])
        s = rjson("summary", "--json", cap("basic.cap"))
        self.assertEqual(sum(x[1] for x in steps) - sum(x[2] for x in pairs),
                         s["live_bytes_at_exit"])
        self.assertEqual(sum(x[2] for x in steps) - sum(x[3] for x in pairs),
                         s["live_blocks_at_exit"])
        self.assertTrue(all(0 <= x[0] < grid["buckets"] for x in steps))
        self.assertTrue(all(0 <= x[0] < x[1] < grid["buckets"] for x in pairs))

    def test_range_exact_and_lower_bound(self):
        # One site: a block at 0, then at 50 ms the old block freed and a
        # new one allocated, the end at 100 ms.  The range of the bucket at
        # 50 ms holds the new block, allocated in it and live at its end:
        # a capture that dates its frees (version 5) says so; one before
        # (version 4: the F has no age) counts the old block's free
        # against it and says 0, a lower bound, and the page says which.
        def capture(name, version, free):
            h = bytearray(read("basic.cap")[:64])
            struct.pack_into("<I", h, 8, version)
            struct.pack_into("<I", h, 28, 0)
            struct.pack_into("<I", h, 28, zlib.crc32(bytes(h)))
            rec = (b"S" + varint(0) + varint(0x1000) + b"I" + varint(16) + varint(1) + varint(0) +
                   b"C" + varint(0) + b"A" + varint(1) + b"C" + varint(50000) +
                   free + b"A" + varint(1) +
                   b"E" + varint(0) + varint(0) + varint(16) + varint(0) + varint(0))
            path = write(name, bytes(h) + chunk(rec))
            out = cap(name + ".html")
            rcgc("flamegraph", "-o", out, path, check=0)
            page = open(out, encoding="utf-8").read()
            m = re.search(r'<script type="application/json" id="rcgc-data">(.*?)</script>',
                          page, re.S)
            return json.loads(m.group(1))
        def in_range(n, b0, b1):  # report.js's computeRange, for the whole tree
            st, pr = n[8], n[9]
            own = sum(st[i + 1] for i in range(0, len(st), 3) if b0 <= st[i] <= b1)
            own -= sum(pr[i + 2] for i in range(0, len(pr), 4) if pr[i] >= b0 and pr[i + 1] <= b1)
            return max(0, own) + sum(in_range(k, b0, b1) for k in n[7])
        at50 = 50000 // 4096
        exact = capture("range5.cap", 5, b"G" + varint(1) + varint(2 * at50))  # age 12, zigzag
        self.assertTrue(exact["time"]["exact"])
        self.assertEqual(in_range(exact["tree"], at50, at50), 16)
        self.assertEqual(in_range(exact["tree"], 0, 0), 16)        # the first block, live at 0
        self.assertEqual(in_range(exact["tree"], 0, at50), 16)     # the first one freed by then
        old = capture("range4.cap", 4, b"F" + varint(1))
        self.assertFalse(old["time"]["exact"])
        self.assertEqual(in_range(old["tree"], at50, at50), 0)
        self.assertEqual(in_range(old["tree"], 0, at50), 16)
        self.assertEqual(rjson("summary", "--json", cap("range4.cap"))["live_bytes_at_exit"], 16)

    def test_range_pairs_bounded(self):
        # 600 sites each freeing, in each of 300 cells of 4096 us, a block
        # of one of the 64 cells before: 179,400 (allocation cell, free
        # cell) pairs, past the 2^17 a read keeps, so the grid coarsens
        # (without them 300 cells would fit in 512); what the page holds
        # still adds up to what is live at exit.
        h = bytearray(read("basic.cap")[:64])
        struct.pack_into("<I", h, 8, 5)
        struct.pack_into("<I", h, 28, 0)
        struct.pack_into("<I", h, 28, zlib.crc32(bytes(h)))
        n, cells = 600, 300
        rec = bytearray()
        for i in range(1, n + 1):
            rec += b"S" + varint(0) + varint(0x1000 + 16 * i)
            rec += b"I" + varint(16) + varint(i) + varint(0)
        for c in range(cells):
            rec += b"C" + varint(4096 if c else 0)
            for i in range(1, n + 1):
                rec += b"A" + varint(i)
                if c:
                    age = 1 + (i + c) % min(c, 64)
                    rec += b"G" + varint(i) + varint(2 * age)
        path = write("pairs.cap", bytes(h) + chunk(bytes(rec)))
        out = cap("pairs.html")
        rcgc("flamegraph", "-o", out, path, check=0)
        page = open(out, encoding="utf-8").read()
        data = json.loads(re.search(r'<script type="application/json" id="rcgc-data">(.*?)</script>',
                                    page, re.S).group(1))
        steps, pairs = [], []
        def walk(node):
            steps.extend(zip(*[iter(node[8])] * 3))
            pairs.extend(zip(*[iter(node[9])] * 4))
            for k in node[7]:
                walk(k)
        walk(data["tree"])
        self.assertTrue(data["time"]["exact"])
        self.assertLess(data["time"]["buckets"], cells)
        self.assertLessEqual(len(pairs), 1 << 17)
        self.assertEqual(sum(x[1] for x in steps) - sum(x[2] for x in pairs), n * 16)
        self.assertEqual(rjson("summary", "--json", path)["live_bytes_at_exit"], n * 16)

    def test_default_name(self):
        code, stdout, _ = rcgc("flamegraph", cap("types.cap"), check=0)
        self.assertEqual(stdout.strip(), cap("types.html"))
        self.assertTrue(os.path.exists(cap("types.html")))

    def test_collapsed(self):
        out = rcgc("flamegraph", "--collapsed", cap("basic.cap"), check=0)[1]
        self.assertEqual(sorted(out.splitlines()),
                         ["driver;site_alpha 5000", "driver;site_beta 100000"])
        out = rcgc("flamegraph", "--collapsed", "--by", "leaked", cap("types.cap"), check=0)[1]
        self.assertEqual(sorted(out.splitlines()),
                         ["driver;site_beta;[dict object] 200", "driver;site_delta;[str object] 96",
                          "driver;site_gamma 24"])

    def test_speedscope(self):
        out = cap("basic.speedscope.json")
        rcgc("flamegraph", "--speedscope", out, cap("basic.cap"), check=0)
        doc = json.load(open(out))
        frames = [f["name"] for f in doc["shared"]["frames"]]
        self.assertEqual(len(doc["profiles"]), 3)
        peak = doc["profiles"][0]
        self.assertEqual((peak["unit"], peak["endValue"], sum(peak["weights"])),
                         ("bytes", 105000, 105000))
        stacks = {";".join(frames[i] for i in s): w for s, w in zip(peak["samples"], peak["weights"])}
        self.assertEqual(stacks, {"driver;site_beta": 100000, "driver;site_alpha": 5000})


def go_pprof(*args):
    """`go tool pprof ARGS` (its output), or None when go is missing (a
    failure under CI, where .ci/run installs golang-go)."""
    go = shutil.which("go")
    if not go:
        if os.environ.get("CI"):
            raise AssertionError("go is not installed (apt-get install golang-go)")
        return None
    env = dict(os.environ, HOME=os.environ.get("HOME") or ARGS.work,
               GOCACHE=os.path.join(ARGS.work, "gocache"), PPROF_TMPDIR=ARGS.work)
    p = subprocess.run([go, "tool", "pprof", *args], capture_output=True, text=True,
                       timeout=300, env=env)
    if p.returncode != 0:
        raise AssertionError(f"go tool pprof {' '.join(args)}: {p.stderr}")
    return p.stdout


class Pprof(unittest.TestCase):
    """--pprof: read back by `go tool pprof`; its totals are summary's."""

    def totals(self, profile):
        out = {}
        for index in ("alloc_space", "alloc_objects", "inuse_space", "inuse_objects"):
            text = go_pprof("-top", "-unit=byte", "-sample_index=" + index, profile)
            if text is None:
                self.skipTest("go is not installed")
            out[index] = int(re.search(r"Total samples = (\d+)", text).group(1))
        return out, text

    def test_totals(self):
        for name in ("basic", "types"):
            profile = cap(name + ".pb.gz")
            self.assertEqual(rcgc("flamegraph", "--pprof", profile, cap(name + ".cap"))[0], 0)
            with open(profile, "rb") as f:
                self.assertEqual(f.read(2), b"\x1f\x8b")  # gzip
            s = rjson("summary", "--json", cap(name + ".cap"))
            totals, top = self.totals(profile)
            peak = rjson("top", "--json", "--by", "peak", "-n", "0", cap(name + ".cap"))
            self.assertEqual(totals, {"alloc_space": s["total_allocated_bytes"],
                                      "alloc_objects": s["allocations"],
                                      "inuse_space": s["peak_bytes"],
                                      "inuse_objects": sum(r["blocks"] for r in peak["rows"])})
        self.assertIn("[dict object]", top)   # types.cap: a managed type is a frame
        top = go_pprof("-top", "-unit=byte", "-sample_index=inuse_space", cap("basic.pb.gz"))
        self.assertRegex(top, r"100000B .* site_beta")

    def test_build_ids(self):
        if not os.environ.get("RCGC_E2E_PROG"):
            self.skipTest("no preload shim")
        path = cap("pprof_e2e.cap")
        subprocess.run([ARGS.rcgc, "run", "-o", path, "--", os.environ["RCGC_E2E_PROG"], "basic"],
                       capture_output=True, timeout=120)
        profile = cap("e2e.pb.gz")
        rcgc("flamegraph", "--pprof", profile, path, check=0)
        raw = go_pprof("-raw", profile)
        if raw is None:
            self.skipTest("go is not installed")
        note = subprocess.run(["readelf", "-n", os.environ["RCGC_E2E_PROG"]],
                              capture_output=True, text=True).stdout
        build_id = re.search(r"Build ID: ([0-9a-f]+)", note).group(1)
        self.assertRegex(raw, r"rcgc_e2e_prog " + build_id)
        self.assertRegex(raw, r"lose_block .*e2e_prog\.c:\d+")

    def test_cannot_write(self):
        code, _, err = rcgc("flamegraph", "--pprof", cap("no/such/dir/x.pb.gz"), cap("basic.cap"))
        self.assertEqual(code, 1)
        self.assertIn("cannot write", err)


class Stats(unittest.TestCase):
    def test_json(self):
        st = rjson("stats", "--json", cap("basic.cap"))
        # a C record at each new time of an event (the writer's grain is
        # 0): alpha 10 + 5, beta 1 + 1, gamma 40, delta and epsilon 1, the
        # last four 4; 7 frees and 21 temporaries (X); an L per site
        self.assertEqual(st["records"], {"modules": st["modules"], "stack_nodes": 10, "types": 0,
                                         "infos": 5, "clocks": 62, "allocations": 37,
                                         "frees": 7, "temporary_frees": 21, "samples": 5,
                                         "leak_records": 3, "end": 1, "python": 0,
                                         "python_codes": 0, "python_objects": 0})
        # stacks, three phases, the scan and end record at close
        self.assertEqual((st["chunks"], st["distinct_stacks"], st["infos"]), (5, 5, 5))
        self.assertGreater(st["compression_ratio"], 0)
        self.assertGreater(st["modules"], 0)

    def test_text(self):
        out = rcgc("stats", cap("basic.cap"), check=0)[1]
        self.assertIn("allocations    37", out)
        self.assertIn("temp_frees     21", out)


class BadInput(unittest.TestCase):
    def bad(self, path, message, *cmd):
        code, out, err = rcgc(*(cmd or ("summary",)), path)
        self.assertEqual(code, 2, err)
        self.assertEqual(len(err.splitlines()), 1, err)
        self.assertTrue(err.startswith("rcgc: "), err)
        self.assertIn(message, err)
        return err

    def test_missing(self):
        for cmd in ("summary", "top", "leaks", "stats", "flamegraph"):
            self.bad(cap("nope.cap"), "No such file", cmd)
        self.assertEqual(rcgc("check", "--max-peak", "1", cap("nope.cap"))[0], 2)

    def test_empty_and_not_a_capture(self):
        self.bad(write("empty.cap", b""), "empty file")
        self.bad(write("text.cap", b"hello, world\n" * 10), "not an rcgc capture")
        self.bad(write("short.cap", read("basic.cap")[:30]), "ends inside its header")

    def test_wrong_version(self):
        data = bytearray(read("basic.cap"))
        struct.pack_into("<I", data, 8, 1)
        self.bad(write("v1.cap", bytes(data)), "version 1")

    def test_bad_infos(self):
        head = read("basic.cap")[:64]
        node = b"S" + varint(0) + varint(0x1000)
        record = node + b"I" + varint(16) + varint(1) + varint(1 << 20)
        self.bad(write("info_type.cap", head + chunk(record)), "type id 1048576 out of range")
        record = node + b"C" + varint(5) + b"A" + varint(1)
        self.bad(write("info_undefined.cap", head + chunk(record)), "allocation info not yet defined")

    def test_bad_census(self):
        # an O record of an unknown list, of no objects, or cut short
        head = read("basic.cap")[:64]
        record = b"O" + varint(2) + varint(1) + varint(8) + varint(1) + b"T"
        self.bad(write("census_list.cap", head + chunk(record)),
                 "an unknown list of Python objects")
        record = b"O" + varint(0) + varint(0) + varint(8) + varint(1) + b"T"
        self.bad(write("census_none.cap", head + chunk(record)),
                 "a Python objects record of no objects")
        record = b"O" + varint(1) + varint(1) + varint(8) + varint(5) + b"T"
        self.bad(write("census_cut.cap", head + chunk(record)), "overruns the chunk")

    def test_free_without_its_allocation(self):
        # A free whose allocation was never read (cut from the capture):
        # the figures below zero are reported as 0.
        head = read("basic.cap")[:64]
        record = (b"S" + varint(0) + varint(0x1000) + b"I" + varint(4096) + varint(1) + varint(0)
                  + b"C" + varint(5) + b"F" + varint(1))
        path = write("free_only.cap", head + chunk(record))
        s = rjson("summary", "--json", path)
        self.assertEqual((s["allocations"], s["frees"], s["peak_bytes"], s["live_bytes_at_exit"],
                          s["live_blocks_at_exit"], s["leaked_bytes"], s["leaked_blocks"]),
                         (0, 1, 0, 0, 0, 0, 0))
        self.assertEqual(rjson("top", "--json", "--by", "peak", path)["rows"], [])
        d = rjson("diff", "--json", "--at", "1us", "--at", "10us", path)
        self.assertEqual(d["rows"], [])

    def test_how_it_ended(self):
        # summary, its JSON and check say how the program ended; check fails
        # on a capture without a clean end, with the reason
        self.assertEqual(rjson("summary", "--json", cap("basic.cap"))["ended"], "exit")
        s = rjson("summary", "--json", cap("crashed.cap"))
        self.assertEqual((s["ended"], s["exit_status"], s["leak_scan"]),
                         ("signal SIGSEGV", 139, True))
        self.assertEqual(rjson("summary", "--json", cap("noscan.cap"))["ended"], "no end record")
        out = rcgc("summary", cap("crashed.cap"), check=0)[1]
        self.assertIn(", killed by signal SIGSEGV (leaks scanned then)", out)
        code, _, err = rcgc("check", "--max-peak", "1G", cap("crashed.cap"))
        self.assertEqual(code, 1)
        self.assertRegex(err, r"check failed: .*crashed\.cap: the program did not end cleanly "
                              r"\(signal SIGSEGV\)")
        code, _, err = rcgc("check", "--max-leaked", "0", cap("noscan.cap"))
        self.assertEqual(code, 1)
        self.assertRegex(err, r"noscan\.cap: the program did not end cleanly \(no end record\); "
                              r"leaked ")

    def test_truncated_is_analysed(self):
        data = read("basic.cap")
        last = chunks(data)[-1]
        path = write("cut.cap", data[:last[0] + 24 + last[2] // 2])
        code, out, err = rcgc("summary", "--json", path)
        self.assertEqual(code, 0, err)
        self.assertIn("cut short", err)
        s = json.loads(out)
        # the scan and end record were in the lost chunk
        self.assertEqual((s["truncated"], s["allocations"], s["leak_scan"], s["leaked_bytes"]),
                         (True, 37, False, 5950))

    def test_bit_flips(self):
        data = read("basic.cap")
        at, raw, stored = chunks(data)[2]
        flipped = bytearray(data)
        flipped[at + 24 + stored // 2] ^= 0x10
        self.bad(write("flip.cap", bytes(flipped)), "fails its CRC")
        flipped = bytearray(data)
        flipped[at + 12] ^= 0x01  # stored length
        self.bad(write("flip2.cap", bytes(flipped)), "fails its check")

    def test_oversized_counts(self):
        head = read("basic.cap")[:64]
        self.bad(write("huge_chunk.cap", head + chunk(b"", raw=1 << 30, stored=16)), "bad lengths")
        record = b"M" + varint(0x1000) + varint(0x1000) + varint(1 << 40)
        self.bad(write("huge_string.cap", head + chunk(record)), "overruns")
        deep = b"".join(b"S" + varint(i) + varint(0x1000 + i) for i in range(300))
        self.bad(write("deep.cap", head + chunk(deep)), "deeper than 256")

    def test_every_bit_flip_is_handled(self):
        """One flipped bit anywhere: a clean answer (0 or 2), never a crash."""
        data = read("basic.cap")
        path = cap("fuzz.cap")
        for i in range(len(data)):
            flipped = bytearray(data)
            flipped[i] ^= 1 << (i % 8)
            with open(path, "wb") as f:
                f.write(flipped)
            code, _, err = rcgc("summary", "--json", path)
            self.assertIn(code, (0, 2), f"byte {i}: exit {code}: {err}")


@unittest.skipUnless(os.environ.get("RCGC_E2E_PROG"), "no end-to-end program (preload shim not built)")
class Run(unittest.TestCase):
    prog = None

    def run_prog(self, name, *args, options=()):
        path = cap(name)
        p = subprocess.run([ARGS.rcgc, "run", *options, "-o", path, "--",
                            os.environ["RCGC_E2E_PROG"], *args],
                           capture_output=True, text=True, timeout=120)
        return p, path

    def test_known_program(self):
        p, path = self.run_prog("e2e.cap", "basic")
        self.assertEqual(p.returncode, 7, p.stderr)
        self.assertEqual(p.stdout, "e2e: done\n")  # the program's output, untouched
        self.assertIn("capture written to " + path, p.stderr)
        s = rjson("summary", "--json", path)
        # the lost block and ten of 100000 live together; 1000 temporaries;
        # the ramp's 8 blocks; libc's own (stdout's buffer, still reachable)
        self.assertGreaterEqual(s["peak_bytes"], 1005000)
        self.assertLess(s["peak_bytes"], 1005000 + 64 * 1024)
        self.assertGreaterEqual(s["allocations"], 1 + 10 + 1000 + 8)
        self.assertGreaterEqual(s["temporary_allocations"], 1000)
        self.assertEqual((s["exit_status"], s["leak_scan"]), (7, True))
        self.assertEqual((s["leaked_bytes"], s["definitely_lost_bytes"]), (5000, 5000))
        self.assertIn("leaked           4.9 KiB in 1 block:", rcgc("summary", path, check=0)[1])
        self.assertGreaterEqual(s["samples"], 5)
        self.assertGreater(s["peak_rss_bytes"], s["peak_bytes"])
        leaks = rjson("leaks", "--json", path)
        self.assertEqual([(l["bytes"], l["category"]) for l in leaks], [(5000, "definitely_lost")])
        self.assertEqual(leaks[0]["stack"][0]["function"], "lose_block")
        self.assertTrue(leaks[0]["stack"][0]["file"].endswith("e2e_prog.c"))
        top = rjson("top", "--json", "--by", "peak", path)["rows"]
        self.assertEqual((top[0]["function"], top[0]["bytes"], top[0]["blocks"]),
                         ("hold_blocks", 1000000, 10))
        temps = rjson("top", "--json", "--by", "temporary", path)["rows"]
        self.assertEqual((temps[0]["function"], temps[0]["temporary_allocations"]),
                         ("temporaries", 1000))
        self.assertEqual(rcgc("check", "--max-leaked", "4K", path)[0], 1)
        self.assertEqual(rcgc("check", "--max-peak", "2M", "--max-leaked", "5000", path)[0], 0)

    def test_unwind(self):
        # DWARF unwinding (or, in a build without libunwind, frame pointers):
        # the same leak, found at the same function
        p, path = self.run_prog("e2e_unwind.cap", "basic", options=("--unwind", "libunwind"))
        self.assertEqual(p.returncode, 7, p.stderr)
        leaks = rjson("leaks", "--json", path)
        self.assertEqual([(l["bytes"], l["category"]) for l in leaks], [(5000, "definitely_lost")])
        self.assertEqual(leaks[0]["stack"][0]["function"], "lose_block")
        p, _ = self.run_prog("e2e_bad.cap", "basic", options=("--unwind", "dwarf"))
        self.assertEqual(p.returncode, 1)
        self.assertIn("--unwind takes fp or libunwind", p.stderr)

    def test_range_of_a_churn(self):
        # rotate_block frees each old block while it makes a new one, in a
        # second round 150 ms after the first: the report's range over the
        # second round holds the eight new blocks (allocated in it, live at
        # its end), where a lower bound (what it allocated less what it
        # freed there) says 0; over the first round its eight, live at its
        # end too; over both, the second round's.
        p, path = self.run_prog("churn.cap", "churn")
        self.assertEqual(p.returncode, 0, p.stderr)
        out = cap("churn.html")
        rcgc("flamegraph", "-o", out, path, check=0)
        page = open(out, encoding="utf-8").read()
        data = json.loads(re.search(r'<script type="application/json" id="rcgc-data">(.*?)</script>',
                                    page, re.S).group(1))
        self.assertTrue(data["time"]["exact"])
        labels = data["labels"]
        def find(n):
            if labels[n[0]][0] == "rotate_block":
                return n
            return next((f for f in map(find, n[7]) if f), None)
        node = find(data["tree"])
        st, pr = node[8], node[9]
        made = sorted(st[i] for i in range(0, len(st), 3) if st[i + 1] > 0)
        gap = max(range(1, len(made)), key=lambda i: made[i] - made[i - 1])
        first, second = (made[0], made[gap - 1]), (made[gap], made[-1])
        def in_range(b0, b1):  # report.js's computeRange, for this node alone
            own = sum(st[i + 1] for i in range(0, len(st), 3) if b0 <= st[i] <= b1)
            own -= sum(pr[i + 2] for i in range(0, len(pr), 4) if pr[i] >= b0 and pr[i + 1] <= b1)
            return own
        self.assertEqual(in_range(*second), 8 * 30000)
        self.assertEqual(in_range(*first), 8 * 30000)
        self.assertEqual(in_range(first[0], second[1]), 8 * 30000)
        lower = sum(st[i + 1] for i in range(0, len(st), 3) if second[0] <= st[i] <= second[1])
        lower -= sum(pr[i + 2] for i in range(0, len(pr), 4) if second[0] <= pr[i + 1] <= second[1])
        self.assertEqual(lower, 0)  # what a capture before version 5 showed

    def test_signal_status(self):
        p, _ = self.run_prog("e2e_kill.cap", "kill")
        self.assertEqual(p.returncode, 128 + 15, p.stderr)

    def test_cannot_run(self):
        p = subprocess.run([ARGS.rcgc, "run", "-o", cap("x.cap"), "--", "/nonexistent/prog"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 127)
        self.assertIn("cannot run /nonexistent/prog", p.stderr)


class Habits(unittest.TestCase):
    """What a command-line user expects of every verb."""
    VERBS = ("run", "summary", "top", "leaks", "diff", "flamegraph", "stats", "check")

    def test_help_on_every_verb(self):
        for verb in self.VERBS:
            for flag in ("--help", "-h"):
                code, out, err = rcgc(verb, flag)
                self.assertEqual(code, 0, (verb, err))
                self.assertTrue(out.startswith("usage: rcgc " + verb), out)
                self.assertEqual(err, "")
        # after a capture's name too; but not for run's program
        self.assertEqual(rcgc("top", cap("basic.cap"), "--help")[0], 0)
        code, out, _ = rcgc("top", "--help")
        self.assertIn("--alloc-fn NAME", out)

    def test_every_good_file_is_reported(self):
        good, bad = cap("basic.cap"), write("habits_empty.cap", b"")
        code, out, err = rcgc("summary", good, bad, good)
        self.assertEqual(code, 2)
        self.assertEqual(out.count(good + ":"), 2, out)
        self.assertIn("empty file", err)
        code, out, err = rcgc("summary", "--json", good, bad)
        self.assertEqual(code, 2)
        self.assertEqual(json.loads(out)["file"] if out.lstrip().startswith("{") else
                         json.loads(out)[0]["file"], good)
        for verb in ("top", "leaks", "stats"):
            code, out, _ = rcgc(verb, bad, good)
            self.assertEqual(code, 2, verb)
            self.assertIn(good, out, verb)
        # a gate never passes when a capture cannot be read
        self.assertEqual(rcgc("check", "--max-peak", "1G", good, bad)[0], 2)
        # diff needs both
        self.assertEqual(rcgc("diff", good, bad)[0], 2)

    def test_times_past_the_end_warn(self):
        code, out, err = rcgc("diff", "--at", "0.015", "--at", "99", cap("basic.cap"))
        self.assertEqual(code, 0, err)
        self.assertIn("--at 99 s is past the end of", err)
        code, _, err = rcgc("diff", "--at", "0.015", "--at", "0.025", cap("basic.cap"))
        self.assertEqual(err, "")


class Python(unittest.TestCase):
    """python.cap (gen_captures.c): native and Python frames mixed.  A
    Python frame reads "function  file:line" like a native one; top, leaks
    and diff group by the innermost Python frame unless --native; a Python
    frame is never folded, the native wrappers inside one are."""

    def setUp(self):
        self.path = cap("python.cap")

    def site(self, name, sep="  "):
        return "%s%sgen_captures.c:%d" % (name, sep, SITES[name])

    def test_summary(self):
        out = rcgc("summary", self.path, check=0)[1]
        self.assertIn("\n  interpreter      Python 3.11.2\n", out)
        self.assertEqual(rjson("summary", "--json", self.path)["python"], "3.11.2")
        self.assertIsNone(rjson("summary", "--json", cap("basic.cap"))["python"])
        self.assertNotIn("interpreter", rcgc("summary", cap("basic.cap"), check=0)[1])
        st = rjson("stats", "--json", self.path)
        self.assertEqual((st["records"]["python"], st["records"]["python_codes"],
                          st["records"]["python_objects"]), (1, 3, 5))

    def test_census(self):
        # types of one name merged, most bytes first; gc.garbage's apart
        out = rcgc("summary", self.path, check=0)[1]
        self.assertIn("\n  Python objects   1042 live at exit in 57.1 KiB (before finalization; "
                      "docs/PYTHON.md)\n"
                      "      54.7 KiB      1000  Leaf\n"
                      "       1.9 KiB        30  dict\n"
                      "         576 B        12  Cycle\n"
                      "  gc.garbage       2 objects: Cycle (2)\n", out)
        census = rjson("summary", "--json", self.path)["python_objects"]
        self.assertEqual(census["live"], {"objects": 1042, "bytes": 58496, "types": [
            {"type": "Leaf", "objects": 1000, "bytes": 56000},
            {"type": "dict", "objects": 30, "bytes": 1920},
            {"type": "Cycle", "objects": 12, "bytes": 576}]})
        self.assertEqual(census["garbage"], {"objects": 2, "bytes": 96, "types": [
            {"type": "Cycle", "objects": 2, "bytes": 96}]})
        self.assertIsNone(rjson("summary", "--json", cap("basic.cap"))["python_objects"])
        self.assertNotIn("Python objects", rcgc("summary", cap("basic.cap"), check=0)[1])
        html = cap("census.html")
        rcgc("flamegraph", "-o", html, self.path, check=0)
        with open(html) as f:
            page = f.read()
        summary = json.loads(re.search(r'\{"summary": (\{.*\}),\n"labels"', page).group(1))
        self.assertEqual(summary["python_objects"], census)

    def rows(self, *args):
        out = rcgc("top", *args, self.path, check=0)[1].splitlines()
        return [re.sub(r"\s+", " ", line.strip()) for line in out[2:]]

    def test_top(self):
        self.assertEqual(self.rows(), ["3.9 KiB 5 build app.py:4",
                                       "300 B 1 " + self.site("site_delta", " "),
                                       "32 B 1 xmalloc app.py:20"])
        # native grouping: PyMem_Malloc folded into site_beta; the Python
        # frame named like a wrapper is kept
        self.assertEqual(self.rows("--native"), ["2.9 KiB 3 " + self.site("site_alpha", " "),
                                                 "1000 B 2 " + self.site("site_beta", " "),
                                                 "300 B 1 " + self.site("site_delta", " "),
                                                 "32 B 1 xmalloc app.py:20"])
        self.assertEqual(self.rows("--native", "--no-fold")[1],
                         "1000 B 2 " + self.site("PyMem_Malloc", " "))
        self.assertEqual(self.rows("--by", "total"), ["3.9 KiB 5 build app.py:4",
                                                      "300 B 1 " + self.site("site_delta", " "),
                                                      "64 B 1 <module> app.py:10",
                                                      "32 B 1 xmalloc app.py:20"])
        rows = rjson("top", "--json", self.path)["rows"]
        self.assertEqual(rows[0], {"function": "build", "file": "/app/app.py", "line": 4,
                                   "bytes": 4000, "blocks": 5})
        self.assertEqual(rows[2], {"function": "xmalloc", "file": "/app/app.py", "line": 20,
                                   "bytes": 32, "blocks": 1})

    def test_leaks(self):
        out = rcgc("leaks", self.path, check=0)[1]
        driver = r"    at driver  gen_captures\.c:\d+\n"
        self.assertRegex(out, "^" + re.escape(self.path) + r": 3 leaks\n"
                         r"3\.9 KiB in 5 blocks definitely lost\n"
                         r"    at build  app\.py:4\n    at <module>  app\.py:10\n" + driver +
                         r"300 B in 1 block definitely lost\n    at " +
                         re.escape(self.site("site_delta")) + r"\n" + driver +
                         r"32 B in 1 block definitely lost\n    at xmalloc  app\.py:20\n" +
                         driver + "$")
        out = rcgc("leaks", "--native", self.path, check=0)[1]
        self.assertIn(": 4 leaks\n2.9 KiB in 3 blocks definitely lost\n    at %s\n"
                      "    at build  app.py:4\n" % self.site("site_alpha"), out)
        self.assertIn("1000 B in 2 blocks definitely lost\n    at %s\n" % self.site("site_beta"),
                      out)
        leaks = rjson("leaks", "--json", self.path)
        self.assertEqual([(l["bytes"], l["blocks"]) for l in leaks], [(4000, 5), (300, 1), (32, 1)])
        frames = leaks[0]["stack"]
        self.assertEqual([(f["function"], f["file"], f["line"]) for f in frames[:2]],
                         [("build", "/app/app.py", 4), ("<module>", "/app/app.py", 10)])
        self.assertNotIn("module", frames[0])   # no module: a Python frame
        self.assertEqual(frames[2]["function"], "driver")

    def test_diff(self):
        out = rcgc("diff", "--at", "1500us", "--at", "6000us", self.path, check=0)[1]
        lines = [re.sub(r"\s+", " ", l.strip()) for l in out.splitlines()[1:]]
        self.assertEqual(lines, ["+1000 B +2 blocks now 3.9 KiB build app.py:4",
                                 "+300 B +1 block now 300 B " + self.site("site_delta", " "),
                                 "+32 B +1 block now 32 B xmalloc app.py:20"])
        out = rcgc("diff", "--native", "--at", "1500us", "--at", "6000us", self.path, check=0)[1]
        self.assertIn("now 1000 B       " + self.site("site_beta"), out)

    def test_flame_graphs(self):
        out = rcgc("flamegraph", "--collapsed", self.path, check=0)[1]
        self.assertEqual(sorted(out.splitlines()), [
            "driver;<module> (app.py:10);build (app.py:4);site_alpha 3000",
            "driver;<module> (app.py:10);build (app.py:4);site_beta 1000",
            "driver;site_delta 300",
            "driver;xmalloc (app.py:20) 32"])
        out = rcgc("flamegraph", "--collapsed", "--by", "total", "--no-fold", self.path,
                   check=0)[1]
        self.assertIn("driver;<module> (app.py:10);build (app.py:4);site_beta;PyMem_Malloc 1000\n",
                      out)
        self.assertIn("driver;<module> (app.py:10);site_gamma 64\n", out)
        speedscope = cap("python.speedscope.json")
        rcgc("flamegraph", "--speedscope", speedscope, self.path, check=0)
        with open(speedscope) as f:
            frames = json.load(f)["shared"]["frames"]
        self.assertIn({"name": "build (app.py:4)", "file": "/app/app.py", "line": 4}, frames)
        html = cap("python.html")
        rcgc("flamegraph", "-o", html, self.path, check=0)
        with open(html) as f:
            page = f.read()
        labels = json.loads(re.search(r'"labels": (\[.*\]),\n', page).group(1))
        self.assertIn(["build (app.py:4)", "/app/app.py", 4, 1], labels)
        self.assertIn(["driver", labels[1][1], labels[1][2], 0], labels)

    def test_pprof(self):
        profile = cap("python.pb.gz")
        rcgc("flamegraph", "--pprof", profile, self.path, check=0)
        raw = go_pprof("-raw", profile)
        if raw is None:
            self.skipTest("go is not installed")
        # a Python frame: no address, no mapping, its name kept as is
        self.assertRegex(raw, r"\n +\d+: 0x0 build /app/app\.py:4 s=0\(\)\n")
        self.assertRegex(raw, r"\n +\d+: 0x0 <module> /app/app\.py:10 s=0\(\)\n")
        top = go_pprof("-top", "-unit=byte", "-sample_index=inuse_space", profile)
        self.assertRegex(top, r"\n +0 +0% +\S+ +4000B +92\.34% +build\n")


class Browser(unittest.TestCase):
    """The HTML report in headless Chromium (browser/test_report.mjs); run
    with --browser only.  The reports are of the end-to-end program's
    capture when the shim is built, else of basic.cap, and of python.cap."""

    def test_report(self):
        node = shutil.which("node")
        if not node:
            if os.environ.get("CI"):
                self.fail("node is not installed")
            self.skipTest("node is not installed")
        source = cap("basic.cap")
        if os.environ.get("RCGC_E2E_PROG"):
            source = cap("browser.cap")
            subprocess.run([ARGS.rcgc, "run", "-o", source, "--", os.environ["RCGC_E2E_PROG"],
                            "basic"], capture_output=True, timeout=120)
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "browser",
                              "test_report.mjs")
        shot = os.environ.get("RCGC_SCREENSHOT") or cap("report.png")
        for source, page, shot in ((source, cap("report.html"), shot),
                                   (cap("python.cap"), cap("python.html"),
                                    re.sub(r"(\.png)?$", "-python.png", shot, count=1))):
            rcgc("flamegraph", "-o", page, source, check=0)
            p = subprocess.run([node, script, page, shot], capture_output=True, text=True,
                               timeout=300)
            print(p.stdout, p.stderr, sep="", file=sys.stderr)
            if p.returncode == 77:
                self.skipTest(p.stdout.strip().splitlines()[-1])
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)


def main():
    global ARGS, SITES
    ap = argparse.ArgumentParser()
    ap.add_argument("--rcgc", required=True)
    ap.add_argument("--gen", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("-k", dest="pattern")
    ap.add_argument("--browser", action="store_true", help="run the browser test only")
    ARGS, rest = ap.parse_known_args()
    os.makedirs(ARGS.work, exist_ok=True)
    subprocess.run([ARGS.gen, ARGS.work], check=True)
    with open(cap("sites.json")) as f:
        SITES = json.load(f)
    SITES["driver"] = None
    loader = unittest.TestLoader()
    if ARGS.pattern:
        loader.testNamePatterns = [f"*{ARGS.pattern}*"]
    if ARGS.browser:
        suite = loader.loadTestsFromTestCase(Browser)
    else:
        suite = unittest.TestSuite(t for t in loader.loadTestsFromModule(sys.modules[__name__])
                                   if not any(isinstance(c, Browser) for c in t))
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    failed = len(result.failures) + len(result.errors)
    skipped = len(result.skipped)
    print(f"{result.testsRun - failed - skipped} passed, {failed} failed, {skipped} skipped")
    if ARGS.browser and result.wasSuccessful() and skipped:
        return 77
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())

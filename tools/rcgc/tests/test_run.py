#!/usr/bin/env python3
"""test_run.py — what `rcgc run` does and says around its program: the
checks before it starts (output path, missing, non-executable and static
programs), the file at -o (never an earlier run's), one file per process
with %p, signals sent to rcgc, and a capture the shim could not finish
(a full disk).  docs/PROFILING.md, "Run outcomes", is the user's side.

    test_run.py --rcgc PATH --prog E2E_PROG [--static STATIC_PROG] --work DIR [-k NAME]

E2E_PROG is e2e_prog.c (`basic` exits 7); STATIC_PROG is static_prog.c,
linked with -static (absent when the C library has no static archive).
"""
import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
import unittest

ARGS = None


def defaults():
    """In the child: the signals the tests send reach rcgc run, whatever
    the test runner ignores."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)


def run(*argv, cwd=None, preexec=defaults):
    return subprocess.run([ARGS.rcgc, "run", *map(str, argv)], capture_output=True, text=True,
                          timeout=120, cwd=cwd, preexec_fn=preexec)


def summary_pid(path):
    """The pid a capture's summary names, or None if it does not read."""
    p = subprocess.run([ARGS.rcgc, "summary", "--json", str(path)], capture_output=True,
                       text=True, timeout=60)
    if p.returncode != 0:
        return None
    return json.loads(p.stdout)["pid"]


def mount(options, target):
    """A tmpfs at target, if this process may mount one."""
    try:
        return subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", target],
                              capture_output=True).returncode == 0
    except OSError:
        return False


class RunOutcome(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(dir=ARGS.work, prefix=self._testMethodName + "-")

    def path(self, name):
        return os.path.join(self.dir, name)

    def marker_prog(self):
        """sh -c that leaves a file behind if it ran at all."""
        return ["sh", "-c", f"touch {self.path('ran')}"]

    def assertNotRun(self):
        self.assertFalse(os.path.exists(self.path("ran")), "the program ran")

    def leftovers(self):
        return [n for n in os.listdir(self.dir) if n.endswith(".part")]

    # ---- before the program starts: the output path

    def test_missing_directory(self):
        p = run("-o", self.path("nodir/x.cap"), "--", *self.marker_prog())
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(f"cannot write the capture in {self.path('nodir')}: No such file or directory",
                      p.stderr)
        self.assertNotRun()

    def test_directory_is_a_file(self):
        open(self.path("plain"), "w").close()
        p = run("-o", self.path("plain/x.cap"), "--", *self.marker_prog())
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("Not a directory", p.stderr)
        self.assertNotRun()

    def test_output_is_a_directory(self):
        os.mkdir(self.path("sub"))
        p = run("-o", self.path("sub"), "--", *self.marker_prog())
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(f"cannot write the capture to {self.path('sub')}: Is a directory", p.stderr)
        self.assertNotRun()

    def test_unwritable_directory(self):
        target = self.path("locked")
        os.mkdir(target)
        mounted = False
        if os.geteuid() == 0:  # root writes through permissions: a read-only mount
            mounted = mount("ro,size=4k", target)
            if not mounted:
                self.skipTest("root, and cannot mount a read-only tmpfs")
        else:
            os.chmod(target, 0o555)
        try:
            p = run("-o", os.path.join(target, "x.cap"), "--", *self.marker_prog())
        finally:
            if mounted:
                subprocess.run(["umount", target], check=True)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertRegex(p.stderr, f"cannot write the capture in {target}: "
                                   "(Permission denied|Read-only file system)")
        self.assertNotRun()

    def test_percent_p_in_directory(self):
        p = run("-o", self.path("d-%p/x.cap"), "--", *self.marker_prog())
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("%p may appear in the file name only", p.stderr)
        self.assertNotRun()

    # ---- before the program starts: the program

    def test_missing_program(self):
        p = run("-o", self.path("x.cap"), "--", self.path("nonexistent"))
        self.assertEqual(p.returncode, 127, p.stderr)
        self.assertIn(f"cannot run {self.path('nonexistent')}: No such file or directory", p.stderr)
        p = run("-o", self.path("x.cap"), "--", "rcgc-no-such-command")
        self.assertEqual(p.returncode, 127, p.stderr)
        self.assertIn("cannot run rcgc-no-such-command: command not found", p.stderr)
        self.assertEqual(os.listdir(self.dir), [])

    def test_not_executable(self):
        with open(self.path("script"), "w") as f:
            f.write("#!/bin/sh\nexit 0\n")
        os.chmod(self.path("script"), 0o644)
        p = run("-o", self.path("x.cap"), "--", self.path("script"))
        self.assertEqual(p.returncode, 126, p.stderr)
        self.assertIn("Permission denied", p.stderr)
        p = run("-o", self.path("x.cap"), "--", self.dir)
        self.assertEqual(p.returncode, 126, p.stderr)
        self.assertIn("Is a directory", p.stderr)
        self.assertEqual(sorted(os.listdir(self.dir)), ["script"])

    def test_static_program(self):
        if not ARGS.static:
            self.skipTest("no static C library (libc.a) to link a static program with")
        with open(self.path("x.cap"), "w") as f:
            f.write("an earlier file")
        p = run("-o", self.path("x.cap"), "--", ARGS.static, "--mark", self.path("ran"))
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(f"{ARGS.static} is statically linked", p.stderr)
        self.assertIn("was not run", p.stderr)
        self.assertNotRun()
        with open(self.path("x.cap")) as f:  # nothing ran: nothing touched
            self.assertEqual(f.read(), "an earlier file")

    # ---- the file at -o

    def test_stale_file_replaced(self):
        with open(self.path("x.cap"), "w") as f:
            f.write("an earlier file")
        p = run("-o", "x.cap", "--", ARGS.prog, "basic", cwd=self.dir)
        self.assertEqual(p.returncode, 7, p.stderr)
        self.assertIn(f"capture written to {self.path('x.cap')}\n", p.stderr)
        self.assertIsNotNone(summary_pid(self.path("x.cap")))
        self.assertEqual(self.leftovers(), [])

    def test_stale_file_removed_when_nothing_written(self):
        # a script whose interpreter is static: it passes the static check
        # (a script), and no process of the run loads the shim
        if not ARGS.static:
            self.skipTest("no static C library (libc.a) to link a static program with")
        with open(self.path("script"), "w") as f:
            f.write(f"#!{ARGS.static}\n")
        os.chmod(self.path("script"), 0o755)
        with open(self.path("x.cap"), "w") as f:
            f.write("an earlier file")
        p = run("-o", self.path("x.cap"), "--", self.path("script"))
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("no capture was written (the earlier file of that name is removed)", p.stderr)
        self.assertIn("never loaded the shim", p.stderr)
        self.assertFalse(os.path.exists(self.path("x.cap")))
        self.assertEqual(self.leftovers(), [])

    def test_one_file_per_process(self):
        with open(self.path("x-1.cap"), "w") as f:  # an earlier run's: not listed
            f.write("an earlier file")
        p = run("-o", self.path("x-%p.cap"), "--", "sh", "-c",
                f"{ARGS.prog} basic; {ARGS.prog} basic", cwd=self.dir)
        self.assertEqual(p.returncode, 7, p.stderr)
        files = sorted(n for n in os.listdir(self.dir) if n != "x-1.cap")
        self.assertGreaterEqual(len(files), 3, files)  # sh and its two children (at least)
        listed = sorted(os.path.basename(line.split("capture written to ", 1)[1])
                        for line in p.stderr.splitlines() if "capture written to " in line)
        self.assertEqual(listed, files)
        for name in files:
            self.assertEqual(f"x-{summary_pid(self.path(name))}.cap", name)
        self.assertNotIn("no capture", p.stderr)

    # ---- signals sent to rcgc run go to the program

    def forwarded(self, sig):
        pidfile = self.path("pid")
        # the pid file is written by the program itself, once the shim has
        # started (its capture has a header then)
        p = subprocess.Popen([ARGS.rcgc, "run", "-o", self.path("x.cap"), "--", sys.executable,
                              "-c", "import os, sys, time\n"
                              f"with open({pidfile + '.tmp'!r}, 'w') as f: f.write(str(os.getpid()))\n"
                              f"os.rename({pidfile + '.tmp'!r}, {pidfile!r})\n"
                              "time.sleep(60)"],
                             stderr=subprocess.PIPE, text=True, preexec_fn=defaults)
        deadline = time.monotonic() + 60
        while not os.path.exists(pidfile) and time.monotonic() < deadline:
            time.sleep(0.02)
        with open(pidfile) as f:
            pid = int(f.read())
        p.send_signal(sig)
        _, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 128 + sig, err)
        self.assertIn(f"was killed by signal {int(sig)}", err)
        with self.assertRaises(ProcessLookupError):  # ended and reaped: no orphan
            os.kill(pid, 0)
        self.assertIn("capture written to " + self.path("x.cap"), err)

    def test_sigterm_forwarded(self):
        self.forwarded(signal.SIGTERM)

    def test_sigint_forwarded(self):
        self.forwarded(signal.SIGINT)

    # ---- a capture the shim could not finish

    def test_disk_full(self):
        """A 4 KiB tmpfs (ENOSPC) when this process may mount one, else a
        4 KiB file size limit with SIGXFSZ ignored (EFBIG): either way
        the shim's writes fail part way."""
        target = self.path("small")
        os.mkdir(target)
        mounted = mount("size=4k", target)

        def limited():
            defaults()
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

        try:
            # Python's startup alone writes a capture of about 14 KiB
            p = run("-o", os.path.join(target, "x.cap"), "--", sys.executable, "-c",
                    "x = [str(i) for i in range(100000)]",
                    preexec=defaults if mounted else limited)
        finally:
            if mounted:
                subprocess.run(["umount", target], check=True)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("but it is incomplete", p.stderr)
        self.assertIn("the shim could not finish the capture", p.stderr)


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--rcgc", required=True)
    ap.add_argument("--prog", required=True)
    ap.add_argument("--static")
    ap.add_argument("--work", required=True)
    ap.add_argument("-k", dest="pattern")
    ARGS = ap.parse_args()
    for name in ("rcgc", "prog", "static", "work"):  # the tests change directory
        if getattr(ARGS, name):
            setattr(ARGS, name, os.path.abspath(getattr(ARGS, name)))
    os.makedirs(ARGS.work, exist_ok=True)
    loader = unittest.TestLoader()
    if ARGS.pattern:
        loader.testNamePatterns = [f"*{ARGS.pattern}*"]
    result = unittest.TextTestRunner(verbosity=2).run(loader.loadTestsFromTestCase(RunOutcome))
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())

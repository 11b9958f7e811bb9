#!/usr/bin/env python3
"""json_load against Python's json on small documents.

Each good document must print (json_load --repr) exactly Python's
repr(json.loads(text)); each bad one must fail with exit status 1 and
the position Python reports ("(char N)"), or, for what rcgc refuses on
purpose, with its own message.  (rc_repr writes 'it\\'s' where Python
writes "it's": the documents have no apostrophe.)
Usage: check_json_load.py PATH/TO/json_load
"""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

GOOD = [
    '0', '-0', '1.5', '-0.0', '1e400', '-1e400', '123456789012345678',
    '9223372036854775807', '9223372036854775808', '-9223372036854775809',
    '18446744073709551616', '-' + '9' * 4300, '1E+2', '2.5e-3',
    '"plain"', '""', r'"esc \" \\ \/ \b \f \n \r \t"', r'"\u00e9\u65e5\ud83d\ude00"',
    '"é日😀"', 'true', 'false', 'null', '[]', '{}', '[[[[[]]]]]',
    '{"a": 1, "a": 2}', ' \n\t[1 , {"k" : [true, null, 1.25]} ] \r\n',
    '{"nested": {"deeper": {"list": [1, 2, 3, {"x": -1}]}}}',
    '[' * 60 + ']' * 60,  # rc_repr prints 64 levels
]
DEEP = '[' * 100000 + ']' * 100000  # Python's json stops at its recursion limit

BAD = [  # (text, what Python says or None when rcgc refuses on purpose)
    '', '[', '[1,]', '[1 2]', '{"a" 1}', '{"a": 1,}', '{1: 2}', 'nul', '01',
    '1.', '1e', '-', '"abc', '"a\x01"', r'"\x"', r'"\u12"', '[1] x', '{"a": [1, 2}',
    '1' * 4301,
    ('NaN', None), ('[Infinity]', None), (r'"\ud800"', None), (r'"\udc00x"', None),
]


def run(binary, text, flag="--repr"):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as f:
        f.write(text)
    try:
        return subprocess.run([binary, flag, f.name], capture_output=True, text=True)
    finally:
        os.unlink(f.name)


def main():
    binary = sys.argv[1]
    # 40,000 records (8.6 MB): past the 8 MiB after which json_load gives
    # the parsed text back to the kernel
    gen = subprocess.run([sys.executable, os.path.join(HERE, "gen_json.py"), "40000", "7"],
                         capture_output=True, text=True, check=True).stdout
    failures = 0
    for text in GOOD + [gen]:
        r = run(binary, text)
        want = repr(json.loads(text))
        if r.returncode != 0 or r.stdout != want + "\n":
            failures += 1
            print(f"GOOD {text[:60]!r}: status {r.returncode} {r.stderr.strip()}\n"
                  f"  want {want[:200]}\n  got  {r.stdout[:200]}")
    for case in BAD:
        text, python_refuses = (case, True) if isinstance(case, str) else (case[0], False)
        r = run(binary, text)
        if python_refuses:
            try:
                json.loads(text)
                want = "an error"
            except ValueError as e:
                want = f"(char {e.pos})" if isinstance(e, json.JSONDecodeError) else "digits"
        else:
            want = "line 1 column 1 (char 0)" if text[0] != '[' and text[1:2] != '\\' else "(char"
        if r.returncode != 1 or want not in r.stderr:
            failures += 1
            print(f"BAD {text[:60]!r}: status {r.returncode}, want {want!r} in {r.stderr.strip()!r}")
    r = run(binary, DEEP, "--no-gc")
    if r.returncode != 0 or "100000 list" not in r.stdout:
        failures += 1
        print(f"DEEP: status {r.returncode} {r.stderr.strip()}")
    if failures:
        sys.exit(f"check_json_load: {failures} cases differ from Python's json")
    print(f"check_json_load: {len(GOOD) + 1} documents and {len(BAD)} errors as Python's json "
          f"(with the documented exceptions)")


main()

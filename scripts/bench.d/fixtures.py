#!/usr/bin/env python3
"""Git fixtures for scripts/bench, written straight into packs with `git fast-import`.

  fixtures.py tree DIR FILES MIN_BYTES MAX_BYTES
      A repository at DIR with one commit of FILES files of random bytes (sizes uniform in
      [MIN_BYTES, MAX_BYTES]), 100 to a directory, two directory levels deep. The files are also
      written to DIR's working tree and the index is filled, so `git ls-files` lists them.
  fixtures.py history BARE COMMITS FILES
      A bare repository at BARE whose `main` has COMMITS commits over FILES text files (about
      2 KB each); every commit appends a line to one file. The first commit also holds a
      busybox site (compose.yaml, Dockerfile, www/index.html) so the tip can be deployed.

Seeded, so the same arguments give the same commits on every run.
"""

import os
import random
import subprocess
import sys

AUTHOR = b"kelev bench <bench@kelev.invalid>"


def fast_import(git_dir, bare):
    args = ["git", "init", "-q", "-b", "main"] + (["--bare"] if bare else []) + [git_dir]
    subprocess.run(args, check=True)
    return subprocess.Popen(
        ["git", "-C", git_dir, "fast-import", "--quiet", "--done"],
        stdin=subprocess.PIPE,
    )


def data(payload):
    return b"data %d\n%s\n" % (len(payload), payload)


def commit_header(n, message):
    when = 1704067200 + n * 60  # 2024-01-01T00:00:00Z, a minute apart
    return (
        b"commit refs/heads/main\n"
        + b"committer %s %d +0000\n" % (AUTHOR, when)
        + data(message)
    )


def tree(directory, files, min_bytes, max_bytes):
    rng = random.Random(f"tree-{files}-{min_bytes}-{max_bytes}")
    proc = fast_import(directory, bare=False)
    out = proc.stdin
    out.write(commit_header(0, b"synthetic tree of %d files" % files))
    made = set()
    for i in range(files):
        rel = f"src/m{i // 1000:03d}/s{(i // 100) % 10}/f{i:06d}.txt"
        parent = os.path.join(directory, os.path.dirname(rel))
        if parent not in made:
            os.makedirs(parent, exist_ok=True)
            made.add(parent)
        payload = rng.randbytes(rng.randint(min_bytes, max_bytes))
        with open(os.path.join(directory, rel), "wb") as f:
            f.write(payload)
        out.write(b"M 100644 inline %s\n" % rel.encode())
        out.write(data(payload))
    out.write(b"\ndone\n")
    out.close()
    if proc.wait() != 0:
        sys.exit("fixtures: git fast-import failed")
    subprocess.run(["git", "-C", directory, "read-tree", "main"], check=True)


def history(bare, commits, files):
    rng = random.Random(f"history-{commits}-{files}")
    words = [bytes(rng.choices(b"abcdefghijklmnopqrstuvwxyz", k=rng.randint(2, 9))) for _ in range(500)]
    contents = []
    for _ in range(files):
        lines = [b" ".join(rng.choices(words, k=8)) for _ in range(40)]
        contents.append(b"\n".join(lines) + b"\n")
    proc = fast_import(bare, bare=True)
    out = proc.stdin
    with open("/bin/busybox", "rb") as f:
        busybox = f.read()
    site = {
        b"busybox": (b"100755", busybox),
        b"compose.yaml": (b"100644", b"services:\n  web:\n    build: .\n    init: true\n"),
        b"Dockerfile": (
            b"100644",
            b'FROM scratch\nCOPY busybox /bin/busybox\nCOPY www /www\n'
            b'CMD ["/bin/busybox", "httpd", "-f", "-p", "80", "-h", "/www"]\n',
        ),
        b"www/index.html": (b"100644", b"history\n"),
    }
    for n in range(commits):
        out.write(commit_header(n, b"commit %d" % n))
        if n == 0:
            for path, (mode, payload) in site.items():
                out.write(b"M %s inline %s\n" % (mode, path))
                out.write(data(payload))
            for i, payload in enumerate(contents):
                out.write(b"M 100644 inline lib/file%03d.txt\n" % i)
                out.write(data(payload))
        else:
            i = rng.randrange(files)
            contents[i] += b"change %d: " % n + b" ".join(rng.choices(words, k=6)) + b"\n"
            out.write(b"M 100644 inline lib/file%03d.txt\n" % i)
            out.write(data(contents[i]))
        out.write(b"\n")
    out.write(b"done\n")
    out.close()
    if proc.wait() != 0:
        sys.exit("fixtures: git fast-import failed")


def main(argv):
    if len(argv) == 6 and argv[1] == "tree":
        tree(argv[2], int(argv[3]), int(argv[4]), int(argv[5]))
    elif len(argv) == 5 and argv[1] == "history":
        history(argv[2], int(argv[3]), int(argv[4]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)

#!/usr/bin/env python3
"""The report of scripts/bench: the summary table on stdout, everything in docs/benchmarks.md.

  report.py RESULTS_DIR OUTPUT.md

Reads what scripts/bench left in RESULTS_DIR: values.tsv (`key<TAB>value` lines), hyperfine's
JSON exports, rss-*.json (peakrss.py), trace-*.log (docker-timed), prof-*.txt
(callgrind_annotate) and massif-*.txt (ms_print). Every figure is a median of hyperfine's runs;
every ratio is between medians measured in the same run. Verdicts are computed here from the
targets of issues 6 and 11.

The prose lives in benchmarks.md.in beside this file. Here, each section has a reader (results in,
values out) and renderers (values in: its summary row, tables, verdicts and the other strings the
template names); `fill` puts them into the template and history.md is appended as it is.
"""

import glob
import json
import os
import re
import statistics
import sys
from types import SimpleNamespace

# Targets of issue 6.
HASH_SPEEDUP = 20.0  # x faster than reading every byte, at 100k files
UNCHANGED_MS = 50.0
SSH_EXTRA_MS = 50.0
# Issue 11's targets for deploy --force against `compose up -d --build`: containers up, created.
FORCE_RATIO = 1.3
CREATE_RATIO = 1.2
STATUS_RATIO = 1.5
RSS_MB = 30.0

HASH_SIZES = ["1k", "10k", "100k", "10k-big", "cargo-registry"]


class Results:
    def __init__(self, directory):
        self.dir = directory
        self.values = {}
        with open(os.path.join(directory, "values.tsv")) as f:
            for line in f:
                key, _, value = line.rstrip("\n").partition("\t")
                self.values[key] = value
        self.runs = {}

    def value(self, key, default=None):
        return self.values.get(key, default)

    def has(self, group):
        return os.path.exists(os.path.join(self.dir, f"{group}.json"))

    def bench_or_none(self, group, name):
        """`bench`, or None where this run did not measure `name` (results of an older bench)."""
        return self.bench(group, name) if name in self.commands(group) else None

    def commands(self, group):
        """hyperfine's results of export `group`, by command name, in the export's order."""
        if group not in self.runs:
            with open(os.path.join(self.dir, f"{group}.json")) as f:
                self.runs[group] = {r["command"]: r for r in json.load(f)["results"]}
        return self.runs[group]

    def bench(self, group, name):
        """hyperfine's result for command `name` of export `group`."""
        return self.commands(group)[name]

    def json(self, name):
        path = os.path.join(self.dir, name)
        if not os.path.exists(path):
            return None
        with open(path) as f:
            return json.load(f)


# --- formatting -----------------------------------------------------------------------------


def secs(s):
    if s < 0.1:
        return f"{s * 1000:.1f} ms"
    if s < 1:
        return f"{s * 1000:.0f} ms"
    return f"{s:.2f} s"


def timing(r):
    """median ± stddev (runs) of a hyperfine result."""
    return f"{secs(r['median'])} ± {secs(r['stddev'] or 0)}"


def ratio(x):
    return f"{x:.2f}x" if x < 10 else f"{x:.0f}x"


def mb(n_bytes):
    return f"{n_bytes / 1e6:.1f} MB"


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def plain(header, rows):
    """The same table as aligned plain text, for the terminal."""
    cells = [header] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells
    )


# --- callgrind_annotate output ----------------------------------------------------------------

LINE = re.compile(r"^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(.*?)\s*(?:\[(.*)\])?$")
BOILERPLATE = re.compile(
    r"\(below main\)|^main$|lang_start|__rust_begin_short_backtrace|libc_start|^0x|_dl_|"
    r"Once>::call|call_once|kelev_agent::main$|kelev::main$|start_thread|PROGRAM TOTALS"
)


class Profile:
    def __init__(self, results, name):
        self.name = name
        self.total = None
        self.inclusive = self._read(results, f"prof-{name}-inclusive.txt")
        self.exclusive = self._read(results, f"prof-{name}-self.txt")

    def _read(self, results, file_name):
        path = os.path.join(results.dir, file_name)
        entries = []
        if not os.path.exists(path):
            return entries
        with open(path) as f:
            for line in f:
                m = LINE.match(line)
                if not m:
                    continue
                count = int(m.group(1).replace(",", ""))
                if "PROGRAM TOTALS" in m.group(2):
                    self.total = count
                    continue
                function = m.group(2)
                function = function.split(":", 1)[1] if function.startswith(("???:", "./")) else function
                obj = os.path.basename(m.group(3) or "")
                entries.append((count, function, obj))
        return entries

    def __bool__(self):
        return self.total is not None

    def ir(self, function):
        """Inclusive instructions of the first function whose name contains `function`."""
        for count, name, _ in self.inclusive:
            if function in name:
                return count
        return 0

    def share(self, function):
        return self.ir(function) / self.total if self.total else 0.0

    def self_ir(self, function):
        """Exclusive instructions of the first function whose name contains `function`."""
        return next((count for count, name, _ in self.exclusive if function in name), 0)

    def top(self, inclusive, n):
        entries = self.inclusive if inclusive else self.exclusive
        rows = []
        for count, name, obj in entries:
            if inclusive and (BOILERPLATE.search(name) or count > self.total):
                continue
            rows.append([f"{count / 1e6:,.1f} M", f"{100 * count / self.total:.1f}%", f"`{name}`", obj])
            if len(rows) == n:
                break
        return table(["Ir", "share", "function", "object"], rows)


def mir(n):
    return f"{n / 1e6:,.1f} M"


# --- ms_print output ----------------------------------------------------------------------------

FRAME = re.compile(r"->\s*([\d.]+)% \(([\d,]+)B\) (?:0x[0-9A-Fa-f]+: )?(.*?)(?: \(in .*\))?$")


def massif_peak(results, name):
    """(peak heap bytes, [(share %, bytes, allocating function, its first callers)]) of the peak
    snapshot of `massif-<name>.txt`, or None."""
    path = os.path.join(results.dir, f"massif-{name}.txt")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        text = f.read().splitlines()
    listed = next((l for l in text if "Detailed snapshots:" in l and "(peak)" in l), None)
    if not listed:
        return None
    peak = re.search(r"(\d+) \(peak\)", listed).group(1)
    row = next(i for i, l in enumerate(text) if re.match(rf"^\s+{peak}\s+[\d,]+\s+[\d,]+", l))
    total = int(text[row].split()[2].replace(",", ""))
    sites, i = [], row + 1
    while i < len(text) and not text[i].startswith("---"):
        line = text[i]
        if line.startswith("->"):
            m = FRAME.match(line)
            chain = []
            j = i + 1
            while j < len(text) and not text[j].startswith(("->", "---")) and len(chain) < 3:
                c = FRAME.search(text[j])
                if c and " places, all below " not in c.group(3):
                    chain.append(c.group(3))
                j += 1
            if m:
                sites.append((float(m.group(1)), int(m.group(2).replace(",", "")), m.group(3), chain))
        i += 1
    return total, sites


# --- docker-timed traces ------------------------------------------------------------------------


def label(args):
    """A short name for one docker call of the trace."""
    words = args.split()
    if not words:
        return "docker"
    if words[0] != "compose":
        two = " ".join(words[:2])
        return f"docker {two}" if words[0] in ("image", "network", "builder") else f"docker {words[0]}"
    rest, i = [], 1
    while i < len(words):
        if words[i] in ("-p", "--project-directory", "-f"):
            i += 2
            continue
        rest.append(words[i])
        i += 1
    sub = rest[0] if rest else "?"
    return "docker compose version (plugin probe)" if sub == "version" else f"docker compose {sub}"


class Trace:
    """The docker calls of the traced runs of one scenario, medians over the runs.

    rows: (label, seconds in the call, seconds from its end to the next call's start, or to the
    end of the run, calls per run); start: from the run's start to its first call; wall; own:
    wall minus the calls (the agent's own work, its idle waits and docker-timed's bash starts).
    """

    def __init__(self, results, scenario):
        runs = []
        for path in sorted(glob.glob(os.path.join(results.dir, f"trace-{scenario}-*.log"))):
            with open(path) as f:
                lines = f.read().splitlines()
            start, end = (float(x) for x in lines[0].split()[1:3])
            calls = []
            for line in lines[1:]:
                parts = line.split(" ", 3)
                calls.append((label(parts[3] if len(parts) > 3 else ""), float(parts[0]), float(parts[1])))
            runs.append((start, end, calls))
        self.ok = bool(runs)
        if not runs:
            return
        order, per = [], {}
        for _, _, calls in runs:
            for name, _, _ in calls:
                if name not in per:
                    order.append(name)
                    per[name] = []
        for start, end, calls in runs:
            for name in order:
                took = idle = 0.0
                n = 0
                for i, (c, a, b) in enumerate(calls):
                    if c == name:
                        nxt = calls[i + 1][1] if i + 1 < len(calls) else end
                        took, idle, n = took + b - a, idle + nxt - b, n + 1
                per[name].append((took, idle, n))
        med = statistics.median
        self.rows = [
            (name, med(t for t, _, _ in per[name]), med(i for _, i, _ in per[name]), max(n for _, _, n in per[name]))
            for name in order
        ]
        self.start = med(calls[0][1] - start if calls else end - start for start, end, calls in runs)
        self.wall = med(end - start for start, end, _ in runs)
        self.own = med(end - start - sum(b - a for _, a, b in calls) for start, end, calls in runs)

    def __bool__(self):
        return self.ok

    def took(self, name):
        return sum(t for n, t, _, _ in self.rows if n == name)

    def idle(self, name):
        return sum(i for n, _, i, _ in self.rows if n == name)

    def table(self):
        body = [["(start-up, before the first call)", "-", secs(self.start)]]
        body += [
            [f"`{name}`" + (f" (x{calls})" if calls > 1 else ""), secs(t), secs(i)]
            for name, t, i, calls in self.rows
        ]
        body.append(["**wall time of the run**", f"**{secs(self.wall)}**", ""])
        return table(["child process", "median time in it", "then until the next step"], body)


# --- the template ---------------------------------------------------------------------------------

HERE = os.path.dirname(os.path.abspath(__file__))
TEMPLATE = os.path.join(HERE, "benchmarks.md.in")
# The optimisation record is written by hand and kept across runs.
HISTORY = os.path.join(HERE, "history.md")

# `{{name}}` is replaced by a value. `{{#if name}}...{{else}}...{{/if}}` keeps one branch, chosen by a
# flag (blocks may nest, `{{else}}` is optional); a tag alone on its line takes its line break along.
PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
NAMED = re.compile(r"\{\{(?:#if )?(\w+)\}\}")
STANDALONE = re.compile(r"^(\{\{(?:#if \w+|else|/if)\}\})\n", re.M)
BRANCH = r"((?:(?!\{\{#if |\{\{else\}\}).)*?)"  # no block opens inside: innermost blocks go first
BLOCK = re.compile(r"\{\{#if (\w+)\}\}" + BRANCH + r"(?:\{\{else\}\}" + BRANCH + r")?\{\{/if\}\}", re.S)
TAG = re.compile(r"\{\{(?:#if \w+|else|/if)\}\}")


def fill(template, values):
    """`template` with its blocks chosen by the flags of `values` and its placeholders replaced.
    A value the template does not name, a placeholder without a value or an unclosed block is an
    error: a renamed placeholder should not vanish from the document silently."""
    unnamed = values.keys() - set(NAMED.findall(template))
    if unnamed:
        raise KeyError(f"values the template does not name: {', '.join(sorted(unnamed))}")
    text = STANDALONE.sub(r"\1", template)
    while True:
        chosen = BLOCK.sub(lambda m: m.group(2) if values[m.group(1)] else m.group(3) or "", text)
        if chosen == text:
            break
        text = chosen
    if TAG.search(text):
        raise ValueError(f"unbalanced block in the template near `{TAG.search(text).group(0)}`")
    missing = set(PLACEHOLDER.findall(text)) - values.keys()
    if missing:
        raise KeyError(f"placeholders without a value: {', '.join(sorted(missing))}")
    # One pass: a value holding `{{` (a Rust `{{closure}}` in a profile) stays as it is.
    return PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), text)


def merged(*parts):
    out = {}
    for part in parts:
        twice = out.keys() & part.keys()
        if twice:
            raise KeyError(f"values given twice: {', '.join(sorted(twice))}")
        out.update(part)
    return out


# --- verdicts and pieces every section uses -------------------------------------------------------


def verdict(met, miss_text, value=None, limit=None):
    """`value` and `limit`, when given, say how close the figure is to its target: within 10%
    either way is within what repeated runs on this shared machine vary by, and the verdict says
    so."""
    close = value is not None and limit and abs(value / limit - 1) <= 0.10
    note = " (narrowly: within the run-to-run spread on this machine)" if close else ""
    return ("met" if met else f"**missed**: {miss_text}") + note


def trace_table(trace):
    return trace.table() if trace else "(no trace)"


def took(trace, *names):
    """Seconds spent in the calls `names` of a trace; 0 without a trace."""
    return sum(trace.took(n) for n in names) if trace else 0.0


def idle(trace, *names):
    """Seconds from the end of the calls `names` to the next step; 0 without a trace."""
    return sum(trace.idle(n) for n in names) if trace else 0.0


def target_text():
    return {
        "target_hash_speedup": f"{HASH_SPEEDUP:.0f}",
        "target_unchanged_ms": f"{UNCHANGED_MS:.0f}",
        "target_ssh_extra_ms": f"{SSH_EXTRA_MS:.0f}",
        "target_force_ratio": f"{FORCE_RATIO}",
        "target_create_ratio": f"{CREATE_RATIO}",
        "target_status_ratio": f"{STATUS_RATIO}",
        "target_rss_mb": f"{RSS_MB:.0f}",
    }


# --- the bench's world and machine ------------------------------------------------------------------


def read_world(r):
    return SimpleNamespace(
        projects=r.value("world.projects"),
        rebuild_projects=r.value("world.rebuild_projects", "10"),
        nproc=r.value("machine.nproc"),
        remote_objects=r.value("fetch.remote_objects"),
        trace_runs=r.value("trace.runs", "3"),
    )


def world_text(w):
    return {
        "world_projects": w.projects,
        "rebuild_projects": w.rebuild_projects,
        "machine_nproc": w.nproc,
        "remote_objects": w.remote_objects,
        "trace_runs": w.trace_runs,
    }


def machine_table(values):
    """The machine the run was on, from values.tsv's `machine.*` lines."""
    v = values.get
    seconds = int(v("machine.seconds", "0"))
    rows = [
        ["CPUs (`nproc`)", v("machine.nproc")],
        ["CPU", v("machine.cpu")],
        ["memory", f"{v('machine.mem_gib')} GiB"],
        ["kernel", v("machine.kernel")],
        ["OS", v("machine.os")],
        ["Docker engine", v("machine.docker")],
        ["Docker Compose", v("machine.compose")],
        ["git", v("machine.git")],
        ["hyperfine, valgrind", f"{v('machine.hyperfine')}, {v('machine.valgrind')}"],
        ["kelev", f"`{v('machine.kelev')}` (`cargo build --release`)"],
        ["date", v("machine.date")],
        ["load average (1, 5, 15 min) at start / end", f"{v('machine.load_start')} / {v('machine.load_end')}"],
        ["containers running at start (not the bench's)", v("machine.containers_start")],
        ["bench run time", f"{seconds // 60} min {seconds % 60} s (after `cargo build`)"],
    ]
    return table(["", ""], rows)


SUMMARY_HEADER = ["figure", "kelev", "baseline (same run)", "ratio / extra", "target", "status"]


def summary_text(summary):
    """The summary table and its count of missed targets; rows are (figure, kelev, baseline, ratio,
    target, status)."""
    missed = [row for row in summary if row[5].startswith("**missed")]
    return {
        "summary_table": table(SUMMARY_HEADER, summary),
        "targets_missed": len(missed),
        "targets": len([row for row in summary if row[5] != "reported"]),
    }


# --- 1. content hash --------------------------------------------------------------------------------

HASH_COMMANDS = ("kelev hash", "sha256sum per file", "read every byte")


def read_hash(r):
    sizes = [s for s in HASH_SIZES if r.has(f"hash-{s}")]
    h = SimpleNamespace(
        sizes=sizes,
        runs={s: {n: r.bench(f"hash-{s}", n) for n in HASH_COMMANDS} for s in sizes},
        files={s: int(r.value(f"hash.{s}.files")) for s in sizes},
        bytes={s: int(r.value(f"hash.{s}.bytes")) for s in sizes},
        crates=r.value("hash.cargo-registry.crates", "?"),
        prof=Profile(r, "hash-100k"),
    )
    h.k100, h.sha100, h.cat100 = hash_medians(h, "100k")
    h.speedup = h.cat100 / h.k100
    h.k10, _, h.cat10 = hash_medians(h, "10k")
    h.k10big, _, h.cat10big = hash_medians(h, "10k-big")
    h.bytes_ratio = h.bytes["10k-big"] / h.bytes["10k"]
    h.grows = h.k10big / h.k10
    return h


def hash_medians(h, size):
    """The medians of (kelev hash, sha256sum per file, read every byte) at `size`."""
    return tuple(h.runs[size][n]["median"] for n in HASH_COMMANDS)


def hash_summary(h):
    rows = [
        [
            "content hash, 100k files",
            secs(h.k100),
            f"read every byte {secs(h.cat100)}; sha256sum per file {secs(h.sha100)}",
            f"{ratio(h.speedup)} faster",
            f">= {HASH_SPEEDUP:.0f}x faster",
            verdict(h.speedup >= HASH_SPEEDUP, f"{ratio(h.speedup)}, short by {HASH_SPEEDUP / h.speedup:.1f}x"),
        ],
        [
            f"content hash, 10k files with {h.bytes_ratio:.0f}x the bytes",
            f"{secs(h.k10big)} ({ratio(h.grows)} of 10k)",
            f"read every byte {secs(h.cat10big)} ({ratio(h.cat10big / h.cat10)} of 10k)",
            f"{ratio(h.cat10big / h.k10big)} faster",
            "cost grows with entries, not bytes",
            verdict(h.grows < 1.5, f"kelev took {ratio(h.grows)} as long for {h.bytes_ratio:.0f}x the bytes"),
        ],
    ]
    if "cargo-registry" in h.sizes:
        kr, _, cr = hash_medians(h, "cargo-registry")
        files = h.files["cargo-registry"]
        rows.append([f"content hash, cargo registry ({files:,} files)", secs(kr), f"read every byte {secs(cr)}", f"{ratio(cr / kr)} faster", "-", "reported"])
    return rows


def hash_table(h):
    rows = []
    for size in h.sizes:
        k, sha, cat = hash_medians(h, size)
        files = h.files[size]
        timings = [timing(h.runs[size][n]) for n in HASH_COMMANDS]
        rows.append([f"`{size}`", f"{files:,}", mb(h.bytes[size]), *timings, ratio(cat / k), ratio(sha / k), f"{k / files * 1e9:,.0f} ns"])
    header = ["repo", "files", "bytes", *HASH_COMMANDS, "vs read every byte", "vs sha256sum", "kelev per file"]
    return table(header, rows)


def hash_text(h):
    p = h.prof
    out = {
        "hash_crates": h.crates,
        "hash_table": hash_table(h),
        "hash_speedup": ratio(h.speedup),
        "hash_bytes_ratio": f"{h.bytes_ratio:.0f}",
        "hash_grows": ratio(h.grows),
        "hash_reader_grows": ratio(h.cat10big / h.cat10),
        "hash_met": h.speedup >= HASH_SPEEDUP,
        "hash_profiled": bool(p),
    }
    if p:
        sha1 = p.self_ir("sha1_compression_states") + p.self_ir("ubc_check")
        out.update(
            hash_init_ir=mir(p.ir("git_libgit2_init")),
            hash_total_ir=mir(p.total),
            hash_ir_per_entry=f"{p.total / h.files['100k']:,.0f}",
            hash_top_inclusive=p.top(True, 12),
            hash_top_self=p.top(False, 10),
            hash_sha1_self_share=f"{100 * sha1 / p.total:.0f}",
        )
    return out


# --- 2. deploy of an unchanged commit, agent side ---------------------------------------------------


def read_unchanged(r):
    g = "unchanged"
    return SimpleNamespace(
        dep=r.bench(g, "deploy (unchanged, commit given)"),
        fetch_dep=r.bench(g, "deploy (unchanged, tip of ref: fetches)"),
        ver=r.bench(g, "kelev-agent version"),
        nca_dep=r.bench(g, "deploy (unchanged), CA bundle not parsed"),
        nca_ver=r.bench(g, "kelev-agent version, CA bundle not parsed"),
        trace=Trace(r, "deploy-unchanged"),
        prof=Profile(r, "deploy-unchanged"),
        prof_version=Profile(r, "version"),
    )


def unchanged_summary(u, world):
    dep_ms = u.dep["median"] * 1000
    return [
        f"`deploy` of an unchanged commit, agent side ({world.projects} projects)",
        secs(u.dep["median"]),
        f"`kelev-agent version` {secs(u.ver['median'])}",
        f"+{secs(u.dep['median'] - u.ver['median'])}",
        f"<= {UNCHANGED_MS:.0f} ms",
        verdict(dep_ms <= UNCHANGED_MS, f"by {dep_ms - UNCHANGED_MS:.0f} ms", dep_ms, UNCHANGED_MS),
    ]


def unchanged_table(u):
    rows = [
        ["`deploy bench-p01 <commit>` (unchanged; the CI call)", u.dep],
        ["`deploy bench-p01` (unchanged; fetches the tip of `main` first)", u.fetch_dep],
        ["`version` (baseline)", u.ver],
        ["experiment: `deploy bench-p01 <commit>` with the CA bundle not parsed", u.nca_dep],
        ["experiment: `version` with the CA bundle not parsed", u.nca_ver],
    ]
    rows = [[what, timing(x), f"{secs(x['user'])} / {secs(x['system'])}"] for what, x in rows]
    return table(["command", "median ± σ", "user / system CPU"], rows)


def unchanged_text(u):
    p, dep_ms = u.prof, u.dep["median"] * 1000
    miss = f"{secs(u.dep['median'])}, {dep_ms - UNCHANGED_MS:.0f} ms over"
    out = {
        "unchanged_table": unchanged_table(u),
        "unchanged_verdict": verdict(dep_ms <= UNCHANGED_MS, miss, dep_ms, UNCHANGED_MS),
        "unchanged_trace": trace_table(u.trace),
        "unchanged_deploy": secs(u.dep["median"]),
        "unchanged_deploy_no_ca": secs(u.nca_dep["median"]),
        "unchanged_docker_calls": secs(took(u.trace, "docker ps", "docker inspect")),
        "unchanged_profiled": bool(p),
    }
    if p:
        ca, ossl = p.ir("SSL_CTX_set_default_verify_paths"), p.ir("git_openssl_stream_global_init")
        out.update(
            unchanged_total_ir=mir(p.total),
            version_total_ir=mir(u.prof_version.total),
            unchanged_openssl_ir=mir(ossl),
            unchanged_openssl_share=f"{100 * ossl / p.total:.0f}",
            unchanged_ca_ir=mir(ca),
            unchanged_ca_share=f"{100 * ca / p.total:.0f}",
            unchanged_rest_ir=mir(p.total - ossl),
            unchanged_top_inclusive=p.top(True, 14),
        )
    return out


# --- 3. the same through sshd -------------------------------------------------------------------------


def read_ssh(r):
    g = "ssh"
    s = SimpleNamespace(
        dep=r.bench(g, "ssh deploy (unchanged)"),
        ver=r.bench(g, "ssh version"),
        true=r.bench(g, "ssh true (command=/bin/true key)"),
    )
    s.extra_ms = (s.dep["median"] - s.true["median"]) * 1000
    return s


def ssh_summary(s):
    return [
        "the same through sshd",
        secs(s.dep["median"]),
        f"`ssh host true` {secs(s.true['median'])}; `ssh host version` {secs(s.ver['median'])}",
        f"+{s.extra_ms:.0f} ms",
        f"<= baseline + {SSH_EXTRA_MS:.0f} ms",
        verdict(s.extra_ms <= SSH_EXTRA_MS, f"by {s.extra_ms - SSH_EXTRA_MS:.0f} ms", s.extra_ms, SSH_EXTRA_MS),
    ]


def ssh_text(s):
    rows = [
        ["ssh ... deploy bench-p01 <commit>", s.dep],
        ["ssh ... version", s.ver],
        ['ssh ... true (key with command="/bin/true")', s.true],
    ]
    return {
        "ssh_table": table(["command", "median ± σ"], [[f"`{what}`", timing(x)] for what, x in rows]),
        "ssh_verdict": verdict(s.extra_ms <= SSH_EXTRA_MS, f"+{s.extra_ms:.0f} ms", s.extra_ms, SSH_EXTRA_MS),
        "ssh_over_version_ms": f"{(s.dep['median'] - s.ver['median']) * 1000:.0f}",
    }


# --- 4. deploy --force ----------------------------------------------------------------------------------

STREAMED = ("docker compose build", "docker compose up")  # a recreate: `up --build`


def read_force(r):
    deploy, compose = "deploy --force", "docker compose up -d --build"
    overridden = "docker compose up -d --build, with the override"
    f = SimpleNamespace(
        warm=r.bench("force-warm", deploy),
        warm_compose=r.bench("force-warm", compose),
        warm_override=r.bench_or_none("force-warm", overridden),
        cold=r.bench("force-cold", deploy),
        cold_compose=r.bench("force-cold", compose),
        cold_override=r.bench_or_none("force-cold", overridden),
        settle=r.bench("force-settle", "deploy --force (settle_secs 3)"),
        trace=Trace(r, "deploy-force"),
    )
    f.warm_ratio = f.warm["median"] / f.warm_compose["median"]
    f.cold_ratio = f.cold["median"] / f.cold_compose["median"]
    return f


def force_summary(f):
    rows = []
    for figure, d, c, x, limit in (
        ("`deploy --force` of a fixture, containers up", f.warm, f.warm_compose, f.warm_ratio, FORCE_RATIO),
        ("`deploy --force`, containers created anew", f.cold, f.cold_compose, f.cold_ratio, CREATE_RATIO),
    ):
        rows.append(
            [
                figure,
                secs(d["median"]),
                f"`docker compose up -d --build` {secs(c['median'])}",
                ratio(x),
                f"ratio <= {limit}",
                verdict(x <= limit, f"{ratio(x)}, +{secs(d['median'] - c['median'])}"),
            ]
        )
    return rows


def with_override(d, o):
    """The override column: its time and deploy --force's ratio to it, or "-" unmeasured."""
    if o is None:
        return ["-", "-"]
    return [timing(o), ratio(d["median"] / o["median"])]


def force_table(f):
    rows = [
        ["nothing changed: build cached, containers already up", timing(f.warm), timing(f.warm_compose), ratio(f.warm_ratio), *with_override(f.warm, f.warm_override)],
        ["containers removed before each run (`--prepare 'docker compose -p ... down'`)", timing(f.cold), timing(f.cold_compose), ratio(f.cold_ratio), *with_override(f.cold, f.cold_override)],
        ["as the first row, with the default `settle_secs` (3)", timing(f.settle), timing(f.warm_compose), ratio(f.settle["median"] / f.warm_compose["median"]), "-", "-"],
    ]
    header = ["case", "deploy --force", "compose up -d --build", "ratio", "the same with the agent's override", "ratio to it"]
    return table(header, rows)


def force_text(f):
    t = f.trace
    met = f.warm_ratio <= FORCE_RATIO and f.cold_ratio <= CREATE_RATIO
    out = {
        "force_table": force_table(f),
        "force_verdict": verdict(met, f"{ratio(f.warm_ratio)} with the containers up, {ratio(f.cold_ratio)} when they are created"),
        "force_trace": trace_table(t),
        "force_waits": secs(idle(t, *STREAMED)),
        "force_extra_ms": f"{(f.warm['median'] - f.warm_compose['median']) * 1000:.0f}",
        "force_up": secs(took(t, "docker compose up")),
        "force_prune": secs(took(t, "docker images", "docker image prune")),
        "force_health": secs(took(t, "docker ps", "docker inspect")),
        "force_traced": bool(t),
    }
    if t:
        out.update(
            force_trace_wall=secs(t.wall),
            force_build_up=secs(took(t, *STREAMED)),
            force_kelev_only=secs(sum(x for name, x, _, _ in t.rows if name not in STREAMED)),
            force_trace_start=secs(t.start),
        )
    return out


# --- 5. fetch of one commit from a long history -----------------------------------------------------------

FETCH_CLIENTS = (("kelev-agent clone", "agent"), ("git clone", "clone"), ("git clone --depth 1", "depth1"))


def read_fetch(r):
    transports = [t for t in ("http", "file") if r.has(f"fetch-{t}")]
    return SimpleNamespace(
        transports=transports,
        runs={t: {key: r.bench(f"fetch-{t}", name) for name, key in FETCH_CLIENTS} for t in transports},
        pack_bytes={t: {key: int(r.value(f"fetch.{t}.{key}.pack_bytes")) for _, key in FETCH_CLIENTS} for t in transports},
        objects={t: {key: int(r.value(f"fetch.{t}.{key}.objects")) for _, key in FETCH_CLIENTS} for t in transports},
        remote_pack_bytes=int(r.value("fetch.remote_pack_bytes")),
        prof=Profile(r, "clone-history"),
    )


def fetch_vs_depth1(fe):
    return fe.runs["http"]["agent"]["median"] / fe.runs["http"]["depth1"]["median"]


def fetch_summary(fe, world):
    http, packs, fr = fe.runs["http"], fe.pack_bytes["http"], fetch_vs_depth1(fe)
    return [
        f"fetch of one commit, {world.remote_objects}-object history (smart HTTP)",
        f"{secs(http['agent']['median'])}, {mb(packs['agent'])}",
        f"`git clone` {secs(http['clone']['median'])}, {mb(packs['clone'])}; `--depth 1` {secs(http['depth1']['median'])}, {mb(packs['depth1'])}",
        f"{ratio(fr)} of `--depth 1`",
        "no slower than `--depth 1`",
        verdict(fr <= 1.0, f"{ratio(fr)} the time, {ratio(packs['agent'] / packs['depth1'])} the bytes"),
    ]


def fetch_table(fe):
    rows = [
        [t, f"`{name}`", timing(fe.runs[t][key]), mb(fe.pack_bytes[t][key]), f"{fe.objects[t][key]:,}"]
        for t in fe.transports
        for name, key in FETCH_CLIENTS
    ]
    return table(["transport", "command", "median ± σ", "pack received", "objects"], rows)


def fetch_text(fe):
    http, file, p = fe.runs["http"], fe.runs["file"], fe.prof
    out = {
        "fetch_remote_pack": mb(fe.remote_pack_bytes),
        "fetch_table": fetch_table(fe),
        "fetch_verdict": verdict(fetch_vs_depth1(fe) <= 1.0, f"{ratio(fetch_vs_depth1(fe))} its time over HTTP"),
        "fetch_vs_clone": ratio(http["agent"]["median"] / http["clone"]["median"]),
        "fetch_file_vs_clone": ratio(file["agent"]["median"] / file["clone"]["median"]),
        "fetch_agent_pack": mb(fe.pack_bytes["http"]["agent"]),
        "fetch_depth1_pack": mb(fe.pack_bytes["http"]["depth1"]),
        "fetch_profiled": bool(p),
    }
    if p:
        sha1 = p.ir("sha1_process")
        out.update(
            fetch_total_ir=mir(p.total),
            fetch_sha1_ir=mir(sha1),
            fetch_sha1_share=f"{100 * sha1 / p.total:.0f}",
            fetch_top_inclusive=p.top(True, 12),
        )
    return out


# --- 6. status ---------------------------------------------------------------------------------------------


def read_status(r):
    g = "status"
    s = SimpleNamespace(
        status=r.bench(g, "status"),
        json=r.bench(g, "status --json"),
        no_ca=r.bench(g, "status, CA bundle not parsed"),
        compose_ls=r.bench(g, "docker compose ls"),
        compose_containers=r.value("status.compose_containers"),
        compose_projects=r.value("status.compose_projects"),
        trace=Trace(r, "status"),
        prof=Profile(r, "status"),
    )
    s.ratio = s.status["median"] / s.compose_ls["median"]
    return s


def status_summary(s, world):
    return [
        f"`status` with {world.projects} projects",
        secs(s.status["median"]),
        f"`docker compose ls` {secs(s.compose_ls['median'])}",
        ratio(s.ratio),
        f"<= {STATUS_RATIO}x",
        verdict(s.ratio <= STATUS_RATIO, ratio(s.ratio), s.ratio, STATUS_RATIO),
    ]


def status_text(s):
    rows = [
        ["`status`", s.status],
        ["`status --json`", s.json],
        ["`docker compose ls`", s.compose_ls],
        ["experiment: `status` with the CA bundle not parsed", s.no_ca],
    ]
    out = {
        "status_compose_containers": s.compose_containers,
        "status_compose_projects": s.compose_projects,
        "status_table": table(["command", "median ± σ"], [[what, timing(x)] for what, x in rows]),
        "status_verdict": verdict(s.ratio <= STATUS_RATIO, ratio(s.ratio), s.ratio, STATUS_RATIO),
        "status_trace": trace_table(s.trace),
        "status_profiled": bool(s.prof),
    }
    if s.prof:
        out.update(
            status_total_ir=mir(s.prof.total),
            status_openssl_share=f"{100 * s.prof.share('git_openssl_stream_global_init'):.0f}",
        )
    return out


# --- 7. peak RSS of the agent, and massif -------------------------------------------------------------------


def read_rss(r, world):
    """(what was run, peakrss.py's figures) of each rss-*.json there is."""
    runs = []
    for name, what in (
        ("deploy-new", "`deploy bench-p02` of a new commit (fetch, checkout, build, start)"),
        ("deploy-unchanged", "`deploy bench-p01 <commit>` (unchanged)"),
        ("deploy-force", "`deploy bench-p01 <commit> --force`"),
        ("clone-history", f"`clone bench-history` ({world.remote_objects} objects over HTTP)"),
        ("status", "`status`"),
        ("rebuild-all", f"`rebuild-all` ({world.rebuild_projects} projects)"),
    ):
        x = r.json(f"rss-{name}.json")
        if x:
            runs.append((what, x))
    return runs


def agent_mb(x):
    return x["agent_peak_kb"] * 1024 / 1e6


def rss_peak(runs):
    return max([0] + [agent_mb(x) for _, x in runs])


def rss_summary(runs):
    peak = rss_peak(runs)
    return [
        "peak RSS of the agent during a deploy",
        f"{peak:.1f} MB (largest of {len(runs)} runs)",
        "-",
        "-",
        f"<= {RSS_MB:.0f} MB",
        verdict(peak <= RSS_MB, f"{peak:.1f} MB"),
    ]


def rss_text(runs):
    peak = rss_peak(runs)
    rows = [[what, f"{agent_mb(x):.1f} MB", f"{x['tree_peak_kb'] * 1024 / 1e6:.1f} MB", secs(x["wall_s"])] for what, x in runs]
    return {
        "rss_table": table(["run", "agent (VmHWM)", "largest in its tree (time -v)", "wall"], rows),
        "rss_verdict": verdict(peak <= RSS_MB, f"{peak:.1f} MB"),
        # From the figures as the table shows them, so that the prose agrees with the table.
        "rss_floor_mb": f"{min(float(row[1].split()[0]) for row in rows):.0f}",
    }


def massif_text(got):
    """`got` is massif_peak's answer for the HTTP clone, None when massif did not run."""
    if not got:
        return {"massif_measured": False}
    total, sites = got
    rows = [
        [f"{share:.0f}%", mb(n), f"`{function}`", " <- ".join(f"`{c}`" for c in chain)]
        for share, n, function, chain in sites
        if share >= 1.0 and " places, all below " not in function
    ][:6]
    return {
        "massif_measured": True,
        "massif_peak": mb(total),
        "massif_table": table(["share", "bytes", "allocated in", "called from"], rows),
    }


# --- 8. rebuild-all --------------------------------------------------------------------------------------------


def read_rebuild(r):
    g = "rebuild-all"
    par_name = next(n for n in r.commands(g) if "xargs" in n)
    return SimpleNamespace(
        all=r.bench(g, "rebuild-all"),
        seq=r.bench(g, "rebuild, one at a time"),
        par_name=par_name,
        par=r.bench(g, par_name),
        trace=Trace(r, "rebuild"),
    )


def rebuild_summary(b, world):
    return [
        f"`rebuild-all` of {world.rebuild_projects} projects",
        secs(b.all["median"]),
        f"one at a time {secs(b.seq['median'])}; {b.par_name.split(', ')[1]} {secs(b.par['median'])}",
        f"{ratio(b.all['median'] / b.seq['median'])} of one at a time",
        "report the ratio",
        "reported",
    ]


def rebuild_text(b):
    runs = (("rebuild-all", b.all), ("rebuild, one at a time", b.seq), (b.par_name, b.par))
    rows = [[f"`{name}`", timing(x), ratio(x["median"] / b.seq["median"])] for name, x in runs]
    return {
        "rebuild_table": table(["command", "median ± σ", "vs one at a time"], rows),
        "rebuild_vs_sequential": ratio(b.all["median"] / b.seq["median"]),
        "rebuild_parallel_speedup": ratio(b.seq["median"] / b.par["median"]),
        "rebuild_waits": secs(idle(b.trace, *STREAMED)) if b.trace else "?",
        "rebuild_trace": trace_table(b.trace),
    }


# --- the report ------------------------------------------------------------------------------------------------


def report(r):
    """The summary rows, and the values of the template, for the results `r`."""
    world = read_world(r)
    h, u, s, f = read_hash(r), read_unchanged(r), read_ssh(r), read_force(r)
    fe, st, rss, b = read_fetch(r), read_status(r), read_rss(r, world), read_rebuild(r)
    summary = [
        *hash_summary(h),
        unchanged_summary(u, world),
        ssh_summary(s),
        *force_summary(f),
        fetch_summary(fe, world),
        status_summary(st, world),
        rss_summary(rss),
        rebuild_summary(b, world),
    ]
    values = merged(
        target_text(),
        world_text(world),
        {"machine_table": machine_table(r.values)},
        summary_text(summary),
        hash_text(h),
        unchanged_text(u),
        ssh_text(s),
        force_text(f),
        fetch_text(fe),
        status_text(st),
        rss_text(rss),
        massif_text(massif_peak(r, "clone-history")),
        rebuild_text(b),
    )
    return summary, values


def main(argv):
    if len(argv) != 3:
        sys.exit(__doc__)
    summary, values = report(Results(argv[1]))
    with open(TEMPLATE) as f:
        doc = fill(f.read(), values)
    if os.path.exists(HISTORY):
        with open(HISTORY) as f:
            doc += "\n" + f.read()
    with open(argv[2], "w") as f:
        f.write(doc)
    print(plain(SUMMARY_HEADER, [[c.replace("**", "").replace("`", "") for c in row] for row in summary]))
    print(f"\nwrote {argv[2]}")


if __name__ == "__main__":
    main(sys.argv)

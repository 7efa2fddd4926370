#!/usr/bin/env python3
"""ingest-cpu.py: `mailtrail ingest` against `psql \\copy` of the same rows,
repeated and interleaved, with the CPU time of the PostgreSQL backend and of
the client next to the wall time (docs/performance.md, "Ingest"; the measurements behind the design: docs/performance-history.md).

What: a warm-up ingest (not timed) finds the log's days and exports the
rows it loaded; then for each round, (1) a fresh database (migrated, the
log's day partitions premade, CHECKPOINT) loaded by `mailtrail ingest
--quiet` as a restricted ingest agent given `*` (or --user); (2) a second
fresh database, prepared alike, loaded with `psql \\copy` (text format,
into the parents) of the exported rows. Wall time from start to exit; client CPU from wait4; backend
CPU by polling /proc/PID/stat of the session's backend(s) every 20 ms (the
last reading before the backend exits, so up to 20 ms is missed). Prints
every run and the medians.

Usage: scripts/bench.d/ingest-cpu.py --log FILE --year YYYY [--rounds 5]
       [--batch-lines 50000] [--user postgres] [--bin .build/release/mailtrail]
The PostgreSQL server must run on this machine (it reads /proc); it uses the
PG* environment, else `scripts/pg-local env`. Creates the databases
mtcpu_ingest, mtcpu_copy and the role mtcpu_agent (roles prefix mtcpu) and
drops them at the end.
Limits: a shared machine's load moves the wall times; the CPU times move
much less. The log must fall inside the retention window (90 days).
"""
import argparse
import os
import statistics
import subprocess
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--log", required=True)
    ap.add_argument("--year", required=True)
    ap.add_argument("--format", default="postfix")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--batch-lines", type=int, default=50000)
    ap.add_argument("--user", help="load as this role instead of a restricted ingest agent")
    ap.add_argument("--bin", default=os.path.join(ROOT, ".build", "release", "mailtrail"))
    args = ap.parse_args()

    env = dict(os.environ)
    if not env.get("PGHOST") and not env.get("PGPORT"):
        out = subprocess.run([os.path.join(ROOT, "scripts", "pg-local"), "env"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("export "):
                k, v = line[7:].split("=", 1)
                env[k] = v.strip("'\"")
    tick = os.sysconf("SC_CLK_TCK")

    def psql(db, sql):
        return subprocess.run(["psql", "-X", "-qAt", "-v", "ON_ERROR_STOP=1", "-d", db, "-c", sql], env=env,
                              capture_output=True, text=True, check=True).stdout.strip()

    span = []

    def fresh(db):
        psql("postgres", "DROP DATABASE IF EXISTS %s" % db)
        psql("postgres", "CREATE DATABASE %s" % db)
        subprocess.run([args.bin, "db", "migrate", "--db", "dbname=" + db, "--roles-prefix", "mtcpu"], env=env,
                       capture_output=True, check=True)
        if span:
            psql(db, "SELECT count(*) FROM mailtrail.ensure_day_partitions('%s', '%s')" % tuple(span))

    def backend_cpu(pid):
        try:
            fields = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            return None

    def timed(cmd, db, user):
        seen = {}
        stop = threading.Event()

        def watch():
            while not stop.is_set():
                try:
                    pids = psql("postgres", "SELECT pid FROM pg_stat_activity WHERE datname = '%s' AND usename = '%s'"
                                % (db, user)).split()
                except subprocess.CalledProcessError:
                    pids = []
                for p in pids:
                    c = backend_cpu(int(p))
                    if c is not None:
                        seen[int(p)] = c
                time.sleep(0.02)
        w = threading.Thread(target=watch)
        w.start()
        t = time.perf_counter()
        p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t
        stop.set()
        w.join()
        if status != 0:
            raise SystemExit("failed: %s\n%s" % (" ".join(cmd), p.stderr.read().decode(errors="replace")))
        return wall, sum(seen.values()), ru.ru_utime + ru.ru_stime

    agent = "mtcpu_agent"
    user = args.user or agent
    work = tempfile.mkdtemp(prefix="mtcpu-")
    tables = ["messages", "deliveries", "rejections", "unparsed_lines"]
    results = {"ingest": [], "copy": []}
    ingest = [args.bin, "ingest", "--quiet", "--batch-lines", str(args.batch_lines), "--db",
              "dbname=mtcpu_ingest user=%s" % user, "--year", args.year, "--timezone", "UTC", "--format",
              args.format, args.log]

    def prepare_ingest():
        fresh("mtcpu_ingest")
        if not args.user:
            subprocess.run([args.bin, "db", "grant-agent", "--db", "dbname=mtcpu_ingest", "--role", agent,
                            "--hosts", "*"], env=env, capture_output=True, check=True)
        psql("mtcpu_ingest", "CHECKPOINT")

    try:
        if not args.user:
            psql("postgres", "DO $$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '%s') THEN "
                             "CREATE ROLE %s LOGIN; END IF; END$$" % (agent, agent))
        # Warm-up: the log's days (partitions of the days that got rows) and the rows for \copy.
        prepare_ingest()
        subprocess.run(ingest, env=env, capture_output=True, check=True)
        span += psql("mtcpu_ingest", "SELECT min(d), max(d) FROM (SELECT to_date(right(c.relname, 8), 'YYYYMMDD') AS d "
                                     "FROM pg_class c JOIN pg_inherits i ON i.inhrelid = c.oid "
                                     "WHERE i.inhparent = 'mailtrail.messages'::regclass) x").split("|")
        script = os.path.join(work, "copy.sql")
        with open(script, "w") as f:
            for t in tables:
                data = os.path.join(work, t + ".tsv")
                psql("mtcpu_ingest", "\\copy (SELECT * FROM mailtrail.%s) TO '%s'" % (t, data))
                f.write("\\copy mailtrail.%s FROM '%s'\n" % (t, data))
        for r in range(args.rounds):
            prepare_ingest()
            results["ingest"].append(timed(ingest, "mtcpu_ingest", user))
            fresh("mtcpu_copy")
            psql("mtcpu_copy", "CHECKPOINT")
            results["copy"].append(timed(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", "mtcpu_copy", "-f", script],
                                         "mtcpu_copy", env.get("PGUSER") or os.environ.get("USER", "postgres")))
            for name in ("ingest", "copy"):
                wall, backend, client = results[name][-1]
                print("%-6s wall %6.2f s  backend CPU %5.2f s  client CPU %5.2f s  load %s"
                      % (name, wall, backend, client, open("/proc/loadavg").read().split()[0]), flush=True)
        med = {k: [statistics.median(x[j] for x in v) for j in range(3)] for k, v in results.items()}
        print("medians: ingest wall %.2f s, backend %.2f s, client %.2f s | \\copy wall %.2f s, backend %.2f s, "
              "client %.2f s | ratio (\\copy / ingest): wall %.2fx, backend CPU %.2fx"
              % tuple(med["ingest"] + med["copy"] + [med["copy"][0] / med["ingest"][0], med["copy"][1] / med["ingest"][1]]))
    finally:
        for db in ("mtcpu_ingest", "mtcpu_copy"):
            subprocess.run(["psql", "-X", "-q", "-d", "postgres", "-c", "DROP DATABASE IF EXISTS %s" % db], env=env,
                           capture_output=True)
        for role in [agent] + ["mtcpu_%s" % s for s in ("owner", "maintenance", "ingest", "reader")]:
            subprocess.run(["psql", "-X", "-q", "-d", "postgres", "-c", "DROP ROLE IF EXISTS %s" % role], env=env,
                           capture_output=True)
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()

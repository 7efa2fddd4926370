#!/usr/bin/env python3
# deliver.py: the lab's final delivery agent (Postfix pipe, Sendmail local
# mailer, Exim pipe transport all call it).
#
# Contract: `deliver.py MAILROOT [ADDRESS [DOMAIN]]` (ADDRESS defaults to
# $LOCAL_PART@$DOMAIN; DOMAIN replaces the address's domain) reads one message on stdin and stores
# it as MAILROOT/<address>/<time>.<pid>.eml; a user whose name starts with
# "unknown" does not exist: it exits 67 (EX_NOUSER) so the MTA bounces the
# message and a DSN goes back to the sender. Limits: no locking beyond a
# unique file name; the lab only.
import os, sys, time

def main():
    # Exim passes the (tainted) address in the environment, not argv;
    # Sendmail's local mailer knows only the user ($u) and passes its domain
    root = sys.argv[1]
    addr = (sys.argv[2] if len(sys.argv) > 2 else
            os.environ.get("LOCAL_PART", "") + "@" + os.environ.get("DOMAIN", "")).lower()
    if len(sys.argv) > 3:
        addr = addr.split("@")[0] + "@" + sys.argv[3].lower()
    user = addr.split("@")[0]
    data = sys.stdin.buffer.read()
    if user.startswith("unknown"):
        sys.stderr.write("lab: no such user: %s\n" % user)
        return 67
    d = os.path.join(root, addr.replace("/", "_"))
    os.makedirs(d, exist_ok=True)
    name = "%d.%d.eml" % (time.time_ns(), os.getpid())
    tmp = os.path.join(d, "." + name)
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, os.path.join(d, name))
    return 0

if __name__ == "__main__":
    sys.exit(main())

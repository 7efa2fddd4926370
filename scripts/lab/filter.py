#!/usr/bin/env python3
# filter.py: the lab's content filter for the second Postfix instance.
#
# Contract: `filter.py LISTEN_IP LISTEN_PORT REINJECT_IP REINJECT_PORT
# PIDFILE` speaks just enough SMTP (EHLO/HELO, XFORWARD, MAIL, RCPT, DATA,
# RSET, NOOP, QUIT) to take a message from Postfix's content_filter, adds an
# X-Lab-Filter header and re-injects it with smtplib into the instance's
# second smtpd; its DATA reply carries the downstream reply like amavisd's
# ("250 2.0.0 Ok, id=..., from MTA(...): 250 2.0.0 Ok: queued as X"), so
# the log has the re-injection link. Limits: one connection at a time per
# thread, no pipelining, no TLS (loopback hop), lab use only.
import os, smtplib, socketserver, sys

LISTEN_IP, LISTEN_PORT, RE_IP, RE_PORT, PIDFILE = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]

class Handler(socketserver.StreamRequestHandler):
    def say(self, line):
        self.wfile.write((line + "\r\n").encode())
        self.wfile.flush()

    def handle(self):
        self.say("220 filter.lab ESMTP lab content filter")
        sender, rcpts = None, []
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            verb = line.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                self.say("250-filter.lab\r\n250-XFORWARD NAME ADDR PROTO HELO\r\n250 8BITMIME")
            elif verb == "XFORWARD" or verb == "NOOP":
                self.say("250 2.0.0 Ok")
            elif verb == "MAIL":
                sender = line[10:].strip().split(" ")[0].strip("<>")
                rcpts = []
                self.say("250 2.1.0 Ok")
            elif verb == "RCPT":
                rcpts.append(line[8:].strip().split(" ")[0].strip("<>"))
                self.say("250 2.1.5 Ok")
            elif verb == "DATA":
                self.say("354 End data with <CR><LF>.<CR><LF>")
                body = []
                while True:
                    l = self.rfile.readline()
                    if not l or l in (b".\r\n", b".\n"):
                        break
                    if l.startswith(b".."):
                        l = l[1:]
                    body.append(l)
                msg = b"X-Lab-Filter: scanned\r\n" + b"".join(body)
                try:
                    with smtplib.SMTP(RE_IP, RE_PORT, local_hostname="filter.lab", timeout=60) as s:
                        s.ehlo("filter.lab")
                        s.mail(sender or "")
                        for r in rcpts:
                            s.rcpt(r)
                        code, resp = s.data(msg)
                    reply = resp.decode("utf-8", "replace").replace("\r", " ").replace("\n", " ")
                    if 200 <= code < 300:
                        self.say("250 2.0.0 Ok, id=lab, from MTA([%s]:%d): %d %s" % (RE_IP, RE_PORT, code, reply))
                    else:
                        self.say("%d %s" % (code, reply))
                except Exception as e:
                    self.say("451 4.3.0 lab filter: re-injection failed: %s" % str(e).replace("\n", " ")[:200])
                sender, rcpts = None, []
            elif verb == "RSET":
                sender, rcpts = None, []
                self.say("250 2.0.0 Ok")
            elif verb == "QUIT":
                self.say("221 2.0.0 Bye")
                return
            else:
                self.say("502 5.5.2 Error: command not recognized")

class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True

if __name__ == "__main__":
    srv = Server((LISTEN_IP, LISTEN_PORT), Handler)
    with open(PIDFILE, "w") as f:
        f.write("%d\n" % os.getpid())
    srv.serve_forever()

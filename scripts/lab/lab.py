#!/usr/bin/env python3
# lab.py: the real-MTA lab behind scripts/mta-lab (issue 7).
#
# What it does: installs Postfix, Sendmail, Exim and rsyslog from Debian's
# packages into a private prefix (.lab/prefix, `apt-get download` +
# `dpkg -x`, nothing installed system-wide), runs five mail hosts side by
# side, each on its own loopback address, port 25, with its own hostname,
# config, spool and log, STARTTLS between hops with a lab CA:
#
#   mx1.lab    127.0.0.11  Postfix, logs to maillog_file      client.lab local
#   relay2.lab 127.0.0.12  Postfix + content filter loop      (:10024 -> :10025)
#                          (scripts/lab/filter.py), maillog_file
#   sm3.lab    127.0.0.13  Sendmail, syslog -> private rsyslogd  c.lab local
#   ex4.lab    127.0.0.14  Exim, its own mainlog              a.lab, b.lab local
#   ex5.lab    127.0.0.15  Exim, syslog -> private rsyslogd   d.lab local
#
# Routes are static (transport maps, mailertable, manualroute); no DNS.
# Sendmail and ex5 log through syslog(3): each runs in its own mount
# namespace whose /dev is a tmpfs holding the needed device nodes and a
# /dev/log bound to the private rsyslogd's socket (the host's /dev is not
# touched). Scenarios are injected with smtplib into mx1; the ground truth
# (Message-IDs we set, the queue ID in mx1's DATA reply, the mailboxes each
# copy landed in with their Received: queue IDs, the DSNs) is written to
# run/truth.jsonl without reading any log. `check` ingests each host's log
# with the built mailtrail binary into a throwaway database and compares
# every trace with the truth.
#
# Contract: every process it starts is recorded by PID and stopped by PID;
# every listener is on 127.0.0.1x. Must run as root (port 25, namespaces).
# Limits: Linux only; needs unshare(1) with mount namespaces; the Exim
# hosts are traced only once mailtrail has an Exim parser.
import json, os, random, re, shutil, signal, smtplib, socket, subprocess, sys, time
from email.utils import make_msgid, formatdate

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LAB = os.environ.get("MTA_LAB_DIR", os.path.join(ROOT, ".lab"))
PREFIX = os.path.join(LAB, "prefix")
RUN = os.path.join(LAB, "run")
HERE = os.path.dirname(os.path.abspath(__file__))
PY = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
DELIVER = os.path.join(HERE, "deliver.py")
FILTER = os.path.join(HERE, "filter.py")
PACKAGES = ["postfix", "sendmail-bin", "sendmail-base", "sendmail-cf", "m4",
            "exim4-daemon-light", "exim4-base", "rsyslog", "libidn12", "libestr0",
            "libfastjson4", "liblognorm5", "libwrap0", "liblockfile1", "libmilter1.0.1"]
LIBDIRS = [os.path.join(PREFIX, "usr/lib/postfix"), os.path.join(PREFIX, "usr/lib/x86_64-linux-gnu")]

HOSTS = {
    "mx1.lab": "127.0.0.11", "relay2.lab": "127.0.0.12", "sm3.lab": "127.0.0.13",
    "ex4.lab": "127.0.0.14", "ex5.lab": "127.0.0.15",
}
# Where each domain's mail goes from each host (the lab's static routing).
FINAL = {"client.lab": "mx1.lab", "a.lab": "ex4.lab", "b.lab": "ex4.lab",
         "c.lab": "sm3.lab", "d.lab": "ex5.lab"}

def log(*a):
    print("mta-lab:", *a, file=sys.stderr, flush=True)

def sh(cmd, check=True, env=None, **kw):
    e = dict(os.environ)
    e["LD_LIBRARY_PATH"] = ":".join(LIBDIRS)
    if env:
        e.update(env)
    r = subprocess.run(cmd, shell=isinstance(cmd, str), env=e, text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kw)
    if check and r.returncode != 0:
        raise SystemExit("mta-lab: command failed (%d): %s\n%s" % (r.returncode, cmd, r.stdout))
    return r.stdout

def write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)

# ---------------------------------------------------------------- install

def install():
    marker = os.path.join(PREFIX, ".installed")
    if os.path.exists(marker) and open(marker).read().strip() == " ".join(PACKAGES):
        return
    dl = os.path.join(LAB, "debs")
    os.makedirs(dl, exist_ok=True)
    if shutil.which("unshare") is None or shutil.which("openssl") is None:
        sh("apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq util-linux openssl")
    log("downloading", " ".join(PACKAGES))
    r = subprocess.run(["apt-get", "download"] + PACKAGES, cwd=dl, text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        sh("apt-get update -qq")
        sh(["apt-get", "download"] + PACKAGES, cwd=dl)
    shutil.rmtree(PREFIX, ignore_errors=True)
    os.makedirs(PREFIX)
    for p in PACKAGES:
        debs = sorted(f for f in os.listdir(dl) if f.startswith(p + "_") and f.endswith(".deb"))
        if not debs:
            raise SystemExit("mta-lab: package %s was not downloaded" % p)
        sh(["dpkg", "-x", os.path.join(dl, debs[-1]), PREFIX])
    # No set-id programs in the private prefix: the lab runs them as root
    # itself, and a set-id binary would ignore LD_LIBRARY_PATH.
    sh(["find", PREFIX, "-type", "f", "-perm", "/6000", "-exec", "chmod", "ug-s", "{}", "+"])
    write(marker, " ".join(PACKAGES) + "\n")

def ensure_users():
    def group(g):
        if subprocess.run(["getent", "group", g], stdout=subprocess.DEVNULL).returncode != 0:
            sh(["groupadd", "--system", g])
    def user(u, g):
        if subprocess.run(["getent", "passwd", u], stdout=subprocess.DEVNULL).returncode != 0:
            group(g)
            sh(["useradd", "--system", "-g", g, "-d", "/nonexistent", "-s", "/usr/sbin/nologin", u])
    user("postfix", "postfix"); group("postdrop"); user("smmsp", "smmsp"); user("Debian-exim", "Debian-exim")

# ---------------------------------------------------------------- TLS

def make_ca():
    d = os.path.join(RUN, "tls")
    if os.path.exists(os.path.join(d, "lab.crt")):
        return
    os.makedirs(d, exist_ok=True)
    san = ",".join(["DNS:" + h for h in HOSTS] + ["IP:" + ip for ip in HOSTS.values()])
    sh("openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj '/CN=mailtrail lab CA' "
       "-keyout ca.key -out ca.crt", cwd=d)
    write(os.path.join(d, "ext.cnf"), "subjectAltName=%s\nbasicConstraints=CA:FALSE\n" % san)
    sh("openssl req -newkey rsa:2048 -nodes -subj '/CN=lab' -keyout lab.key -out lab.csr", cwd=d)
    sh("openssl x509 -req -in lab.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 "
       "-extfile ext.cnf -out lab.crt", cwd=d)
    os.chmod(d, 0o755)
    for f in os.listdir(d):
        os.chmod(os.path.join(d, f), 0o644)
    # Exim reads its key as Debian-exim; Sendmail refuses a world-readable key
    for f in ("lab.key", "ca.key"):
        shutil.chown(os.path.join(d, f), "root", "Debian-exim")
        os.chmod(os.path.join(d, f), 0o640)

# ---------------------------------------------------------------- configs

def mailroot(host):
    return os.path.join(RUN, "mail", host)

def postfix_conf(name, ip, mydest, transport, master_extra, smtpd_opts="", main_extra=""):
    base = os.path.join(RUN, name)
    etc, spool = os.path.join(base, "etc"), os.path.join(base, "spool")
    for d in (etc, spool, os.path.join(base, "data"), os.path.join(base, "log")):
        os.makedirs(d, exist_ok=True)
    shutil.chown(os.path.join(base, "data"), "postfix", "postfix")
    tls = os.path.join(RUN, "tls")
    write(os.path.join(etc, "main.cf"), f"""# {name}: generated by scripts/lab/lab.py
compatibility_level = 3.6
myhostname = {name}
mydomain = lab
myorigin = $myhostname
mydestination = {mydest}
inet_interfaces = all
inet_protocols = ipv4
smtp_bind_address = {ip}
mynetworks = 127.0.0.0/8
relay_domains = a.lab b.lab c.lab d.lab client.lab
queue_directory = {spool}
data_directory = {base}/data
daemon_directory = {PREFIX}/usr/lib/postfix/sbin
command_directory = {PREFIX}/usr/sbin
shlib_directory = {PREFIX}/usr/lib/postfix
meta_directory = {PREFIX}/etc/postfix
mail_owner = postfix
setgid_group = postdrop
maillog_file = {base}/log/maillog
maillog_file_prefixes = {base}/log
import_environment = MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C LD_LIBRARY_PATH
smtp_dns_support_level = disabled
smtp_host_lookup = native
smtpd_peername_lookup = no
transport_maps = texthash:{etc}/transport
local_transport = labdeliver
labdeliver_destination_recipient_limit = 1
alias_maps =
alias_database =
local_recipient_maps =
smtpd_recipient_restrictions = check_recipient_access texthash:{etc}/access, permit_mynetworks, reject_unauth_destination
smtpd_tls_cert_file = {tls}/lab.crt
smtpd_tls_key_file = {tls}/lab.key
smtpd_tls_security_level = may
smtpd_tls_loglevel = 1
smtp_tls_security_level = encrypt
smtp_tls_CAfile = {tls}/ca.crt
smtp_tls_loglevel = 1
smtp_connect_timeout = 5s
minimal_backoff_time = 10s
maximal_backoff_time = 20s
queue_run_delay = 10s
delay_warning_time = 0
biff = no
{main_extra}
""")
    write(os.path.join(etc, "transport"), transport)
    write(os.path.join(etc, "access"), "rejected@a.lab REJECT lab policy: recipient refused\n")
    write(os.path.join(etc, "master.cf"), f"""# {name}: generated by scripts/lab/lab.py
{ip}:25   inet  n - n - - smtpd{smtpd_opts}
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
tlsmgr    unix  - - n 1000? 1 tlsmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
proxywrite unix - - n - 1 proxymap
smtp      unix  - - n - - smtp
relay     unix  - - n - - smtp
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
local     unix  - n n - - local
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
labdeliver unix - n n - - pipe flags=DRhu user=nobody argv={PY} {DELIVER} {mailroot(name)} ${{recipient}}
{master_extra}
""")

def sendmail_conf():
    name, ip = "sm3.lab", HOSTS["sm3.lab"]
    base = os.path.join(RUN, name)
    for d in ("mqueue", "etc"):
        os.makedirs(os.path.join(base, d), exist_ok=True)
    os.chmod(os.path.join(base, "mqueue"), 0o700)
    etc, tls = os.path.join(base, "etc"), os.path.join(RUN, "tls")
    write(os.path.join(etc, "service.switch"), "hosts files\naliases files\n")
    # the machine's own name too: Sendmail qualifies it before reading $j and
    # would sleep a minute when it is unknown
    write(os.path.join(etc, "hosts"), "127.0.0.1 %s.lab %s localhost\n" % (socket.gethostname(), socket.gethostname()) + "".join("%s %s %s\n" % (ip_, h, h.split(".")[0]) for h, ip_ in HOSTS.items()))
    write(os.path.join(etc, "mailertable"),
          "a.lab=esmtp:[127.0.0.14]\nb.lab=esmtp:[127.0.0.14]\nd.lab=esmtp:[127.0.0.15]\nclient.lab=esmtp:[127.0.0.11]\n")
    write(os.path.join(etc, "aliases"), "postmaster: root\nMAILER-DAEMON: postmaster\n")
    cf = os.path.join(PREFIX, "usr/share/sendmail/cf")
    write(os.path.join(etc, "sendmail.mc"), f"""divert(-1)
# sm3.lab: generated by scripts/lab/lab.py
divert(0)dnl
include(`{cf}/m4/cf.m4')dnl
VERSIONID(`mailtrail lab')dnl
OSTYPE(`linux')dnl
define(`confDOMAIN_NAME', `{name}')dnl
define(`QUEUE_DIR', `{base}/mqueue')dnl
define(`STATUS_FILE', `{base}/statistics')dnl
define(`ALIAS_FILE', `{etc}/aliases')dnl
define(`confPID_FILE', `{base}/sendmail.pid')dnl
define(`confSERVICE_SWITCH_FILE', `{etc}/service.switch')dnl
define(`confHOSTS_FILE', `{etc}/hosts')dnl
define(`confDONT_PROBE_INTERFACES', `True')dnl
define(`confDONT_BLAME_SENDMAIL', `GroupReadableKeyFile,WorldWritableAliasFile,GroupWritableDirPathSafe,ForwardFileInUnsafeDirPath,TrustStickyBit')dnl
define(`confCACERT_PATH', `{tls}')dnl
define(`confCACERT', `{tls}/ca.crt')dnl
define(`confSERVER_CERT', `{tls}/lab.crt')dnl
define(`confSERVER_KEY', `{tls}/lab.key')dnl
define(`confCLIENT_CERT', `{tls}/lab.crt')dnl
define(`confCLIENT_KEY', `{tls}/lab.key')dnl
define(`confTO_IDENT', `0')dnl
define(`confBIND_OPTS', `-DNSRCH -DEFNAMES')dnl
define(`confMIN_QUEUE_AGE', `0')dnl
dnl The lab shares two cores with builds: Sendmail's default load limits
dnl (refuse at 12 per CPU) stalled the chain, so they are off here
define(`confREFUSE_LA', `1000')dnl
define(`confQUEUE_LA', `1000')dnl
define(`confDELAY_LA', `0')dnl
define(`confTO_HOSTSTATUS', `5s')dnl
define(`LOCAL_MAILER_PATH', `{PY}')dnl
define(`LOCAL_MAILER_ARGS', `python3 {DELIVER} {mailroot(name)} $u c.lab')dnl
FEATURE(`nocanonify')dnl
FEATURE(`no_default_msa')dnl
FEATURE(`promiscuous_relay')dnl
FEATURE(`accept_unresolvable_domains')dnl
FEATURE(`mailertable', `text -k0 -v1 -z= {etc}/mailertable')dnl
LOCAL_DOMAIN(`c.lab')dnl
DAEMON_OPTIONS(`Family=inet, Name=MTA, Addr={ip}, Port=25')dnl
CLIENT_OPTIONS(`Family=inet, Addr={ip}')dnl
MODIFY_MAILER_FLAGS(`LOCAL', `-wf')dnl
MAILER(`local')dnl
MAILER(`smtp')dnl
""")
    r = subprocess.run([os.path.join(PREFIX, "usr/bin/m4"), os.path.join(etc, "sendmail.mc")],
                       text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        raise SystemExit("mta-lab: m4 failed on sendmail.mc:\n" + r.stderr)
    write(os.path.join(etc, "sendmail.cf"), r.stdout)

def exim_conf(name, domains, routes, logmode):
    ip = HOSTS[name]
    base = os.path.join(RUN, name)
    for d in ("spool", "log"):
        os.makedirs(os.path.join(base, d), exist_ok=True)
        shutil.chown(os.path.join(base, d), "Debian-exim", "Debian-exim")
    tls = os.path.join(RUN, "tls")
    logline = (f"log_file_path = {base}/log/%slog" if logmode == "file" else
               "log_file_path = syslog\nsyslog_duplication = false\nsyslog_timestamp = false\nsyslog_processname = exim")
    write(os.path.join(base, "exim.conf"), f"""# {name}: generated by scripts/lab/lab.py
primary_hostname = {name}
exim_path = {PREFIX}/usr/sbin/exim4
keep_environment = LD_LIBRARY_PATH
domainlist local_domains = {" : ".join(domains)}
hostlist relay_from_hosts = 127.0.0.0/8
local_interfaces = <; {ip}.25
daemon_smtp_ports = 25
spool_directory = {base}/spool
{logline}
log_selector = +smtp_confirmation +queue_time +deliver_time +received_recipients +tls_peerdn +subject +sender_on_delivery
exim_user = Debian-exim
exim_group = Debian-exim
never_users =
host_lookup =
rfc1413_hosts =
tls_certificate = {tls}/lab.crt
tls_privatekey = {tls}/lab.key
tls_advertise_hosts = *
acl_smtp_rcpt = acl_check_rcpt
acl_smtp_data = acl_check_data
received_header_text = Received: ${{if def:sender_rcvhost {{from $sender_rcvhost\\n\\t}}{{${{if def:sender_ident {{from ${{quote_local_part:$sender_ident}} }}}}${{if def:sender_helo_name {{(helo=$sender_helo_name)\\n\\t}}}}}}}}by $primary_hostname ${{if def:received_protocol {{with $received_protocol }}}}(Exim $version_number)\\n\\tid $message_exim_id${{if def:received_for {{\\n\\tfor $received_for}}}}
timeout_frozen_after = 1h
ignore_bounce_errors_after = 1h

begin acl
acl_check_rcpt:
  accept hosts = +relay_from_hosts
  deny message = relay not permitted
acl_check_data:
  accept

begin routers
remote:
  driver = manualroute
  domains = ! +local_domains
  route_list = {" ; ".join(routes)}
  transport = remote_smtp
  self = send
  no_more
local_user:
  driver = accept
  domains = +local_domains
  transport = lab_deliver

begin transports
remote_smtp:
  driver = smtp
  interface = {ip}
  hosts_require_tls = *
  tls_verify_certificates = {tls}/ca.crt
  tls_verify_hosts =
  tls_try_verify_hosts = *
lab_deliver:
  driver = pipe
  command = {PY} {DELIVER} {mailroot(name)}
  user = Debian-exim
  group = Debian-exim
  return_fail_output = true
  log_fail_output = true
  temp_errors = 75

begin retry
*  *  F,1h,10s

begin rewrite
""")

def rsyslog_conf():
    base = os.path.join(RUN, "rsyslog")
    os.makedirs(base, exist_ok=True)
    inputs = []
    for host in ("sm3.lab", "ex5.lab"):
        short = host.split(".")[0]
        logf = os.path.join(RUN, host, "log", "maillog")
        os.makedirs(os.path.dirname(logf), exist_ok=True)
        inputs.append(f"""
template(name="fmt_{short}" type="string" string="%timegenerated:::date-rfc3339% {short} %syslogtag%%msg:::sp-if-no-1st-sp%%msg:::drop-last-lf%\\n")
ruleset(name="rs_{short}") {{ action(type="omfile" file="{logf}" template="fmt_{short}") }}
input(type="imuxsock" socket="{base}/{short}.sock" ruleset="rs_{short}" createPath="on" useSysTimeStamp="off")
""")
    write(os.path.join(base, "rsyslog.conf"), f"""# private rsyslogd of the lab: generated by scripts/lab/lab.py
global(workDirectory="{base}" localHostname="labsyslog")
module(load="imuxsock" sysSock.use="off")
""" + "".join(inputs))

def configure():
    os.makedirs(RUN, exist_ok=True)
    os.chmod(LAB, 0o755)
    os.chmod(RUN, 0o755)
    make_ca()
    for h in HOSTS:
        os.makedirs(mailroot(h), exist_ok=True)
        os.chmod(mailroot(h), 0o1777)
    os.chmod(os.path.join(RUN, "mail"), 0o755)
    tls_none = ""
    postfix_conf("mx1.lab", HOSTS["mx1.lab"], "client.lab",
                 "a.lab smtp:[127.0.0.12]:25\nb.lab smtp:[127.0.0.14]:25\nc.lab smtp:[127.0.0.13]:25\n"
                 "d.lab smtp:[127.0.0.15]:25\n", "")
    postfix_conf("relay2.lab", HOSTS["relay2.lab"], "",
                 "a.lab smtp:[127.0.0.13]:25\nb.lab smtp:[127.0.0.14]:25\nc.lab smtp:[127.0.0.13]:25\n"
                 "d.lab smtp:[127.0.0.15]:25\nclient.lab smtp:[127.0.0.11]:25\n",
                 f"""scan      unix  - - n - 4 smtp -o smtp_send_xforward_command=yes -o smtp_tls_security_level=none
127.0.0.12:10025 inet n - n - - smtpd -o content_filter= -o smtpd_tls_security_level=none -o receive_override_options=no_unknown_recipient_checks,no_header_body_checks -o smtpd_authorized_xforward_hosts=127.0.0.0/8 -o smtpd_recipient_restrictions=permit_mynetworks,reject
""", smtpd_opts=" -o content_filter=scan:[127.0.0.12]:10024")
    sendmail_conf()
    exim_conf("ex4.lab", ["a.lab", "b.lab"], ["client.lab 127.0.0.11", "c.lab 127.0.0.13", "d.lab 127.0.0.15"], "file")
    exim_conf("ex5.lab", ["d.lab"], ["client.lab 127.0.0.11", "* 127.0.0.11"], "syslog")
    rsyslog_conf()

# ---------------------------------------------------------------- processes

PIDS = os.path.join(RUN, "pids")

def pidfile(host):
    return {
        "mx1.lab": os.path.join(RUN, "mx1.lab/spool/pid/master.pid"),
        "relay2.lab": os.path.join(RUN, "relay2.lab/spool/pid/master.pid"),
        "sm3.lab": os.path.join(RUN, "sm3.lab/sendmail.pid"),
        "ex4.lab": os.path.join(RUN, "ex4.lab/exim.pid"),
        "ex5.lab": os.path.join(RUN, "ex5.lab/exim.pid"),
        "filter": os.path.join(RUN, "filter.pid"),
        "rsyslog": os.path.join(RUN, "rsyslog/rsyslogd.pid"),
    }[host]

def read_pid(host):
    try:
        return int(open(pidfile(host)).read().split()[0])
    except (OSError, ValueError, IndexError):
        return None

def alive(pid):
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    # a zombie or a reused PID of another program is not ours
    try:
        return open("/proc/%d/stat" % pid).read().split(") ")[1][0] != "Z"
    except OSError:
        return False

def wait_port(ip, port, what, secs=20):
    end = time.time() + secs
    while time.time() < end:
        try:
            with socket.create_connection((ip, port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("mta-lab: %s does not listen on %s:%d" % (what, ip, port))

def wait_pid(host, secs=20):
    end = time.time() + secs
    while time.time() < end:
        p = read_pid(host)
        if alive(p):
            return p
        time.sleep(0.2)
    raise SystemExit("mta-lab: %s did not start (no live PID in %s)" % (host, pidfile(host)))

def in_namespace(sock, argv, hosts=None):
    """argv run in a private mount namespace whose /dev/log is `sock` (and
    whose /etc/hosts is `hosts`, when given)."""
    stage = os.path.join(RUN, "ns-dev")
    os.makedirs(stage, exist_ok=True)
    script = ("set -e; mount --make-rprivate /; mount --rbind /dev %(s)s; mount -t tmpfs labdev /dev; "
              "for d in null zero random urandom full tty; do touch /dev/$d; mount --bind %(s)s/$d /dev/$d; done; "
              "touch /dev/log; mount --bind %(sock)s /dev/log; umount -l %(s)s; %(h)sexec \"$@\"") % {
                  "s": stage, "sock": sock, "h": ("mount --bind %s /etc/hosts; " % hosts) if hosts else ""}
    return ["unshare", "-m", "sh", "-c", script, "lab-ns"] + argv

def start_one(host):
    if alive(read_pid(host)):
        return
    env = {}
    if host == "rsyslog":
        base = os.path.join(RUN, "rsyslog")
        sh([os.path.join(PREFIX, "usr/sbin/rsyslogd"), "-f", os.path.join(base, "rsyslog.conf"),
            "-i", pidfile(host), "-M", os.path.join(PREFIX, "usr/lib/x86_64-linux-gnu/rsyslog")])
        wait_pid(host)
        for s in ("sm3", "ex5"):
            end = time.time() + 10
            while not os.path.exists(os.path.join(base, s + ".sock")) and time.time() < end:
                time.sleep(0.1)
    elif host == "filter":
        subprocess.Popen([PY, FILTER, "127.0.0.12", "10024", "127.0.0.12", "10025", pidfile(host)],
                         stdout=open(os.path.join(RUN, "filter.log"), "a"), stderr=subprocess.STDOUT,
                         start_new_session=True)
        wait_pid(host)
        wait_port("127.0.0.12", 10024, "filter")
    elif host in ("mx1.lab", "relay2.lab"):
        etc = os.path.join(RUN, host, "etc")
        sh([os.path.join(PREFIX, "usr/sbin/postfix"), "-c", etc, "set-permissions"], check=False)
        sh(["script", "-qec", "%s -c %s start" % (os.path.join(PREFIX, "usr/sbin/postfix"), etc), "/dev/null"])
        wait_pid(host)
        wait_port(HOSTS[host], 25, host)
    elif host == "sm3.lab":
        base = os.path.join(RUN, host)
        sh(in_namespace(os.path.join(RUN, "rsyslog/sm3.sock"),
                        [os.path.join(PREFIX, "usr/libexec/sendmail/sendmail"), "-L", "sm-mta",
                         "-C", os.path.join(base, "etc/sendmail.cf"), "-bd", "-q10s"],
                        # Sendmail qualifies the machine's name before it reads
                        # its config and sleeps a minute when it cannot
                        hosts=os.path.join(base, "etc/hosts")))
        wait_pid(host)
        wait_port(HOSTS[host], 25, host)
    elif host in ("ex4.lab", "ex5.lab"):
        base = os.path.join(RUN, host)
        argv = [os.path.join(PREFIX, "usr/sbin/exim4"), "-C", os.path.join(base, "exim.conf"),
                "-bd", "-q10s", "-oP", pidfile(host)]
        if host == "ex5.lab":
            argv = in_namespace(os.path.join(RUN, "rsyslog/ex5.sock"), argv)
        sh(argv)
        wait_pid(host)
        wait_port(HOSTS[host], 25, host)
    log("started", host, "pid", read_pid(host))

ORDER = ["rsyslog", "filter", "ex5.lab", "ex4.lab", "sm3.lab", "relay2.lab", "mx1.lab"]

def stop_one(host):
    pid = read_pid(host)
    if not alive(pid):
        return
    os.kill(pid, signal.SIGTERM)
    end = time.time() + 15
    while alive(pid) and time.time() < end:
        time.sleep(0.2)
    if alive(pid):
        os.kill(pid, signal.SIGKILL)
    log("stopped", host, "pid", pid)

def start_all():
    for h in ORDER:
        start_one(h)

def stop_all():
    for h in reversed(ORDER):
        stop_one(h)
    # Postfix children exit with their master; anything left that we started
    # and still holds a lab port is a bug worth reporting, not killing blindly.

LAB_PORTS = {25, 465, 587, 10024, 10025}

def check_listeners():
    """Fails when a mail port listens outside 127.0.0.0/8 (read from
    /proc/net/tcp{,6}, so it needs no ss/netstat)."""
    bad = []
    for fn in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = open(fn).read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            f = row.split()
            if len(f) < 4 or f[3] != "0A":  # LISTEN
                continue
            addr, port = f[1].split(":")
            port = int(port, 16)
            if port not in LAB_PORTS:
                continue
            if len(addr) == 8:
                first = int(addr[6:8], 16)  # little-endian IPv4: first octet last
                if first == 127:
                    continue
            elif addr.endswith("01000000") and addr.startswith("0" * 24):
                continue  # ::1
            bad.append("%s port %d" % (f[1], port))
    if bad:
        raise SystemExit("mta-lab: a mail port listens outside loopback: " + ", ".join(bad))

def main(argv):
    # timeout(1) or Ctrl-C: unwind so the `finally` of a run stops the hosts
    def _term(signum, frame):
        raise SystemExit("mta-lab: stopped by signal %d" % signum)
    signal.signal(signal.SIGTERM, _term)
    signal.signal(signal.SIGINT, _term)
    cmd = argv[0] if argv else "help"
    if cmd == "install":
        install(); ensure_users()
    elif cmd == "start":
        install(); ensure_users(); configure(); start_all(); check_listeners()
    elif cmd == "stop":
        stop_all()
    elif cmd in ("run", "check"):
        sys.path.insert(0, HERE)
        import scenarios
        return scenarios.main(cmd, argv[1:])
    else:
        print("usage: mta-lab install|start|stop|run [--quick]|check [--quick]", file=sys.stderr)
        return 2
    return 0

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

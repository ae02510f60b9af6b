"""A TCP port on 127.0.0.1 that looks blocked, as a firewall that drops
packets makes it: it listens with a backlog of 0 and fills the accept queue
itself, so the kernel drops further SYNs and a client's connect() times out.

blackhole.py PORTFILE: write the port to PORTFILE, then wait 60 s at most
(the test stops it by PID).
"""
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(0)
port = s.getsockname()[1]
fill = []
for i in range(3):
    c = socket.socket(); c.setblocking(False)
    try: c.connect(("127.0.0.1", port))
    except BlockingIOError: pass
    fill.append(c)
time.sleep(0.3)
open(sys.argv[1], "w").write(str(port))
time.sleep(60)

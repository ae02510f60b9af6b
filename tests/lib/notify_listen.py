"""A stand-in for systemd's notification socket (sd_notify(3)).

notify_listen.py SOCKET OUT: bind an AF_UNIX datagram socket at SOCKET
(a path, or "@name" for the abstract namespace), append each datagram
received to OUT as one JSON line {"t": monotonic, "msg": text}, and exit
after 120 s at most (the test stops it by PID long before).
"""
import json
import os
import socket
import sys
import time

path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + path[1:] if path.startswith("@") else path)
if not path.startswith("@"):
    os.chmod(path, 0o666)  # relayd may have dropped to the relay user
open(out + ".ready", "w").close()
end = time.monotonic() + 120
while time.monotonic() < end:
    s.settimeout(max(0.1, end - time.monotonic()))
    try:
        data = s.recv(4096)
    except socket.timeout:
        break
    with open(out, "a") as f:
        f.write(json.dumps({"t": time.monotonic(), "msg": data.decode("utf-8", "replace")}) + "\n")

#!/usr/bin/env python3
"""UDP relay that drops and delays, standing in for `tc netem` where the kernel lacks
sch_netem. Datagrams from the client side (LISTEN) go to TARGET with probability 1-LOSS after
DELAY_MS; the target's answers go back to the last client address unimpaired (like netem on
one interface's egress).

usage: lossy_relay.py LISTEN_ADDR LISTEN_PORT TARGET_ADDR TARGET_PORT LOSS DELAY_MS SECONDS"""
import heapq, random, select, socket, sys, time

la, lp, ta, tp = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
loss, delay, seconds = float(sys.argv[5]), float(sys.argv[6]) / 1000.0, float(sys.argv[7])
front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
front.bind((la, lp))
back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
back.connect((ta, tp))
client = None
queue, seq = [], 0
fwd = dropped = 0
end = time.monotonic() + seconds
while time.monotonic() < end:
    now = time.monotonic()
    while queue and queue[0][0] <= now:
        _, _, d = heapq.heappop(queue)
        back.send(d)
        fwd += 1
    timeout = min(0.05, max(0.0, queue[0][0] - now)) if queue else 0.05
    r, _, _ = select.select([front, back], [], [], timeout)
    if front in r:
        d, client = front.recvfrom(65535)
        if random.random() < loss:
            dropped += 1
        else:
            seq += 1
            heapq.heappush(queue, (time.monotonic() + delay, seq, d))
    if back in r:
        try:
            d = back.recv(65535)
            if client:
                front.sendto(d, client)
        except ConnectionRefusedError:
            pass
print(f"forwarded={fwd} dropped={dropped}")

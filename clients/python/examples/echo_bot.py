#!/usr/bin/env python3
"""echo_bot.py: logs in and answers every message with the same text.

    PYTHONPATH=clients/python:build/clients/python \\
        /usr/bin/python3 clients/python/examples/echo_bot.py --port 7700 --uid echo

Each message is acknowledged once its answer is stored by the server (the
loop asks for the next message only after ``await client.send`` returned),
so a bot killed in between answers it again after its restart, never
loses one. Stops cleanly (LOGOUT) on SIGINT or SIGTERM.
"""
import argparse
import asyncio
import signal
import sys

import imgate


async def main() -> int:
    parser = argparse.ArgumentParser(description="imgate echo bot")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7700)
    parser.add_argument("--uid", default="echo")
    parser.add_argument("--token", default="")
    parser.add_argument("--ca-file", help="TLS: trust this CA (PEM); connect to the TLS port")
    args = parser.parse_args()

    client = imgate.Client(args.host, args.port, args.uid, token=args.token, ca_file=args.ca_file)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: asyncio.ensure_future(client.close()))

    session = await client.start()
    print(f"{args.uid}: logged in, session {session.session_id}", flush=True)
    try:
        async for message in client:
            if message.transient or message.carbon or message.from_uid == args.uid:
                continue
            if message.group_id:
                await client.send_to_group(message.group_id, message.payload)
            else:
                await client.send(message.from_uid, message.payload)
            print(f"{args.uid}: echoed {message.msg_id} to {message.from_uid}", flush=True)
    except imgate.ImgateError as e:
        if e.status_name == "CLOSED":  # close() while an answer was in flight: it goes at the next start
            return 0
        print(f"{args.uid}: ended: {e}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

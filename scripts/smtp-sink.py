#!/usr/bin/env python3
"""A real SMTP server on loopback that keeps what it receives, for the e-mail tests.

It runs aiosmtpd (pip install aiosmtpd==1.4.6). The bound port is the first line on stdout,
so the caller can ask for port 0 and read which one it got. Each accepted message is written
as one `.eml` file (the bytes exactly as received) into the output directory, first under a
hidden temporary name and then renamed, so a reader never sees half a file. Beside it, written
before it, a `.json` file holds the envelope and the message as Python's e-mail library decodes
it (`mail_from`, `rcpt_tos`, `headers` as [name, decoded value] pairs, `body` as text), so a test
can check encoded words and transfer encodings against an independent decoder.

    scripts/smtp-sink.py --dir /tmp/mails [--port 0] [--refuse nobody@example.no]
                         [--fail-first 1] [--tls-cert cert.pem --tls-key key.pem]
                         [--exit-on-stdin-eof]

--refuse ADDRESS    answer 550 to RCPT TO for this address (repeatable)
--fail-first N      answer 451 to the DATA of the first N messages
--tls-cert/--tls-key  offer STARTTLS with this certificate, and require it before MAIL
--exit-on-stdin-eof exit when stdin closes (the parent died or let go of it)
"""

import argparse
import asyncio
import email
import email.policy
import json
import os
import signal
import ssl
import sys
import threading
import time
import uuid

from aiosmtpd.smtp import SMTP


class Sink:
    def __init__(self, directory, refuse, fail_first):
        self.directory = directory
        self.refuse = {address.lower() for address in refuse}
        self.fail_remaining = fail_first

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refuse:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.fail_remaining > 0:
            self.fail_remaining -= 1
            return "451 4.3.0 Try again later"
        stem = "%020d-%s" % (time.time_ns(), uuid.uuid4().hex)
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        decoded = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "headers": [[name, str(value)] for name, value in message.items()],
            "body": None if message.is_multipart() else message.get_content(),
        }
        self.write(stem + ".json", json.dumps(decoded, ensure_ascii=False).encode("utf-8"))
        self.write(stem + ".eml", envelope.original_content)
        return "250 OK"

    def write(self, name, content):
        temporary = os.path.join(self.directory, "." + name + ".tmp")
        with open(temporary, "wb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        os.rename(temporary, os.path.join(self.directory, name))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", required=True, help="where the .eml files go")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--refuse", action="append", default=[])
    parser.add_argument("--fail-first", type=int, default=0)
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--exit-on-stdin-eof", action="store_true")
    args = parser.parse_args()

    os.makedirs(args.dir, exist_ok=True)
    tls_context = None
    if args.tls_cert or args.tls_key:
        if not (args.tls_cert and args.tls_key):
            parser.error("--tls-cert and --tls-key go together")
        tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls_context.load_cert_chain(args.tls_cert, args.tls_key)

    handler = Sink(args.dir, args.refuse, args.fail_first)

    def factory():
        return SMTP(
            handler,
            hostname="localhost",
            tls_context=tls_context,
            require_starttls=tls_context is not None,
        )

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    server = loop.run_until_complete(loop.create_server(factory, host=args.host, port=args.port))
    port = server.sockets[0].getsockname()[1]
    print(port, flush=True)

    for signal_number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signal_number, loop.stop)
    if args.exit_on_stdin_eof:

        def watch_stdin():
            sys.stdin.buffer.read()
            loop.call_soon_threadsafe(loop.stop)

        threading.Thread(target=watch_stdin, daemon=True).start()

    try:
        loop.run_forever()
    finally:
        server.close()


if __name__ == "__main__":
    main()

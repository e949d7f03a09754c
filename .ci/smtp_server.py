"""A throw-away SMTP server for the mail tests (started by .ci/services.sh).

    python3 .ci/smtp_server.py PORT DIR

Listens on 127.0.0.1:PORT with aiosmtpd and requires STARTTLS before
MAIL FROM. Its certificate is made at start with the openssl CLI: a CA
(DIR/ca.pem, what a client trusts) and a server certificate it signs for
IP:127.0.0.1 and DNS:localhost (rustls refuses a self-signed certificate
that is its own CA as a server's). Each message delivered is written
whole, as received, to the Maildir DIR/maildir (a file in new/), with the
envelope in X-Envelope-From / X-Envelope-To headers in front. Stops on
SIGTERM or SIGINT.
"""

import asyncio
import mailbox
import os
import signal
import ssl
import subprocess
import sys

from aiosmtpd.controller import Controller

SERVER_EXTENSIONS = """\
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
"""


def make_certificates(folder):
    """DIR/ca.pem (the root to trust) and DIR/server.{pem,key} it signs."""

    def openssl(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    ca_key, ca = os.path.join(folder, "ca.key"), os.path.join(folder, "ca.pem")
    key, csr = os.path.join(folder, "server.key"), os.path.join(folder, "server.csr")
    cert, ext = os.path.join(folder, "server.pem"), os.path.join(folder, "server.ext")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", ca_key, "-out", ca, "-days", "2", "-subj", "/CN=Pictor test SMTP CA")
    openssl("req", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=localhost")
    with open(ext, "w") as f:
        f.write(SERVER_EXTENSIONS)
    openssl(
        "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
        "-out", cert, "-days", "2", "-extfile", ext,
    )
    return cert, key


class MaildirHandler:
    def __init__(self, folder):
        self.maildir = mailbox.Maildir(folder, create=True)

    async def handle_DATA(self, server, session, envelope):
        head = f"X-Envelope-From: {envelope.mail_from}\r\nX-Envelope-To: {', '.join(envelope.rcpt_tos)}\r\n"
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8")
        self.maildir.add(head.encode("ascii", "replace") + content)
        return "250 Message accepted for delivery"


def main():
    port, folder = int(sys.argv[1]), sys.argv[2]
    os.makedirs(folder, exist_ok=True)
    cert, key = make_certificates(folder)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    controller = Controller(
        MaildirHandler(os.path.join(folder, "maildir")),
        hostname="127.0.0.1",
        port=port,
        server_hostname="localhost",
        tls_context=context,
        require_starttls=True,
    )
    controller.start()
    print(f"SMTP with STARTTLS on 127.0.0.1:{port}, mail in {folder}/maildir/new", flush=True)
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        loop.run_until_complete(stop.wait())
    finally:
        controller.stop()


if __name__ == "__main__":
    main()

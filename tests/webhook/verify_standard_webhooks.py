"""Checks modelgate's webhook signatures with an independent verifier: the
`standardwebhooks` package from PyPI (Standard Webhooks 1.0). Run by
.ci/run with the modelgate binary:

    MODELGATE=target/debug/modelgate python tests/webhook/verify_standard_webhooks.py

It serves a receiver on 127.0.0.1, promotes a demo model whose config
sends it a signed webhook, and asks the library to verify what arrived: the
delivery verifies, and a tampered body, another secret or a stale timestamp
do not. Versions: requirements.txt beside this file.
"""

import http.server
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
received = []


class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        received.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def main():
    modelgate = os.environ["MODELGATE"]
    server = http.server.HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/hooks/modelgate"
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        subprocess.run([modelgate, "demo", "data", "--rows", "4000", "--out", "."], cwd=d, check=True,
                       capture_output=True)
        # Scores from a column: the file deployed is named on the command line.
        (d / "model.bin").write_bytes(b"weights")
        (d / "modelgate.yaml").write_text(
            "model: fraud\n"
            "holdout: { path: holdout.parquet, label: is_fraud, id: transaction_id }\n"
            "candidate: { scores: { column: score_candidate } }\n"
            f"promote:\n  webhooks:\n    - {{ url: \"{url}\", secret_env: HOOK_SECRET }}\n")
        env = {"PATH": os.environ.get("PATH", ""), "HOOK_SECRET": SECRET, "HOME": str(d)}
        subprocess.run([modelgate, "promote", "--config", "modelgate.yaml", "--model-file", "model.bin"], cwd=d,
                       check=True, env=env, capture_output=True)
    server.shutdown()
    assert len(received) == 1, received
    headers, body = received[0]

    payload = Webhook(SECRET).verify(body, headers)
    assert payload["event"] == "model-promoted" and payload["version"] == "v1.0.0", payload
    assert len(payload["decision"]["evidence_sha256"]) == 64, payload

    def refused(data, hdrs, secret=SECRET):
        try:
            Webhook(secret).verify(data, hdrs)
        except WebhookVerificationError:
            return True
        return False

    assert refused(body.replace(b"v1.0.0", b"v9.9.9"), headers), "a tampered body must not verify"
    assert refused(body, headers, "whsec_" + "QUJD" * 8), "another secret must not verify"
    stale = dict(headers, **{"webhook-timestamp": str(int(time.time()) - 3600)})
    assert refused(body, stale), "an hour-old timestamp is outside the replay window"
    print(f"standardwebhooks verified modelgate's delivery {headers['webhook-id']}")


if __name__ == "__main__":
    sys.exit(main())

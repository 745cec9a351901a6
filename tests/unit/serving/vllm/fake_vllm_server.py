"""A stand-in for vLLM's OpenAI server: the real one's arguments; behaviour from VLLM_FAKE_MODE.

serve: answers /health and streams /v1/completions (token ids = last prompt id + i), 404 for an
unknown model; exit: prints an import error and exits 3; hang: never listens. Every mode first
starts a child process (like vLLM's engine core) so tests can check that none is left behind.
"""

import json
import os
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def arg(name: str) -> str:
    return sys.argv[sys.argv.index(name) + 1]


def lora_names() -> set[str]:
    if "--lora-modules" not in sys.argv:
        return set()
    rest = sys.argv[sys.argv.index("--lora-modules") + 1 :]
    names = []
    for item in rest:
        if item.startswith("--"):
            break
        names.append(item.split("=")[0])
    return set(names)


MODE = os.environ.get("VLLM_FAKE_MODE", "serve")
MODELS = {arg("--served-model-name")} | lora_names()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    def do_GET(self):
        self.send_response(200 if self.path == "/health" else 404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if body["model"] not in MODELS:
            msg = json.dumps({"error": {"message": f"The model `{body['model']}` does not exist."}})
            data = msg.encode()
            self.send_response(404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        last = body["prompt"][-1]
        for i in range(body["max_tokens"]):
            event = {"choices": [{"index": 0, "text": "x", "token_ids": [last + i]}]}
            self._chunk(f"data: {json.dumps(event)}\n\n".encode())
            self.wfile.flush()
            time.sleep(0.002)
        usage = {"choices": [], "usage": {"completion_tokens": body["max_tokens"]}}
        self._chunk(f"data: {json.dumps(usage)}\n\n".encode())
        self._chunk(b"data: [DONE]\n\n")
        self._chunk(b"")


def main() -> None:
    print("fake vllm: loading weights", flush=True)
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])  # an engine core
    if MODE == "exit":
        print("fake vllm: ImportError: libfoo.so: cannot open shared object file", flush=True)
        sys.exit(3)
    if MODE == "hang":
        time.sleep(300)
    server = ThreadingHTTPServer((arg("--host"), int(arg("--port"))), Handler)
    print(f"fake vllm: serving {sorted(MODELS)}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()

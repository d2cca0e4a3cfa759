"""A small OpenAI-compatible chat server for tests: scripted failures, canned or echoed answers."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from knowledge.llm.openai_http import OpenAIChatBackend


class FakeChatServer:
    """A /v1/chat/completions server on 127.0.0.1:0; ``script`` lists what the next requests get.

    Script entries: "429" (Retry-After: 0), "500", "drop" (close without answering); when the
    script is empty the request is answered ``answer(last message)`` (default "echo: <last message>") with ``usage``, unless
    ``fail_after`` answers were already given (then 500 forever).
    """

    def __init__(self, script: list[str] | None = None, fail_after: int | None = None, usage: bool = True,
                 answer: Callable[[str], str] | None = None):
        self.script = list(script or [])
        self.answer = answer or (lambda prompt: f"echo: {prompt}")
        self.fail_after = fail_after
        self.usage = usage
        self.log: list[tuple[str, int]] = []  # (last message content, status; 0 = dropped)
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def answered(self) -> list[str]:
        return [prompt for prompt, status in self.log if status == 200]

    def _decide(self, prompt: str) -> str:
        with self.lock:
            action = self.script.pop(0) if self.script else "ok"
            if action == "ok" and self.fail_after is not None and len(self.answered()) >= self.fail_after:
                action = "500"
            self.log.append((prompt, {"ok": 200, "drop": 0}.get(action, int(action) if action.isdigit() else 0)))
            return action

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                prompt = body["messages"][-1]["content"]
                action = fake._decide(prompt)
                if action == "drop":
                    self.connection.close()
                    return
                if action != "ok":
                    self.send_response(int(action))
                    if action == "429":
                        self.send_header("Retry-After", "0")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                answer: dict = {"choices": [{"message": {"role": "assistant", "content": fake.answer(prompt)}}]}
                if fake.usage:
                    answer["usage"] = {"prompt_tokens": len(prompt.split()) + 5, "completion_tokens": 7}
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        return Handler

    def __enter__(self) -> FakeChatServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def http_backend(server: FakeChatServer, **overrides: object) -> OpenAIChatBackend:
    options = {"base_url": server.base_url, "model": "fake-model", "api_key": "sk-secret", "max_attempts": 4,
               "backoff_base": 0.01, "connect_timeout": 2.0, "read_timeout": 5.0, **overrides}
    return OpenAIChatBackend(**options)

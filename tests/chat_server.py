"""A small OpenAI-compatible server for tests and benches: chat completions with scripted failures, and
the Batch API (files, batches) with scripted outcomes. Every answer it gives is logged, so tests can
count what was paid for."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from knowledge.llm.openai_http import OpenAIChatBackend


class FakeChatServer:
    """A server on 127.0.0.1:0; ``script`` lists what the next chat requests get.

    Script entries: "429" (Retry-After: 0), "500", "drop" (close without answering); when the
    script is empty the request is answered ``answer(last message)`` (default "echo: <last message>") with ``usage``, unless
    ``fail_after`` answers were already given (then 500 forever). ``delay`` seconds pass before each chat answer.

    Batches: the ``batch_polls``-th GET of a batch ends it as ``batch_end`` ("completed", "expired": only the
    first ``batch_answer_limit`` requests answered, "failed": validation failed, nothing answered); a
    prompt in ``batch_fail`` gets an HTTP 500 result line instead of an answer.
    """

    def __init__(self, script: list[str] | None = None, fail_after: int | None = None, usage: bool = True,
                 answer: Callable[[str], str] | None = None, delay: float = 0.0, batch_polls: int = 2,
                 batch_end: str = "completed", batch_answer_limit: int | None = None, batch_fail: set[str] | None = None):
        self.script = list(script or [])
        self.answer = answer or (lambda prompt: f"echo: {prompt}")
        self.fail_after = fail_after
        self.usage = usage
        self.delay = delay
        self.batch_polls, self.batch_end, self.batch_answer_limit = batch_polls, batch_end, batch_answer_limit
        self.batch_fail = set(batch_fail or ())
        self.log: list[tuple[str, int]] = []  # (last message content, status; 0 = dropped), chat and batch
        self.in_flight = self.max_in_flight = 0
        self.files: dict[str, dict[str, Any]] = {}  # id -> the file object, with its "content" (bytes)
        self.batches: dict[str, dict[str, Any]] = {}
        self.calls: list[str] = []  # "POST /v1/files", "GET /v1/batches/batch_1", ... (batch routes)
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def answered(self) -> list[str]:
        return [prompt for prompt, status in self.log if status == 200]

    def count(self, call: str) -> int:
        """How many batch-route calls started with ``call`` (e.g. "POST /v1/batches")."""
        return sum(entry.startswith(call) for entry in self.calls)

    def _decide(self, prompt: str) -> str:
        with self.lock:
            action = self.script.pop(0) if self.script else "ok"
            if action == "ok" and self.fail_after is not None and len(self.answered()) >= self.fail_after:
                action = "500"
            self.log.append((prompt, {"ok": 200, "drop": 0}.get(action, int(action) if action.isdigit() else 0)))
            return action

    def completion(self, prompt: str) -> dict[str, Any]:
        body: dict[str, Any] = {"object": "chat.completion",
                                "choices": [{"message": {"role": "assistant", "content": self.answer(prompt)}}]}
        if self.usage:
            body["usage"] = {"prompt_tokens": len(prompt.split()) + 5, "completion_tokens": 7}
        return body

    # -- chat ------------------------------------------------------------------------------------
    def chat(self, body: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        prompt = body["messages"][-1]["content"]
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            time.sleep(self.delay)
            action = self._decide(prompt)
        finally:
            with self.lock:
                self.in_flight -= 1
        return (200, self.completion(prompt)) if action == "ok" else (0 if action == "drop" else int(action), None)

    # -- files and batches -----------------------------------------------------------------------
    def add_file(self, filename: str, purpose: str, content: bytes) -> dict[str, Any]:
        with self.lock:
            file = {"id": f"file-{len(self.files) + 1}", "object": "file", "bytes": len(content),
                    "created_at": int(time.time()), "filename": filename, "purpose": purpose}
            self.files[file["id"]] = {**file, "content": content}
        return file

    def create_batch(self, body: dict[str, Any]) -> dict[str, Any]:
        lines = self.files[body["input_file_id"]]["content"].decode().splitlines()
        with self.lock:
            batch = {"id": f"batch_{len(self.batches) + 1}", "object": "batch", "endpoint": body["endpoint"],
                     "input_file_id": body["input_file_id"], "completion_window": body["completion_window"],
                     "status": "validating", "output_file_id": None, "error_file_id": None, "errors": None,
                     "created_at": int(time.time()), "metadata": body.get("metadata") or {},
                     "request_counts": {"total": len(lines), "completed": 0, "failed": 0}, "polls": 0}
            self.batches[batch["id"]] = batch
        return batch

    def poll_batch(self, batch_id: str) -> dict[str, Any] | None:
        batch = self.batches.get(batch_id)
        if batch is None:
            return None
        batch["polls"] += 1
        if batch["status"] in ("validating", "in_progress"):
            batch["status"] = "in_progress"
            if batch["polls"] >= self.batch_polls:
                self._end_batch(batch)
        return batch

    def _end_batch(self, batch: dict[str, Any]) -> None:
        if self.batch_end == "failed":
            batch.update(status="failed", errors={"object": "list", "data": [{"code": "invalid_request",
                                                                             "message": "fake validation failure"}]})
            return
        output, errors = [], []
        for line in self.files[batch["input_file_id"]]["content"].decode().splitlines():
            request = json.loads(line)
            prompt = request["body"]["messages"][-1]["content"]
            result = {"id": f"req_{len(output) + len(errors)}", "custom_id": request["custom_id"], "error": None}
            if prompt in self.batch_fail:
                self.log.append((prompt, 500))
                errors.append(result | {"response": {"status_code": 500, "body": {"error": {"message": "fake failure"}}}})
            elif self.batch_end == "expired" and len(output) >= (self.batch_answer_limit or 0):
                errors.append(result | {"response": None, "error": {"code": "batch_expired",
                                                                    "message": "not run before the window ended"}})
            else:
                self.log.append((prompt, 200))
                output.append(result | {"response": {"status_code": 200, "body": self.completion(prompt)}})
        to_file = lambda rows, name: self.add_file(name, "batch_output", "".join(  # noqa: E731
            json.dumps(row) + "\n" for row in rows).encode())["id"] if rows else None
        batch.update(status="expired" if self.batch_end == "expired" else "completed",
                     output_file_id=to_file(output, f"{batch['id']}_output.jsonl"),
                     error_file_id=to_file(errors, f"{batch['id']}_errors.jsonl"),
                     request_counts={"total": len(output) + len(errors), "completed": len(output),
                                     "failed": len(errors)})

    def listing(self, entries: list[dict[str, Any]], query: dict[str, list[str]]) -> dict[str, Any]:
        """Newest first, ``limit`` per page after the id ``after``, as the OpenAI list routes page."""
        entries = [{k: v for k, v in e.items() if k not in ("content", "polls")} for e in reversed(entries)]
        if "after" in query:
            entries = entries[[e["id"] for e in entries].index(query["after"][0]) + 1:]
        limit = int(query.get("limit", ["20"])[0])
        return {"object": "list", "data": entries[:limit], "has_more": len(entries) > limit}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                data = self.rfile.read(int(self.headers["Content-Length"]))
                if self.path == "/v1/chat/completions":
                    status, body = fake.chat(json.loads(data))
                    if status == 0:
                        self.connection.close()
                        return
                    self.reply(status, body)
                    return
                fake.calls.append(f"POST {self.path}")
                if self.path == "/v1/files":
                    fields = _multipart(self.headers["Content-Type"], data)
                    self.reply(200, fake.add_file(fields["file"][0], fields["purpose"][1].decode(), fields["file"][1]))
                elif self.path == "/v1/batches":
                    batch = fake.create_batch(json.loads(data))
                    self.reply(200, {k: v for k, v in batch.items() if k != "polls"})
                else:
                    self.reply(404, {"error": {"message": f"no route {self.path}"}})

            def do_GET(self) -> None:  # noqa: N802
                url = urlparse(self.path)
                parts, query = url.path.strip("/").split("/"), parse_qs(url.query)
                fake.calls.append(f"GET {url.path}")
                if url.path == "/v1/files":
                    files = [f for f in fake.files.values() if f["purpose"] == query.get("purpose", [f["purpose"]])[0]]
                    self.reply(200, fake.listing(files, query))
                elif url.path == "/v1/batches":
                    self.reply(200, fake.listing(list(fake.batches.values()), query))
                elif parts[:2] == ["v1", "batches"] and len(parts) == 3 and (batch := fake.poll_batch(parts[2])):
                    self.reply(200, {k: v for k, v in batch.items() if k != "polls"})
                elif parts[:2] == ["v1", "files"] and len(parts) == 4 and parts[2] in fake.files:
                    self.reply(200, fake.files[parts[2]]["content"], "application/octet-stream")
                else:
                    self.reply(404, {"error": {"message": f"no route {url.path}"}})

            def reply(self, status: int, body: Any, content_type: str = "application/json") -> None:
                data = body if isinstance(body, bytes) else json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                if status == 429:
                    self.send_header("Retry-After", "0")
                self.send_header("Content-Type", content_type)
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


def _multipart(content_type: str, data: bytes) -> dict[str, tuple[str, bytes]]:
    """The fields of a multipart/form-data body: name -> (file name, bytes)."""
    message = message_from_bytes(f"Content-Type: {content_type}\r\n\r\n".encode() + data, policy=policy.HTTP)
    return {part.get_param("name", header="content-disposition"): (part.get_filename() or "", part.get_payload(decode=True))
            for part in message.iter_parts()}


def refused_url() -> str:
    """A base URL on a loopback port nothing listens on: every connection is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def http_backend(server: FakeChatServer, **overrides: object) -> OpenAIChatBackend:
    options = {"base_url": server.base_url, "model": "fake-model", "api_key": "sk-secret", "max_attempts": 4,
               "backoff_base": 0.01, "connect_timeout": 2.0, "read_timeout": 5.0, **overrides}
    return OpenAIChatBackend(**options)

"""A small OpenAI-compatible HTTP server over the local transformers backend, for machines without vLLM.

    python -m curate.annotate.serve --model bundled:smollm2-135m-instruct.gguf --port 8000

Endpoints: ``GET /v1/models``, ``GET /health``, ``POST /v1/chat/completions`` and ``POST /v1/completions``
(``prompt`` as text or token ids; ``logprobs: k`` returns the top-k candidates of the first generated token
in the legacy completions shape and needs ``max_tokens: 1``). One forward pass runs at a time; no streaming.
It lets the ``openai`` backend be exercised end to end on CPU, standing in for ``vllm serve``; it is not meant
for throughput. (llama-cpp-python's server would do the same job but builds from source for many minutes.)
"""

import argparse
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from curate.annotate.backends.local import LocalBackend, chat_token_ids

DEFAULT_MAX_TOKENS = 256


class RequestError(ValueError):
    """A request the server cannot serve (answered with HTTP 400)."""


class ModelServer(ThreadingHTTPServer):
    """The HTTP server; ``requests_served`` counts completed model requests."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], backend: LocalBackend, served_model_name: str):
        super().__init__(address, OpenAIHandler)
        self.backend = backend
        self.served_model_name = served_model_name
        self.requests_served = 0
        self._count_lock = threading.Lock()

    def count_request(self) -> None:
        with self._count_lock:
            self.requests_served += 1

    def chat_completion(self, body: dict) -> dict:
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise RequestError("'messages' must be a non-empty list")
        ids = chat_token_ids(self.backend.tokenizer, messages)
        text, n_tokens = self.backend.generate_from_ids(ids, *_sampling(body))
        finish = "length" if n_tokens >= _sampling(body)[0] else "stop"
        choice = {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}
        return self._envelope("chat.completion", choice, len(ids), n_tokens)

    def completion(self, body: dict) -> dict:
        prompt = body.get("prompt")
        tokenizer = self.backend.tokenizer
        if isinstance(prompt, str):
            ids = tokenizer.encode(prompt, add_special_tokens=True)
        elif isinstance(prompt, list) and prompt and all(isinstance(t, int) for t in prompt):
            ids = prompt
        else:
            raise RequestError("'prompt' must be a string or a non-empty list of token ids")
        max_tokens, temperature = _sampling(body)
        top_k = body.get("logprobs")
        if top_k is None:
            text, n_tokens = self.backend.generate_from_ids(ids, max_tokens, temperature)
            choice = {"index": 0, "text": text, "logprobs": None, "finish_reason": "stop"}
            return self._envelope("text_completion", choice, len(ids), n_tokens)
        if max_tokens != 1:
            raise RequestError("this server returns logprobs only with max_tokens=1")
        candidates = self.backend.logprobs_from_ids(ids, int(top_k))
        top = dict(sorted(candidates.items(), key=lambda item: -item[1])[: max(1, int(top_k))])
        token, logprob = next(iter(top.items()))  # greedy: the most likely token is the one "generated"
        logprobs = {"tokens": [token], "token_logprobs": [logprob], "top_logprobs": [top], "text_offset": [0]}
        choice = {"index": 0, "text": token, "logprobs": logprobs, "finish_reason": "length"}
        return self._envelope("text_completion", choice, len(ids), 1)

    def _envelope(self, kind: str, choice: dict, prompt_tokens: int, completion_tokens: int) -> dict:
        return {
            "id": f"cmpl-{uuid.uuid4().hex}",
            "object": kind,
            "created": int(time.time()),
            "model": self.served_model_name,
            "choices": [choice],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }


def _sampling(body: dict) -> tuple[int, float]:
    try:
        max_tokens = int(body.get("max_tokens") or DEFAULT_MAX_TOKENS)
        temperature = float(body.get("temperature") or 0.0)
    except (TypeError, ValueError) as error:
        raise RequestError(f"bad max_tokens or temperature: {error}") from error
    if max_tokens < 1:
        raise RequestError("max_tokens must be at least 1")
    return max_tokens, temperature


class OpenAIHandler(BaseHTTPRequestHandler):
    """Routes the OpenAI endpoints to the ``ModelServer``."""

    server: ModelServer
    # one request per connection: once shut down the server takes no more requests, as a dead one would not
    protocol_version = "HTTP/1.0"

    def do_GET(self) -> None:
        if self.path.rstrip("/") == "/v1/models":
            model = {"id": self.server.served_model_name, "object": "model", "owned_by": "curate"}
            self._send(200, {"object": "list", "data": [model]})
        elif self.path.rstrip("/") == "/health":
            self._send(200, {"status": "ok"})
        else:
            self._send(404, {"error": {"message": f"no route {self.path}"}})

    def do_POST(self) -> None:
        routes = {"/v1/chat/completions": self.server.chat_completion, "/v1/completions": self.server.completion}
        route = routes.get(self.path.rstrip("/"))
        if route is None:
            self._send(404, {"error": {"message": f"no route {self.path}"}})
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"null")
            if not isinstance(body, dict):
                raise RequestError("the request body must be a JSON object")
            answer = route(body)
        except (RequestError, json.JSONDecodeError) as error:
            self._send(400, {"error": {"message": str(error), "type": "invalid_request_error"}})
            return
        except Exception as error:  # the model failed on this request: report it, keep serving
            self._send(500, {"error": {"message": f"{type(error).__name__}: {error}", "type": "server_error"}})
            return
        self.server.count_request()
        self._send(200, answer)

    def _send(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args) -> None:
        """Quiet: one line per request would drown the annotation log."""


def make_server(
    model: str, host: str = "127.0.0.1", port: int = 8000, served_model_name: str | None = None, threads=None
) -> ModelServer:
    """Load the model and bind the server (call ``serve_forever`` on it; port 0 picks a free port)."""
    backend = LocalBackend(model, threads=threads)
    backend.start()
    return ModelServer((host, port), backend, served_model_name or model)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m curate.annotate.serve", description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="Hub id, folder, .gguf file or bundled:<name>")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    parser.add_argument("--served-model-name", help="the name clients send as 'model' (default: --model)")
    parser.add_argument("--threads", type=int, help="torch CPU threads")
    args = parser.parse_args(argv)
    server = make_server(args.model, args.host, args.port, args.served_model_name, args.threads)
    host, port = server.server_address[:2]
    print(f"serving {server.served_model_name} on http://{host}:{port}/v1", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()

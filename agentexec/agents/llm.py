"""The ``llm`` agent: any OpenAI-compatible Chat Completions server decides the actions.

Its tools are the executor's action schemas (``State.tools``), so a custom executor's ``@action``
methods reach the model with no extra code. One step is one action:

* the model's tool call becomes the action, its text the action's ``thought``; several tool calls
  in one answer are played one per step, each result sent back before the model is asked again;
* the observation becomes the tool result (the executor already truncated it);
* a tool call whose arguments are not a JSON object is answered with an error tool message and
  the model is asked again (``max_format_errors`` times in a row at most, then the run finishes);
  an unknown tool name or bad arguments go to the executor, whose error observation the model sees;
* an answer with no tool call becomes a ``message`` action and the model is told to go on with a
  tool call; after ``max_idle_answers`` such answers in a row (or at once if the executor has no
  ``message`` action) the text becomes the ``finish`` message — a model that stops calling tools
  has finished;
* 429, 408, 409, 5xx and connection errors are retried with exponential backoff (``Retry-After``
  is honoured up to ``retry_max_delay``); other API errors end the run with their message;
* when ``max_total_tokens`` or ``max_cost`` is reached the next step is a ``finish`` saying so.

Each step's token usage (and cost, when prices are set) is recorded as the action's ``usage``.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections import deque
from typing import Any, Optional

from agentexec.agents.base import Agent, State, StopRun
from agentexec.errors import ConfigError
from agentexec.events import Action, Observation
from agentexec.outcomes import Outcome

DEFAULT_SYSTEM_PROMPT = (
    "You are an autonomous agent working in a workspace through the tools you are given. "
    "Do the user's task by calling tools, one step at a time, looking at each result before the next. "
    "When the task is done, call the finish tool with a short summary."
)
CONTINUE_PROMPT = (
    "You answered without calling a tool. Go on with the task by calling a tool; call finish when the task is done."
)
#: HTTP statuses worth another try: rate limits, timeouts, conflicts and server errors.
RETRY_STATUSES = {408, 409, 429}


class LLMAgent(Agent):
    """Asks a Chat Completions model for each action, with the executor's actions as tools.

    Args:
        model: model name as the server knows it (required).
        base_url: the server's ``/v1`` URL; None uses OpenAI's (or ``OPENAI_BASE_URL``).
        api_key_env: environment variable holding the API key; a local server may need none.
        temperature: sampling temperature.
        max_tokens: cap on each answer's tokens (None: the server's default).
        system_prompt: replaces the default system prompt.
        max_total_tokens: stop (finish) once the run's prompt + completion tokens reach this.
        max_cost: stop (finish) once the run's cost reaches this, computed from the two prices.
        prompt_price_per_mtok: price of a million prompt tokens, in your currency.
        completion_price_per_mtok: price of a million completion tokens.
        max_retries: further tries of a request after a retryable error.
        retry_initial_delay: seconds before the first retry; doubled for each next one.
        retry_max_delay: the longest wait between tries.
        request_timeout: seconds one request may take.
        max_format_errors: malformed tool calls in a row before the run finishes.
        max_idle_answers: answers without a tool call in a row before the run finishes.
    """

    def __init__(
        self,
        model: str,
        base_url: Optional[str] = None,
        api_key_env: str = "OPENAI_API_KEY",
        temperature: float = 0.0,
        max_tokens: Optional[int] = None,
        system_prompt: Optional[str] = None,
        max_total_tokens: Optional[int] = None,
        max_cost: Optional[float] = None,
        prompt_price_per_mtok: float = 0.0,
        completion_price_per_mtok: float = 0.0,
        max_retries: int = 5,
        retry_initial_delay: float = 1.0,
        retry_max_delay: float = 30.0,
        request_timeout: float = 300.0,
        max_format_errors: int = 3,
        max_idle_answers: int = 2,
    ) -> None:
        try:
            import openai
        except ImportError:
            raise ConfigError("the llm agent needs the openai package: pip install 'agentexec[llm]'") from None
        if max_cost is not None and not (prompt_price_per_mtok or completion_price_per_mtok):
            raise ConfigError(
                "[agent] max_cost needs prompt_price_per_mtok and/or completion_price_per_mtok to compute a cost"
            )
        api_key = os.environ.get(api_key_env)
        if not api_key:
            if base_url is None:
                raise ConfigError(
                    f"the llm agent found no API key: set the environment variable {api_key_env} "
                    "or [agent] api_key_env, or point [agent] base_url at a server that needs none"
                )
            api_key = "unused"  # local servers (vLLM, llama.cpp, Ollama) accept any key
        self.openai = openai
        self.client = openai.OpenAI(base_url=base_url, api_key=api_key, max_retries=0, timeout=request_timeout)
        self.model = model
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.system_prompt = system_prompt or DEFAULT_SYSTEM_PROMPT
        self.max_total_tokens = max_total_tokens
        self.max_cost = max_cost
        self.prices = (prompt_price_per_mtok / 1e6, completion_price_per_mtok / 1e6)
        self.max_retries = max_retries
        self.retry_initial_delay = retry_initial_delay
        self.retry_max_delay = retry_max_delay
        self.max_format_errors = max_format_errors
        self.max_idle_answers = max_idle_answers
        self.messages: list[dict[str, Any]] = []
        self.tools: list[dict[str, Any]] = []
        self.action_names: set[str] = set()
        self.queue: deque[tuple[str, Action]] = deque()
        self.awaiting: Optional[str] = None  # tool_call_id whose result is the next observation
        self.seen = 0
        self.idle = 0
        self.totals = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0, "cost": 0.0}
        self.last_usage: Optional[dict[str, Any]] = None

    # -- the Agent interface -----------------------------------------------------------------

    def reset(self, state: State) -> None:
        self.tools = [
            {
                "type": "function",
                "function": {
                    "name": tool["name"],
                    "description": tool.get("description", ""),
                    "parameters": tool.get("parameters") or {"type": "object", "properties": {}},
                },
            }
            for tool in state.tools
        ]
        self.action_names = {tool["name"] for tool in state.tools}
        instruction = state.task.instruction or "(the task has no instruction; explore the workspace and report)"
        self.messages = [{"role": "system", "content": self.system_prompt}, {"role": "user", "content": instruction}]
        self.queue.clear()
        self.awaiting, self.seen, self.idle = None, 0, 0
        self.totals = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0, "cost": 0.0}

    def step_usage(self) -> Optional[dict[str, Any]]:
        return self.last_usage

    def step(self, state: State) -> Action:
        self.last_usage = None
        self._take_observations(state)
        if self.queue:
            self.awaiting, act = self.queue.popleft()
            return act
        format_errors = 0
        while True:
            stop = self._over_budget()
            if stop:
                raise StopRun(stop, outcome=Outcome.BUDGET)
            message = self._complete()
            calls = message.get("tool_calls") or []
            text = (message.get("content") or "").strip()
            self.messages.append(message)
            if not calls:
                return self._answer_without_tool(text)
            self.idle = 0
            problems = self._queue_calls(calls, text)
            if not problems:
                self.awaiting, act = self.queue.popleft()
                return act
            format_errors += 1
            if format_errors >= self.max_format_errors:
                return Action(
                    action="finish",
                    args={"message": f"stopped: {format_errors} malformed tool calls in a row ({problems[-1]})"},
                )

    # -- conversation ------------------------------------------------------------------------

    def _take_observations(self, state: State) -> None:
        """Send each observation the model has not seen as the result of the tool call it answers."""
        for event in state.history[self.seen :]:
            if isinstance(event, Observation) and self.awaiting is not None:
                self.messages.append({"role": "tool", "tool_call_id": self.awaiting, "content": _tool_result(event)})
                self.awaiting = None
        self.seen = len(state.history)
        if self.idle and not self.queue and self.messages[-1]["role"] != "user":
            self.messages.append({"role": "user", "content": CONTINUE_PROMPT})

    def _answer_without_tool(self, text: str) -> Action:
        """A plain answer: say it to the user and nudge the model on, or finish with it."""
        self.idle += 1
        if "message" not in self.action_names or self.idle >= self.max_idle_answers:
            return Action(action="finish", args={"message": text})
        return Action(action="message", args={"content": text})

    def _queue_calls(self, calls: list[dict[str, Any]], text: str) -> list[str]:
        """Queue the answer's well-formed tool calls; answer malformed ones with an error tool message."""
        problems = []
        for call in calls:
            function = call.get("function") or {}
            name = function.get("name") or ""
            raw = function.get("arguments") or "{}"
            try:
                args = json.loads(raw)
                if not isinstance(args, dict):
                    raise ValueError(f"arguments must be a JSON object, got {type(args).__name__}")
                if not name:
                    raise ValueError("the tool call has no function name")
            except ValueError as exc:
                problem = f"malformed call of tool {name!r}: {exc}; arguments were {raw[:200]!r}"
                problems.append(problem)
                self.messages.append(
                    {"role": "tool", "tool_call_id": call["id"], "content": f"ERROR: {problem}. Call the tool again."}
                )
                continue
            self.queue.append((call["id"], Action(action=name, args=args, thought=text if not self.queue else "")))
        if problems:  # calls after a malformed one are not run: the model answers again with all of them
            for call_id, _act in self.queue:
                self.messages.append(
                    {"role": "tool", "tool_call_id": call_id, "content": "not run: another call was malformed"}
                )
            self.queue.clear()
        return problems

    # -- the API -----------------------------------------------------------------------------

    def _complete(self) -> dict[str, Any]:
        """One Chat Completions request, retried on transient errors; returns the assistant message."""
        request: dict[str, Any] = {"model": self.model, "messages": self.messages, "temperature": self.temperature}
        if self.tools:
            request["tools"] = self.tools
        if self.max_tokens is not None:
            request["max_tokens"] = self.max_tokens
        retries = 0
        while True:
            try:
                response = self.client.chat.completions.create(**request)
                break
            except self.openai.APIError as exc:
                delay = self._retry_delay(exc, retries)
                if delay is None:
                    raise
                retries += 1
                time.sleep(delay)
        if not response.choices:
            raise RuntimeError(f"the server at {self.client.base_url} answered with no choices")
        self._count(response.usage, retries)
        message = response.choices[0].message
        # content may be null only beside tool calls; some servers reject a null plain answer
        data: dict[str, Any] = {
            "role": "assistant",
            "content": message.content if message.tool_calls else (message.content or ""),
        }
        if message.tool_calls:
            data["tool_calls"] = [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.function.name, "arguments": call.function.arguments},
                }
                for call in message.tool_calls
            ]
        return data

    def _retry_delay(self, exc: Exception, retries: int) -> Optional[float]:
        """Seconds to wait before trying again, or None when the error is not worth a retry."""
        if retries >= self.max_retries:
            return None
        status = getattr(exc, "status_code", None)
        if not isinstance(exc, self.openai.APIConnectionError) and not (
            status in RETRY_STATUSES or (status is not None and status >= 500)
        ):
            return None
        delay = min(self.retry_max_delay, self.retry_initial_delay * 2**retries)
        response = getattr(exc, "response", None)
        after = response.headers.get("retry-after") if response is not None else None
        if after:
            try:
                return min(self.retry_max_delay, max(0.0, float(after)))
            except ValueError:
                pass
        return delay * random.uniform(0.8, 1.0)

    def _count(self, usage: Any, retries: int) -> None:
        """Add one response's token usage to this step's and the run's totals."""
        prompt = getattr(usage, "prompt_tokens", 0) or 0
        completion = getattr(usage, "completion_tokens", 0) or 0
        cost = prompt * self.prices[0] + completion * self.prices[1]
        step = self.last_usage or {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0, "requests": 0}
        step["prompt_tokens"] += prompt
        step["completion_tokens"] += completion
        step["total_tokens"] += prompt + completion
        step["requests"] += 1
        if retries:
            step["retries"] = step.get("retries", 0) + retries
        self.totals["prompt_tokens"] += prompt
        self.totals["completion_tokens"] += completion
        self.totals["total_tokens"] += prompt + completion
        self.totals["cost"] += cost
        if any(self.prices):
            step["cost"] = round(step.get("cost", 0.0) + cost, 8)
            step["run_cost"] = round(self.totals["cost"], 8)
        step["run_total_tokens"] = self.totals["total_tokens"]
        self.last_usage = step

    def _over_budget(self) -> Optional[str]:
        """The reason to stop when the run's token or cost budget is spent, else None."""
        if self.max_total_tokens is not None and self.totals["total_tokens"] >= self.max_total_tokens:
            return (
                f"stopped: token budget spent ({self.totals['total_tokens']} of max_total_tokens="
                f"{self.max_total_tokens})"
            )
        if self.max_cost is not None and self.totals["cost"] >= self.max_cost:
            return f"stopped: cost budget spent ({self.totals['cost']:.4f} of max_cost={self.max_cost:g})"
        return None


def _tool_result(observation: Observation) -> str:
    """An observation as the model reads it: its content, then the extras that matter."""
    notes = []
    extras = observation.extras
    if "exit_code" in extras:
        notes.append(f"exit code {extras['exit_code']}")
    if extras.get("cwd"):
        notes.append(f"cwd {extras['cwd']}")
    if extras.get("running"):
        notes.append("the process is still running")
    notes.extend(str(note) for note in extras.get("notes", []))
    content = observation.content
    if observation.is_error:
        content = f"ERROR: {content}"
    if not notes:
        return content
    return (content.rstrip("\n") + "\n" if content.strip() else "") + f"[{'; '.join(notes)}]"

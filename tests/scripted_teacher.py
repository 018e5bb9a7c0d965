"""A deterministic teacher for the structure-guided synthesis tests: it reads the prompts
of `bondkd.synth.prompts` (EN and ZH) and writes exactly the step each one asks for, and
answers plain `generate` prompts with the same short linear solution every time.

`reply(messages, json_reply)` is the script; `ScriptedTeacher` serves it in process (with
a log of requests and an optional failure after N replies, to interrupt a run), and
`chat_server.ChatServer(server_script)` serves it over HTTP.
"""

from __future__ import annotations

import json
import re
import threading

from chat_server import Action

from bondkd.teachers import ChatReply, ChatRequest, TeacherError

_NOUNS_EN = ["apples", "crates", "tickets", "marbles", "stamps", "pencils", "shells", "coins"]
_NOUNS_ZH = ["苹果", "箱子", "门票", "弹珠", "邮票", "铅笔", "贝壳", "硬币"]
_EXPR = re.compile(r"(\d+) \+ (\d+) = (\d+)")
_NUM = re.compile(r"\d+")
UNGUIDED_EN = "<think>First, 2 * 3 = 6.\nThen 6 + 4 = 10.\nSo the total is 10.</think>\n10"
UNGUIDED_ZH = "【思考过程】\n首先 2 × 3 = 6。\n然后 6 + 4 = 10。\n所以一共是 10。\n【最终答案】\n10"


def _last_value(steps: list[str]) -> int:
    for s in reversed(steps):
        if m := list(_EXPR.finditer(s)):
            return int(m[-1].group(3))
    nums = [int(n) for s in steps for n in _NUM.findall(s)]
    return nums[-1] if nums else 1


def write_step(role: str, ref: int | None, steps: list[str], zh: bool) -> str:
    """Step len(steps) (0-based) playing `role`; `ref` is the 0-based step it refers to."""
    k = len(steps)
    if role == "normal":
        n, noun = 10 * (k + 1) + 3, (_NOUNS_ZH if zh else _NOUNS_EN)[k % 8]
        return f"有{n}个{noun}。" if zh else f"There are {n} {noun}."
    if role == "deep_reasoning":
        v, a = _last_value(steps), k + 1
        return f"所以{v} + {a} = {v + a}。" if zh else f"So {v} + {a} = {v + a}."
    src = steps[ref] if ref is not None else (steps[-1] if steps else "1")
    m = _EXPR.search(src)
    if role == "reflection":
        head = (
            f"等等，让我检查第{(ref or 0) + 1}步："
            if zh
            else f"Wait, let me check step {(ref or 0) + 1}:"
        )
        if m:
            body = (
                f"{m[1]} + {m[2]} = {m[3]}，是对的。"
                if zh
                else f"{m[1]} + {m[2]} = {m[3]} is right."
            )
        else:
            body = f"{src}没错。" if zh else f"{src.rstrip('.')} indeed."
        return f"{head}{body}" if zh else f"{head} {body}"
    # exploration
    if m:
        body = (
            f"{m[3]}也可以由{m[2]} + {m[1]}得到。"
            if zh
            else f"{m[3]} could also come from {m[2]} + {m[1]}."
        )
    else:
        nums = _NUM.findall(src) or ["1"]
        body = f"也可以把{nums[0]}分开来数。" if zh else f"we could count the {nums[0]} in groups."
    return f"或者，{body}" if zh else f"Alternatively, {body}"


def _role(line: str) -> tuple[str, int | None]:
    """Role and referred step of one step's instruction, from its opener."""
    line = re.sub(r"^(?:Step \d+: |第\d+步：)", "", line)
    opener = re.search(r'[Ss]tart with:? "([^"]*)"|以“([^”]*)”开头', line)
    start = (opener.group(1) or opener.group(2)) if opener else ""
    ref = re.search(r"(?:step |第)(\d+)", line)
    t = int(ref.group(1)) - 1 if ref else None
    if "check" in start or "检查" in start:
        return "reflection", t
    if "Alternatively" in start or "或者" in start:
        return "exploration", t
    if start in ("So", "所以"):
        return "deep_reasoning", None
    return "normal", None


def reply(messages: list[dict[str, str]], json_reply: bool = False) -> str:
    system, user = messages[0]["content"], messages[-1]["content"]
    zh = bool(re.search(r"[\u4e00-\u9fff]", system))
    if "one step at a time" in system or "逐步解一道题" in system:
        steps = re.findall(r"^\d+\. (.*)$", user, flags=re.M)
        task = user.rsplit("\n\n", 1)[-1]
        role, ref = _role(task)
        return write_step(role, ref, steps, zh)
    if "final answer only" in system or "只写最终答案" in system:
        steps = re.findall(r"^\d+\. (.*)$", user, flags=re.M)
        return str(_last_value(steps))
    if "following this plan" in system or "按这个计划" in system:
        steps: list[str] = []
        for line in re.findall(r"^\d+\. (.*)$", system, flags=re.M):
            steps.append(write_step(*_role(line), steps, zh))
        reasoning, answer = "\n".join(steps), str(_last_value(steps))
        if json_reply:
            return json.dumps({"reasoning": reasoning, "answer": answer}, ensure_ascii=False)
        if zh:
            return f"【思考过程】\n{reasoning}\n【最终答案】\n{answer}"
        return f"<think>{reasoning}</think>\n{answer}"
    if json_reply:
        text = UNGUIDED_ZH if zh else UNGUIDED_EN
        body = re.sub(r"</?think>|【[^】]*】", "\n", text).strip().rsplit("\n", 1)[0].strip()
        return json.dumps({"reasoning": body, "answer": "10"}, ensure_ascii=False)
    return UNGUIDED_ZH if zh else UNGUIDED_EN


class ScriptedTeacher:
    """In process. `fail_after`: replies given before every later call raises a fatal
    TeacherError, as a teacher that goes away mid-run."""

    def __init__(self, fail_after: int | None = None, model: str = "scripted") -> None:
        self.id = f"scripted:{model}"
        self.fail_after = fail_after
        self.asked: list[ChatRequest] = []
        self._lock = threading.Lock()

    def chat(self, request: ChatRequest) -> ChatReply:
        with self._lock:
            if self.fail_after is not None and len(self.asked) >= self.fail_after:
                raise TeacherError(f"{self.id}: gone away", fatal=True)
            self.asked.append(request)
        text = reply(request.messages, request.json_schema is not None)
        return ChatReply(text=text, model=self.id, usage={"completion_tokens": 7})


def server_script(body: dict, n: int) -> Action:
    return Action(reply(body["messages"], bool(body.get("response_format"))))

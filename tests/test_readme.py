"""The README as a newcomer follows it: the quickstart's two commands, and its examples run against
what the quickstart set up (the demo)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")


def block_after(heading: str, language: str) -> str:
    """The first ```language block after a heading."""
    rest = README[README.index(heading) :]
    match = re.search(rf"```{language}\n(.*?)```", rest, re.S)
    assert match, f"no {language} block after {heading!r}"
    return match.group(1)


def test_quickstart_commands_can_run_one_after_the_other() -> None:
    """Command 2 (tests) must not reinstall into the environment that command 1's demo runs from."""
    commands = [ln for ln in block_after("## Quickstart", "sh").splitlines() if ln.strip() and not ln.startswith("#")]
    assert len(commands) == 2
    venvs = [re.search(r"python3 -m venv (\S+)", c).group(1) for c in commands]  # type: ignore[union-attr]
    assert venvs[0] != venvs[1], commands
    assert "broadsheet demo" in commands[0]
    test_command = commands[1].split("&&")[-1].strip()
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(rf"^{re.escape(test_command)}$", ci, re.M), f"{test_command!r} is not what .ci/run runs"
    ignored = (REPO / ".gitignore").read_text(encoding="utf-8").split()
    assert all(f"{v}/" in ignored for v in venvs)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_hf_api_example_works_against_the_demo(tmp_path: Path) -> None:
    """Every line of the README's `huggingface_hub` example, against `broadsheet demo` as the
    quickstart starts it, returns something (a generator shows nothing in a REPL: lists)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BROADSHEET_")} | {"XDG_DATA_HOME": str(tmp_path)}
    server = subprocess.Popen(
        [sys.executable, "-m", "broadsheet", "demo", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, server.communicate()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/daily_papers", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the demo did not start"
            time.sleep(0.3)

        os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
        code = block_after("**Hugging Face-compatible**", "python").replace("http://127.0.0.1:8000", f"http://127.0.0.1:{port}")
        scope: dict[str, object] = {}
        for line in code.splitlines():
            line = line.split("  #")[0].strip()
            if not line:
                continue
            if line.startswith(("from ", "import ")) or re.match(r"\w+ = ", line):
                exec(line, scope)  # noqa: S102 - the README's own example
                continue
            result = eval(line, scope)  # noqa: S307
            assert result, f"{line} returned {result!r}"
    finally:
        server.terminate()
        server.communicate(timeout=30)

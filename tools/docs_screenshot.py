"""Save the README's screenshot: the session screen after a scripted run with two passages
learned (tools.pilot.learn_two_passages, the state the snapshot tests check), saved by the
app itself (ctrl+s does the same in a real session).

    .venv/bin/python -m tools.docs_screenshot [docs/session.svg]
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


async def main(target: Path) -> None:
    from tools.pilot import learn_two_passages, make_app

    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await learn_two_passages(pilot, ROOT / "seal_tui" / "samples" / "velmora.md")
        app.title = "seal"
        path = app.save_screenshot(filename=target.name, path=str(target.parent))
    print(path)


if __name__ == "__main__":
    os.environ["SEAL_HOME"] = tempfile.mkdtemp(prefix="seal-shot-")
    target = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "docs" / "session.svg").resolve()
    asyncio.run(main(target))

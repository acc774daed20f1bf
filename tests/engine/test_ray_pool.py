"""Ray as an option (fast): the sentence when it is missing or unreachable, the setting as a
session stores it, the serial path, and that nothing imports Ray unless asked to."""

import ipaddress
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from engine import events as ev
from engine.config import ConfigError, FilterConfig, GenerationConfig, SessionConfig, TrainConfig
from engine.papers.ingest import read_paper
from engine.runtime.ray_pool import RayPoolError, Serial, _Worker, pack
from engine.sessions.home import Home
from seal_cli.flags import overrides
from seal_cli.main import build_parser, main
from tools.scripted_runtime import FakeRuntime

INSTALL = "install the ray extra: pip install -e '.[ray]'"


def filter_config(**filter_settings) -> SessionConfig:
    return SessionConfig(
        accept="filter",
        generation=GenerationConfig(candidates=2),
        train=TrainConfig(epochs=1),
        filter=FilterConfig(**filter_settings),
    )


def test_bench_with_ray_missing_says_how_to_install_it(fixtures, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    code = main(["bench", "ki", str(fixtures / "squad_sample.json"), "--passages", "1", "--ray"])
    err = capsys.readouterr().err
    assert code == 2 and err.splitlines()[-1] == f"seal: error: Ray is not installed: {INSTALL}"


def test_filter_with_ray_missing_says_how_to_install_it(fixtures, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    session = Home().open("rayless", filter_config(ray="local"), FakeRuntime())
    session.add_paper(read_paper(fixtures / "velmora.md")[0])
    with pytest.raises(RayPoolError, match=r"Ray is not installed: install the ray extra"):
        session.run(ev.ignore)


def test_an_unreachable_cluster_is_named_in_seconds_not_waited_for():
    pytest.importorskip("ray", reason="needs the ray extra: pip install -e '.[ray]'")
    from engine.runtime.ray_pool import RayPool

    with pytest.raises(RayPoolError, match=r"cannot reach the Ray cluster at 127\.0\.0\.1:1"):
        RayPool(SessionConfig().model, TrainConfig(), "127.0.0.1:1", 2)


def test_ray_is_not_imported_unless_asked(fixtures):
    script = f"""
import sys
from engine.config import FilterConfig, GenerationConfig, SessionConfig, TrainConfig
from engine.sessions.home import Home
from engine.papers.ingest import read_paper
from seal_bench import cl
from tools.scripted_runtime import FakeRuntime

passages = cl.passages_of(read_paper({str(fixtures / "squad_sample.json")!r}, passage_tokens=4096), 2)
cl.knowledge_incorporation(FakeRuntime(), passages, cl.bench_config(1, 1, 64), lambda line: None)
cl.forgetting(FakeRuntime(), passages, cl.bench_config(1, 1, 64), 0.5, lambda line: None, ("plain",))
config = SessionConfig(accept="filter", generation=GenerationConfig(candidates=2), train=TrainConfig(epochs=1))
session = Home().open("plain", config, FakeRuntime())
session.add_paper(read_paper({str(fixtures / "velmora.md")!r})[0])
session.run(lambda e: None)
assert any(e.reward is not None for p in session.passages() for e in session.self_edits(p.id))
print("ray" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_filter_setting_is_stored_and_old_sessions_load_without_it():
    args = build_parser().parse_args(["run", "--session", "x", "--filter-ray", "--filter-ray-workers", "3"])
    config = Home().config_for("x", overrides(args, "run"))
    assert (config.filter.ray, config.filter.ray_workers) == ("local", 3)
    args = build_parser().parse_args(["run", "--session", "x", "--filter-ray", "head:6379"])
    assert Home().config_for("x", overrides(args, "run")).filter.ray == "head:6379"
    args = build_parser().parse_args(["run", "--session", "x", "--filter-ray", ""])
    assert overrides(args, "run")["filter"]["ray"] is None
    old = SessionConfig().to_dict()
    old["filter"] = {k: v for k, v in old["filter"].items() if k not in ("ray", "ray_workers")}
    assert SessionConfig.from_dict(old).filter == FilterConfig()
    with pytest.raises(ConfigError, match="a Ray address is local, auto, host:port or ray://host:port"):
        FilterConfig(ray="paper.md")


def test_ray_flags_that_took_a_file_say_so(fixtures, capsys):
    data = str(fixtures / "squad_sample.json")
    assert main(["bench", "ki", "--ray", data]) == 2
    assert "give the data file before --ray" in capsys.readouterr().err
    assert main(["run", "--session", "x", "--filter-ray", data]) == 2
    assert "give papers first" in capsys.readouterr().err


def test_serial_runs_jobs_in_order_on_one_runtime_and_stops_when_asked():
    stop = threading.Event()
    seen = []

    def job(n):
        def run(runtime, start):
            seen.append((runtime, start))
            if n == 1:
                stop.set()
            return n

        return run

    assert list(Serial("rt").run([job(0), job(1), job(2)], None, stop)) == [0, 1]
    assert seen == [("rt", None), ("rt", None)]


def test_a_start_adapter_travels_as_bytes_and_is_rebuilt_on_the_worker(tmp_path):
    folder = tmp_path / "v0001"
    folder.mkdir()
    (folder / "adapter_config.json").write_text("{}")
    (folder / "adapter_model.safetensors").write_bytes(b"\0weights")
    (folder / "adapter.gguf").write_bytes(b"llama.cpp's copy, not sent")
    worker = _Worker(SessionConfig().model, TrainConfig())
    worker.runtime = FakeRuntime()
    ok, rebuilt = worker.run(lambda runtime, start: start, pack(folder))
    assert ok and sorted(p.name for p in rebuilt.iterdir()) == ["adapter_config.json", "adapter_model.safetensors"]
    assert (rebuilt / "adapter_model.safetensors").read_bytes() == b"\0weights"
    (folder / "adapter_model.safetensors").write_bytes(b"\0other")
    ok, second = worker.run(lambda runtime, start: start, pack(folder))
    assert second != rebuilt and not rebuilt.exists()  # one start adapter kept at a time
    assert worker.run(lambda runtime, start: start, None) == (True, None)
    ok, error = worker.run(lambda runtime, start: 1 / 0, None)
    assert not ok and isinstance(error, ZeroDivisionError)  # raised again in the driver
    worker.close()
    assert not worker.folders.exists()


def listening() -> set[tuple[str, int]]:
    """(address, port) of every TCP socket listening on this machine (Linux /proc)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            if state != "0A":
                continue
            raw, port = local.split(":")
            packed = bytes.fromhex(raw)
            words = b"".join(packed[i : i + 4][::-1] for i in range(0, len(packed), 4))  # host order per word
            found.add((str(ipaddress.ip_address(words)), int(port, 16)))
    return found


def test_a_local_ray_listens_on_this_machine_only():
    """Anyone who can reach a Ray can run code in it: seal's own local Ray takes no
    connection from another machine."""
    pytest.importorskip("ray", reason="needs the ray extra: pip install -e '.[ray]'")
    from engine.runtime.ray_pool import RayPool

    before = listening()
    pool = RayPool(SessionConfig().model, TrainConfig(), "local", 1)
    try:
        opened = listening() - before
    finally:
        pool.close()
    assert opened, "the local Ray opened no port"
    outside = {(a, p) for a, p in opened if not _loopback(a)}
    assert outside == set(), f"listening beyond loopback: {sorted(outside)}"


def _loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return (getattr(ip, "ipv4_mapped", None) or ip).is_loopback

"""The deployment files are the ones the guide tells people to install: their settings are
valid settings, and their command lines are ones the programs accept (``tests/test_nginx.py``
runs ``deploy/nginx.conf`` itself)."""

from __future__ import annotations

import configparser
import shlex
from pathlib import Path

import pytest

from conftest import ROOT
from indexer.cli import _parser as indexer_command_line
from indexer.settings import Settings, load_settings
from service.__main__ import command_line as service_command_line

DEPLOY = ROOT / "deploy"


def env_file(path: Path) -> dict[str, str]:
    pairs = [line.split("=", 1) for line in path.read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    return {name.strip(): value.strip() for name, value in pairs}


def unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # keys as written
    parser.read(path, encoding="utf-8")
    return parser


def exec_start(path: Path, instance: str = "8101") -> list[str]:
    """The unit's command after the interpreter and ``-m``: the program's own arguments."""
    words = shlex.split(unit(path)["Service"]["ExecStart"].replace("%i", instance))
    assert words[1] == "-m"
    return words[2:]


def test_every_variable_of_the_environment_file_is_a_valid_setting(monkeypatch: pytest.MonkeyPatch):
    variables = env_file(DEPLOY / "peerqa.env")
    known = {f"PEERQA_{name.upper()}" for name in Settings.model_fields}
    assert {v for v in variables if v.startswith("PEERQA_")} <= known
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    assert settings.workers == 2 and settings.database_url is not None
    assert "peerqa.example.dk" in settings.allowed_hosts


def test_the_service_unit_runs_a_command_the_service_accepts():
    program, *arguments = exec_start(DEPLOY / "systemd" / "peerqa@.service")
    assert program == "service"
    args = service_command_line(Settings()).parse_args(arguments)
    assert (args.host, args.port, args.no_watch) == ("127.0.0.1", 8101, True)
    assert unit(DEPLOY / "systemd" / "peerqa@.service")["Service"]["KillSignal"] == "SIGTERM"


def test_the_watcher_unit_runs_a_command_the_indexer_accepts():
    program, *arguments = exec_start(DEPLOY / "systemd" / "peerqa-watch.service")
    assert program == "indexer"
    args = indexer_command_line(Settings()).parse_args(arguments)
    assert args.command == "watch"


def test_both_units_read_the_environment_file_the_guide_installs():
    guide = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    for name in ("peerqa@.service", "peerqa-watch.service"):
        assert unit(DEPLOY / "systemd" / name)["Service"]["EnvironmentFile"] == "/etc/peerqa/peerqa.env"
        assert name in guide
    assert "/etc/peerqa/peerqa.env" in guide

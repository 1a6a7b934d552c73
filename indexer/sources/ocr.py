"""Optical character recognition through Debian's ``tesseract`` command, when it is installed.

The PDF reader renders a page without a text layer to a PNG and passes it here. Everything
works without tesseract: :func:`ocr_available` then says no and such pages are skipped with
a warning that tells the user what to install.
"""

from __future__ import annotations

import functools
import shutil
import subprocess

#: How long ``tesseract --list-langs`` may take.
_LIST_TIMEOUT = 30.0


class OcrFailed(RuntimeError):
    """tesseract is missing, failed, or took too long on one image."""


@functools.lru_cache(maxsize=8)
def _installed_languages(executable: str) -> frozenset[str]:
    """The languages ``executable --list-langs`` names (empty when it cannot be asked)."""
    try:
        done = subprocess.run([executable, "--list-langs"], capture_output=True, timeout=_LIST_TIMEOUT, check=False)
    except (OSError, subprocess.SubprocessError):
        return frozenset()
    if done.returncode != 0:
        return frozenset()
    # the first line is a header ('List of available languages in "…" (3):'), then one name a line
    lines = done.stdout.decode("utf-8", "replace").splitlines()
    return frozenset(line.strip() for line in lines[1:] if line.strip() and " " not in line.strip())


def _languages(languages: str) -> list[str]:
    return [part.strip() for part in languages.split("+") if part.strip()]


def ocr_available(languages: str | None) -> bool:
    """Whether tesseract is on ``PATH`` with every ``+``-separated language of ``languages``
    (``"dan+eng"``) installed; False when ``languages`` is None or empty."""
    if not languages or not _languages(languages):
        return False
    executable = shutil.which("tesseract")
    if executable is None:
        return False
    installed = _installed_languages(executable)
    return all(language in installed for language in _languages(languages))


def ocr_image(png: bytes, languages: str, timeout: float = 120) -> str:
    """The text tesseract reads in the PNG image ``png`` with ``languages`` (``"dan+eng"``).

    Raises :class:`OcrFailed` when tesseract is missing, exits with an error or runs longer
    than ``timeout`` seconds.
    """
    executable = shutil.which("tesseract")
    if executable is None:
        raise OcrFailed("tesseract is not installed")
    command = [executable, "stdin", "stdout", "-l", "+".join(_languages(languages))]
    try:
        done = subprocess.run(command, input=png, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as error:
        raise OcrFailed(f"tesseract took longer than {timeout:g} seconds") from error
    except OSError as error:
        raise OcrFailed(f"tesseract could not be started: {error}") from error
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise OcrFailed(f"tesseract failed: {message[-1] if message else f'exit status {done.returncode}'}")
    return done.stdout.decode("utf-8", "replace")


__all__ = ["OcrFailed", "ocr_available", "ocr_image"]
